# Sourced by the load scripts (api-load.sh, create-breakdown.sh, versus-python.sh): wrk, the
# todo-server binary to measure and a free loopback port for it.
#
# Sets bin (TODO_SERVER_BIN, or the release build, built here), port, base (its URL) and server_env
# (the settings every measured server runs with: a fixed JWT secret, warnings only, no login rate
# limit in the way, and MALLOC_ARENA_MAX when it is set); defines create_script, signup, backlog,
# wait_up, wait_quiet (and its cpu_ticks) and drop_databases.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/todo/target}"
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
if [ -n "${TODO_SERVER_BIN:-}" ]; then
  bin="$TODO_SERVER_BIN"
else
  cargo build --release -q -p todo-server
  bin="$CARGO_TARGET_DIR/release/todo-server"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
server_env=(${MALLOC_ARENA_MAX:+MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX} TODO_ADDR="127.0.0.1:$port"
  TODO_JWT_SECRET="bench-secret-bench-secret-bench-secret" TODO_LOG=warn TODO_AUTH_RATE_PER_MINUTE=100000)

# Writes to $1 the wrk script of the create workload, one typical task per POST, signed with token $2.
create_script() {
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $2"
wrk.body = '{"title":"Buy groceries","description":"milk and eggs","priority":"high","tags":["home"],"due_date":"2031-06-01T09:00:00Z"}'
LUA
}

# Signs the bench user up on the server at $1 (default: the one measured) and prints its token.
signup() {
  curl -sf "${1:-$base}/api/v1/auth/signup" -H 'content-type: application/json' \
    -d '{"email":"bench@example.com","password":"bench password"}' |
    python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])'
}

# The outbox backlog (events committed, not yet relayed) of the server at $1 (default: the one
# measured), from its metrics.
backlog() { curl -sf "${1:-$base}/metrics" | awk '/^todo_outbox_backlog / {print $2}'; }

# Waits up to 20 s for $1 to answer with a success; stops the script if it never does.
wait_up() {
  for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "nothing answers at $1${2:+ (log: $2)}" >&2
  exit 1
}

# Waits until the machine is quiet: at most 10 % of its CPU busy over two seconds in a row (at most
# 60 s). What one side's run left behind (PostgreSQL's checkpoint and autovacuum after its inserts,
# a server's consumers) then does not run during the next side's measurement. Prints how long it
# waited and the CPU share it found, or that it gave up.
wait_quiet() {
  local waited=0 quiet=0 busy before after
  before=$(cpu_ticks)
  while [ "$waited" -lt 60 ]; do
    sleep 1
    after=$(cpu_ticks)
    busy=$(echo "$before $after" | awk '{d = $4 - $2; printf "%d\n", (d > 0 ? 100 * ($3 - $1) / d : 0)}')
    before=$after
    waited=$((waited + 1))
    if [ "$busy" -le 10 ]; then quiet=$((quiet + 1)); else quiet=0; fi
    if [ "$quiet" -ge 2 ]; then
      echo "quiet after ${waited} s (CPU ${busy} % busy)" >&2
      return 0
    fi
  done
  echo "not quiet after ${waited} s (CPU ${busy} % busy); measuring anyway" >&2
}

# The machine's CPU time so far, in ticks: busy, then total.
cpu_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }

# Drops the databases named $2... from the cluster at URL $1, if they exist (for the exit traps).
drop_databases() {
  local cluster=$1 db; shift
  for db in "$@"; do psql "$cluster" -qc "drop database if exists $db with (force)" >/dev/null 2>&1; done
  return 0
}
