#!/usr/bin/env bash
# Mixed-workload benchmark of the REST API: signs up a user, seeds SEED tasks for them, then runs wrk
# with CONNECTIONS keep-alive connections for DURATION on benches/mixed.lua (80 % list and search
# requests of many kinds, next pages included; 20 % writes: creates, and completions of tasks created
# during the run), and reports throughput, p50/p99 and the resident memory of the sampled processes
# at idle (after seeding) and at their peak under load (VmRSS sampled every 0.2 s, and VmHWM).
#
#   benches/mixed-load.sh                       # builds and starts `todo-server all`, in-memory storage
#   benches/mixed-load.sh postgres              # the same on PostgreSQL from infra/todo-infra (a fresh database)
#   benches/mixed-load.sh --url http://host:8080 [--pid PID]...
#                                               # against a running deployment; samples the given PIDs
#   benches/mixed-load.sh --url … --analyze postgres://…/db
#                                               # also ANALYZE that database after seeding
# Env: DURATION (20s), CONNECTIONS (64), THREADS (2), SEED (10000), TODO_JWT_SECRET (the server's,
#      only when this script starts it).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-20s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
seed=${SEED:-10000}
mode=memory base="" pids=() analyze="" server="" sampling=""
cleanup() {
  [ -n "$sampling" ] && kill "$sampling" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -f "/tmp/todo-mixed-peak.$$"
  [ -n "${db:-}" ] && psql "$pg" -qc "drop database if exists $db with (force)" >/dev/null 2>&1
  return 0
}
trap cleanup EXIT
while [ $# -gt 0 ]; do
  case $1 in
    memory | postgres) mode=$1 ;;
    --url) base=${2%/}; mode=remote; shift ;;
    --pid) pids+=("$2"); shift ;;
    --analyze) analyze=$2; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null

if [ "$mode" != remote ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/todo/target}"
  cargo build --release -q -p todo-server
  bin="$CARGO_TARGET_DIR/release/todo-server"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  env=(TODO_ADDR="127.0.0.1:$port" TODO_LOG=warn TODO_AUTH_RATE_PER_MINUTE=100000
    TODO_JWT_SECRET="${TODO_JWT_SECRET:-bench-secret-bench-secret-bench-secret}")
  if [ "$mode" = postgres ]; then
    infra/todo-infra up postgres >/dev/null
    pg=$(infra/todo-infra env | sed -n 's/^export TODO_PG_URL=//p' | tr -d "'\"")
    db="bench_mixed_$(date +%s)"
    psql "$pg" -qc "create database $db" >/dev/null
    analyze="${pg%/*}/$db"
    env+=(DATABASE_URL="$analyze")
  fi
  env "${env[@]}" "$bin" >/tmp/todo-mixed-server.log 2>&1 &
  server=$!
  pids=("$server")
  for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
fi
curl -sf "$base/healthz" >/dev/null || { echo "no server answers at $base/healthz" >&2; exit 1; }

email="mixed-$(date +%s)-$$@example.com"
token=$(curl -sf "$base/api/v1/auth/signup" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"bench password\"}" |
  python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')

echo "seeding $seed tasks for $email at $base ($mode)…"
python3 benches/seed-tasks.py "$base" "$token" "$seed" --tags-per-task 1-2
if [ -n "$analyze" ]; then
  # Fresh statistics, as autovacuum would have them on a database that has lived a while.
  psql "$analyze" -qc "analyze" >/dev/null
fi

kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}'; }
sleep 2 # the outbox relay and the consumers catch up with the seeding
declare -A idle
for pid in "${pids[@]}"; do idle[$pid]=$(kib "$pid" VmRSS); done

# Peak VmRSS of each sampled process while wrk runs.
sampler() {
  declare -A peak
  while :; do
    for pid in "${pids[@]}"; do
      rss=$(kib "$pid" VmRSS)
      [ "${rss:-0}" -gt "${peak[$pid]:-0}" ] && peak[$pid]=$rss
    done
    for pid in "${pids[@]}"; do echo "$pid ${peak[$pid]:-0}"; done >/tmp/todo-mixed-peak.$$
    sleep 0.2
  done
}
if [ ${#pids[@]} -gt 0 ]; then sampler & sampling=$!; fi

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== mixed load: wrk -t$threads -c$connections -d$duration -s benches/mixed.lua"
MIXED_TOKEN=$token wrk -t"$threads" -c"$connections" -d"$duration" --latency -s benches/mixed.lua "$base" |
  grep -E 'Latency  |requests in|Requests/sec|Non-2xx|Socket|requests sent|mixed:'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ -n "$sampling" ]; then
  kill "$sampling" 2>/dev/null; wait "$sampling" 2>/dev/null || true
  sampling=""
  for pid in "${pids[@]}"; do
    top=$(awk -v p="$pid" '$1 == p {print $2}' /tmp/todo-mixed-peak.$$)
    echo "RSS of pid $pid ($(cat "/proc/$pid/comm" 2>/dev/null)): idle $(mib "${idle[$pid]}"), peak under load $(mib "${top:-0}"), VmHWM $(mib "$(kib "$pid" VmHWM)")"
  done
fi
