#!/usr/bin/env bash
# What a create costs, build against build: alternates the given todo-server binaries over PAIRS
# rounds on the durable cluster (.run/bench-durable), each on a fresh database with SEED tasks, 10 s of
# creates at 32 connections (wrk), then waits for the outbox to empty, and prints per run:
#
#   creates/s (what wrk got answered), sustained creates/s (the run's creates over the run plus the
#   time the consumers took to handle every event), and CPU per create: the whole machine's (busy
#   time in /proc/stat, so PostgreSQL, the server and wrk together; steal excluded) and the server's.
#
# The machine's speed drifts by up to 2x within an hour, so builds are compared in alternating runs,
# and by CPU per create more than by rate.
#
#   benches/create-cost.sh /tmp/todo-server-before ~/.cache/todo/target/release/todo-server
#
# Env: PAIRS (3), DURATION (10s), SEED (2000), MALLOC_ARENA_MAX (passed to the servers when set).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 BINARY [BINARY...]" >&2; exit 2; }
pairs=${PAIRS:-3}
duration=${DURATION:-10s}
seed=${SEED:-2000}
TODO_SERVER_BIN=$1
# shellcheck source=benches/server-under-test.sh
. benches/server-under-test.sh
infra=(env TODO_PG_DURABILITY=durable infra/todo-infra --run-dir .run/bench-durable)
"${infra[@]}" up postgres >/dev/null
pg=$("${infra[@]}" env | sed -n 's/^export TODO_PG_URL=//p' | tr -d "'\"")
server=
db=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$db" ]; then drop_databases "$pg" "$db"; fi
}
trap cleanup EXIT
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
server_cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }

# One run of binary $1: prints its line.
measure() {
  db="cost_$(date +%s%N)"
  psql "$pg" -qc "create database $db"
  local url="${pg%/*}/$db"
  env "${server_env[@]}" DATABASE_URL="$url" "$1" > /tmp/todo-create-cost-server.log 2>&1 &
  server=$!
  wait_up "$base/healthz" /tmp/todo-create-cost-server.log
  local token
  token=$(signup)
  python3 benches/seed-tasks.py "$base" "$token" "$seed" >/dev/null
  for _ in $(seq 1200); do [ "$(backlog)" = 0 ] && break; sleep 0.1; done
  psql "$url" -qc "analyze"
  create_script /tmp/todo-create-cost.lua "$token"
  local cpu0 busy0 t0 rps cpu1 busy1 t1 n
  cpu0=$(server_cpu); busy0=$(busy); t0=$(date +%s.%N)
  rps=$(wrk -t2 -c32 -d"$duration" -s /tmp/todo-create-cost.lua "$base/api/v1/tasks" | awk '/Requests\/sec/ {print $2}')
  for _ in $(seq 2400); do [ "$(backlog)" = 0 ] && break; sleep 0.05; done
  t1=$(date +%s.%N); cpu1=$(server_cpu); busy1=$(busy)
  n=$(psql "$url" -tAc "select count(*) - $seed from tasks")
  kill "$server"; wait "$server" 2>/dev/null || true; server=
  drop_databases "$pg" "$db"; db=
  python3 -c "
hz = 100; n = $n; elapsed = $t1 - $t0
print(f'{\"$1\"}: {float(\"$rps\"):.0f} creates/s, sustained {n / elapsed:.0f}/s, '
      f'CPU per create: machine {($busy1 - $busy0) * 1e6 / hz / n:.0f} us, server {($cpu1 - $cpu0) * 1e6 / hz / n:.0f} us')"
}

echo "$(date -u +%H:%M) UTC, $(nproc) cores, durable cluster, wrk -t2 -c32 -d$duration, $seed tasks seeded"
for _ in $(seq "$pairs"); do
  for binary in "$@"; do measure "$binary"; done
done
