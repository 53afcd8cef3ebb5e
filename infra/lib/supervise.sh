# shellcheck shell=bash
# supervise.sh: the one process supervisor of the local stacks. Sourced by infra/todo-infra and
# deploy/local/todo-local; todo-testkit reaches it through `infra/todo-infra sidecar`. Each
# primitive exists once, here:
#
#   ports       free_port, pick_port VAR       a free loopback port below the ephemeral range
#   pid files   spawn NAME CMD..., pid_of NAME, alive NAME
#   readiness   wait_ready NAME CHECK..., http_ok URL, fail_with_log NAME WHY
#   stopping    stop_service NAME [SIGNAL]     SIGNAL (TERM), wait, then KILL; by pid file only
#               stop_services NAME...          the same for several at once
#   guarding    guard NAME PID                 stop NAME when process PID is gone
#   daprd       render_file, render_components, sidecar_start ARGS..., sidecar_stop ID
#
# The caller sets SUPERVISE_TAG (the log prefix, e.g. todo-infra) and RUN_DIR; PIDS and LOGS
# default to $RUN_DIR/pids and $RUN_DIR/logs. READY_TIMEOUT (s) bounds every readiness wait,
# STOP_TIMEOUT (s) every graceful stop.

SUPERVISE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
READY_TIMEOUT="${READY_TIMEOUT:-${TODO_INFRA_TIMEOUT:-90}}"
STOP_TIMEOUT="${STOP_TIMEOUT:-15}"

say() { printf '[%s] %s\n' "${SUPERVISE_TAG:-supervise}" "$*" >&2; }
die() { say "error: $*"; exit 1; }
now() { date +%s; }

# ---- ports --------------------------------------------------------------------------------

# Is something listening on 127.0.0.1:$1?
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints a free port below the kernel's ephemeral range (so no client socket takes it before the
# service binds it), avoiding the ports in $PICKED. Run it through pick_port, which records it.
PICKED=" "
free_port() {
  local p tries=0
  while :; do
    p=$(( 20000 + RANDOM % 12000 ))
    tries=$((tries + 1))
    [ $tries -gt 500 ] && die "no free port found"
    case "$PICKED" in *" $p "*) continue ;; esac
    if ! port_open "$p" && ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
      echo "$p"; return
    fi
  done
}

# Sets the variable named $1 to a free port and keeps it from being handed out again.
pick_port() { local p; p="$(free_port)"; PICKED="$PICKED$p "; printf -v "$1" '%s' "$p"; }

# Marks ports (arguments) as taken, for pick_port.
reserve_ports() { local p; for p in "$@"; do [ -n "$p" ] && PICKED="$PICKED$p "; done; return 0; }

# ---- pid files ----------------------------------------------------------------------------

pids_dir() { echo "${PIDS:-$RUN_DIR/pids}"; }
logs_dir() { echo "${LOGS:-$RUN_DIR/logs}"; }

# The kernel's start time of process $1 (field 22 of /proc/PID/stat), empty if it is gone.
start_time_of() {
  local stat fields
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  read -ra fields <<< "${stat##*) }"
  echo "${fields[19]:-}"
}

# A pid file holds "PID START-TIME", so a pid reused by another program never counts as ours.
pid_of() {
  local f pid started
  f="$(pids_dir)/$1.pid"
  if [ -f "$f" ] && read -r pid started < "$f"; then echo "$pid"; fi
}

alive() {
  local f pid started
  f="$(pids_dir)/$1.pid"
  [ -f "$f" ] && read -r pid started < "$f" || return 1
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  [ -z "${started:-}" ] || [ "$(start_time_of "$pid")" = "$started" ]
}

# Starts "$@" detached in its own session, logging to <logs>/NAME.log; records its pid.
spawn() {
  local name="$1" pids logs pid; shift
  pids="$(pids_dir)"; logs="$(logs_dir)"
  mkdir -p "$pids" "$logs"
  : > "$logs/$name.log"
  # 9>&-: the child must not inherit a caller's lock (todo-infra locks its run dir on fd 9).
  setsid "$@" >> "$logs/$name.log" 2>&1 < /dev/null 9>&- &
  pid=$!
  echo "$pid $(start_time_of "$pid")" > "$pids/$name.pid"
}

# ---- stopping -----------------------------------------------------------------------------

# Stops a process we started (by pid file only): SIGNAL (default TERM), STOP_TIMEOUT s, then KILL.
stop_service() {
  local name="$1" signal="${2:-TERM}" pid
  if alive "$name"; then
    pid="$(pid_of "$name")"
    kill "-$signal" "$pid" 2>/dev/null || true
    await_exit "$name" "$pid"
  fi
  rm -f "$(pids_dir)/$name.pid"
}

# Stops several processes at once (TERM to all, then the waits), so that it takes the slowest
# one's time, not the sum.
stop_services() {
  local name pids=() names=() i
  for name in "$@"; do
    if alive "$name"; then
      pids+=("$(pid_of "$name")"); names+=("$name")
      kill -TERM "${pids[-1]}" 2>/dev/null || true
    fi
  done
  for i in "${!names[@]}"; do await_exit "${names[$i]}" "${pids[$i]}"; done
  for name in "$@"; do rm -f "$(pids_dir)/$name.pid"; done
}

# Waits up to STOP_TIMEOUT s for signalled process NAME (pid $2) to exit, then KILLs it.
await_exit() {
  local name="$1" pid="$2" i
  for (( i = 0; i < STOP_TIMEOUT * 10; i++ )); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  if [ -d "/proc/$pid" ]; then
    say "$name (pid $pid) did not stop in $STOP_TIMEOUT s; killing"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  say "stopped $name (pid $pid)"
}

# Stops NAME as soon as process PID is gone (a test binary that died without cleaning up). The
# guard ends by itself when NAME stops first.
guard() {
  local name="$1" watched="$2"
  ( trap '' HUP INT
    while [ -d "/proc/$watched" ] && alive "$name"; do sleep 1; done
    if alive "$name"; then say "process $watched is gone; stopping $name"; stop_service "$name"; fi
  ) < /dev/null >> "$(logs_dir)/$name.log" 2>&1 9>&- &
}

# ---- readiness ----------------------------------------------------------------------------

# Does $1 answer 2xx?
http_ok() {
  case "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null)" in 2??) return 0 ;; esac
  return 1
}

# Waits until "$2..." succeeds; returns 1 with WHY set when process NAME exits or READY_TIMEOUT
# passes.
WHY=""
await_ready() {
  local name="$1" start; shift
  start=$(now)
  until "$@" >/dev/null 2>&1; do
    alive "$name" || { WHY="process exited"; return 1; }
    [ $(( $(now) - start )) -lt "$READY_TIMEOUT" ] || { WHY="timed out after ${READY_TIMEOUT}s"; return 1; }
    sleep 0.3
  done
}

# Prints why NAME is not ready with its log's first error lines and last 40 lines, stops it if it
# still runs (a half-started service must not pass for a running one), and exits 1.
fail_with_log() {
  local name="$1" why="$2" log pattern='ERROR|FATAL|Exception|level=fatal|level=error|panicked'
  log="$(logs_dir)/$name.log"
  say "$name failed to become ready: $why"
  if grep -qE "$pattern" "$log" 2>/dev/null; then
    say "---- first error lines of $log ----"
    grep -m 8 -E "$pattern" "$log" | cut -c1-400 >&2
  fi
  say "---- last 40 lines of $log ----"
  tail -n 40 "$log" >&2 2>/dev/null || true
  say "---- end of log ----"
  stop_service "$name" >/dev/null 2>&1 || true
  exit 1
}

wait_ready() { local name="$1"; await_ready "$@" || fail_with_log "$name" "$WHY"; }

# ---- daprd --------------------------------------------------------------------------------

# Copies template $1 to $2, replacing ${TODO_*} with the environment's values. An unset variable
# is an error (a half-rendered component fails later and obscurely); Dapr's own {appID} stays.
render_file() {
  perl -pe 's/\$\{(TODO_[A-Z0-9_]+)\}/exists $ENV{$1} ? $ENV{$1} : die "$ARGV: \${$1} is not set\n"/ge' \
    "$1" > "$2" || die "rendering $1 failed"
}

# Renders every *.yaml / *.yml of directory $1 (links followed) into a fresh directory $2.
render_components() {
  local src="$1" dst="$2" f found=0
  [ -d "$src" ] || die "components dir $src does not exist"
  rm -rf "$dst"; mkdir -p "$dst"
  for f in "$src"/*.yaml "$src"/*.yml; do
    [ -f "$f" ] || continue
    render_file "$f" "$dst/$(basename "$f")"; found=1
  done
  [ $found = 1 ] || die "no component files (*.yaml) in $src"
}

# Starts one daprd for one app and waits for its full /v1.0/healthz (components loaded, app
# reachable when there is one). Needs the stack's variables in the environment (TODO_DAPRD_BIN,
# TODO_DAPR_SCHEDULER_ADDR, the component templates' TODO_*). Prints export lines of its ports.
# Options: see `infra/todo-infra help`.
sidecar_start() {
  local app_id="" app_port="" comps="$SUPERVISE_ROOT/deploy/dapr/local" http="" grpc="" replica=""
  local fg=0 watch="" extra=() files=() kv
  while [ $# -gt 0 ]; do
    case "$1" in
      --app-id) app_id="$2"; shift 2 ;;
      --app-port) app_port="$2"; shift 2 ;;
      --components|--resources-path) comps="$2"; shift 2 ;;
      --component) files+=("$2"); shift 2 ;;
      --var) kv="$2"; [[ "$kv" == TODO_*=* ]] || die "sidecar: --var takes TODO_NAME=VALUE"
             export "${kv%%=*}=${kv#*=}"; shift 2 ;;
      --dapr-http-port) http="$2"; shift 2 ;;
      --dapr-grpc-port) grpc="$2"; shift 2 ;;
      --replica) replica="$2"; shift 2 ;;
      --watch-pid) watch="$2"; shift 2 ;;
      --timeout) READY_TIMEOUT="$2"; shift 2 ;;
      --foreground) fg=1; shift ;;
      --) shift; extra=("$@"); break ;;
      *) die "sidecar: unknown option $1 (pass daprd flags after --)" ;;
    esac
  done
  [ -n "$app_id" ] || die "sidecar: --app-id is required"
  # Replicas of one app share its app id (and so its consumer group and its jobs).
  local instance="$app_id${replica:+-$replica}"
  local name="daprd-$instance" dir="$RUN_DIR/sidecars/$instance" f
  if alive "$name"; then die "a daprd for '$instance' is already running (pid $(pid_of "$name"))"; fi
  mkdir -p "$dir"
  render_components "$comps" "$dir/components"
  for f in "${files[@]}"; do render_file "$f" "$dir/components/$(basename "$f")"; done
  render_file "$SUPERVISE_ROOT/deploy/dapr/local-config.yaml" "$dir/config.yaml"
  reserve_ports "$http" "$grpc"
  local attempt h g internal metrics args
  for attempt in 1 2 3; do
    h="$http"; g="$grpc"
    [ -n "$h" ] || pick_port h
    [ -n "$g" ] || pick_port g
    pick_port internal; pick_port metrics
    args=(--app-id "$app_id" --mode standalone
      --dapr-listen-addresses 127.0.0.1 --dapr-http-port "$h" --dapr-grpc-port "$g"
      --dapr-internal-grpc-port "$internal" --dapr-internal-grpc-listen-address 127.0.0.1
      --metrics-port "$metrics" --app-channel-address 127.0.0.1
      --resources-path "$dir/components" --config "$dir/config.yaml"
      --scheduler-host-address "$TODO_DAPR_SCHEDULER_ADDR" --placement-host-address "" --log-level info)
    [ -n "$app_port" ] && args+=(--app-port "$app_port")
    args+=("${extra[@]}")
    if [ $fg = 1 ]; then exec "$TODO_DAPRD_BIN" "${args[@]}"; fi
    printf 'APP_ID=%s\nHTTP_PORT=%s\nGRPC_PORT=%s\nAPP_PORT=%s\n' "$app_id" "$h" "$g" "$app_port" > "$dir/sidecar.env"
    spawn "$name" "$TODO_DAPRD_BIN" "${args[@]}"
    if await_ready "$name" http_ok "http://127.0.0.1:$h/v1.0/healthz"; then
      [ -z "$watch" ] || guard "$name" "$watch"
      say "daprd for '$instance' ready: http 127.0.0.1:$h grpc 127.0.0.1:$g (log: $(logs_dir)/$name.log)"
      echo "export DAPR_HTTP_PORT=$h"
      echo "export DAPR_GRPC_PORT=$g"
      echo "export DAPRD_LOG='$(logs_dir)/$name.log'"
      return 0
    fi
    # Another process may have taken a port picked here between the pick and daprd's bind.
    if [ "$WHY" = "process exited" ] && [ $attempt -lt 3 ] \
        && grep -q 'address already in use' "$(logs_dir)/$name.log" 2>/dev/null; then
      say "daprd for '$instance': a port was taken meanwhile; retrying with other ports"
      continue
    fi
    break
  done
  fail_with_log "$name" "$WHY"
}

# Stops the daprd of app instance $1 (ID or ID-REPLICA).
sidecar_stop() { stop_service "daprd-$1"; }
