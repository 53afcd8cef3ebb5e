#!/usr/bin/env bash
# Load test of the REST API (SPEC §10): seeds 10 000 tasks for one user, then drives
#   1. search + filter + sort GET  /api/v1/tasks?q=…&priority=high&sort=due_date&limit=50 (over the 10 000)
#   2. list page              GET  /api/v1/tasks?status=pending&sort=due_date&limit=50
#   3. create task            POST /api/v1/tasks
# with wrk (Debian package) at 32 keep-alive connections, and samples the server's resident memory.
# On PostgreSQL it also measures the floor: the statement the server sends for the search page, and
# its task insert, run by pgbench from as many connections (benches/pg-floor.py), and the database's
# commits per second during the create run.
#
#   benches/api-load.sh [sqlite]        # the embedded default: SQLite in a fresh data directory
#   benches/api-load.sh memory          # DATABASE_URL=memory:
#   benches/api-load.sh postgres        # PostgreSQL from infra/todo-infra (a fresh database in its default run
#                                       # dir, whose cluster runs with the test settings: fsync=off, ...)
#   benches/api-load.sh postgres-durable  # the same on a cluster with PostgreSQL's durable defaults
#                                       # (run dir .run/bench-durable, TODO_PG_DURABILITY=durable)
# Env: DURATION (15s), CREATE_DURATION (DURATION: the create run, longer for sustained creates),
# CONNECTIONS (32), THREADS (2), SEED (10000), TODO_SQLITE_SYNC (normal),
# TODO_SERVER_BIN (a server binary to measure instead of building the release one).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-sqlite}
duration=${DURATION:-15s}
create_duration=${CREATE_DURATION:-$duration}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
seed=${SEED:-10000}
# shellcheck source=benches/server-under-test.sh
. benches/server-under-test.sh
env=("${server_env[@]}")
data=$(mktemp -d)
case "$mode" in
  sqlite) env+=(TODO_DATA_DIR="$data" TODO_SQLITE_SYNC="${TODO_SQLITE_SYNC:-normal}") ;;
  memory) env+=(DATABASE_URL=memory:) ;;
  postgres) infra=(infra/todo-infra); run_dir="${TODO_INFRA_RUN_DIR:-.run/dev}" ;;
  postgres-durable) run_dir=.run/bench-durable; infra=(env TODO_PG_DURABILITY=durable infra/todo-infra --run-dir "$run_dir") ;;
  *) echo "unknown mode $mode: sqlite, memory, postgres or postgres-durable" >&2; exit 2 ;;
esac
if [[ "$mode" = postgres* ]]; then
  "${infra[@]}" up postgres >/dev/null
  pg=$("${infra[@]}" env | sed -n 's/^export TODO_PG_URL=//p' | tr -d "'\"")
  echo "PostgreSQL settings: $(psql "$pg" -tAc "select string_agg(name || '=' || setting, ', ' order by name) from pg_settings where name in ('fsync','synchronous_commit','full_page_writes','shared_buffers','max_connections')")"
  db="bench_$(date +%s)"
  psql "$pg" -qc "create database $db" >/dev/null
  env+=(DATABASE_URL="${pg%/*}/$db")
fi
env "${env[@]}" "$bin" >/tmp/todo-bench-server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$data"
  [ -z "${db:-}" ] || drop_databases "$pg" "$db"' EXIT
wait_up "$base/healthz" /tmp/todo-bench-server.log

token=$(signup)

echo "seeding $seed tasks ($mode)…"
python3 benches/seed-tasks.py "$base" "$token" "$seed"

# Measure the steady state: the outbox relay has delivered the seeding's events (the audit log and
# the other consumers have caught up).
for _ in $(seq 600); do
  pending=$(backlog)
  [ "${pending:-1}" = 0 ] && break
  sleep 0.5
done
echo "outbox backlog before measuring: ${pending:-unknown}"

if [[ "$mode" = postgres* ]]; then
  # Fresh statistics, as autovacuum would have them on a database that has lived a while.
  psql "${pg%/*}/$db" -qc "analyze" >/dev/null
fi

create_script /tmp/todo-bench-create.lua "$token"
rss() { awk '/VmRSS/ {r = $2} /VmHWM/ {h = $2} END {print r/1024 " MiB (peak " h/1024 " MiB)"}' /proc/$server/status; }
# CPU time (ms) of processes and their children's threads: utime + stime from /proc.
cpu_ms() { for p in "$@"; do cat /proc/"$p"/stat 2>/dev/null; done | awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); t += $12 + $13 } END { printf "%d", t * 1000 / hz }'; }
pg_pids() { [[ "$mode" = postgres* ]] || return 0; local pm; pm=$(head -1 "$(psql "$pg" -tAc 'show data_directory')/postmaster.pid"); { echo "$pm"; pgrep -P "$pm"; } | tr '\n' ' '; }
pg_cpu_ms() { local pids; read -ra pids <<< "$(pg_pids)"; cpu_ms "${pids[@]}"; }
# Runs wrk with the given arguments and prints, beside its figures, the CPU each request cost the
# server, PostgreSQL (every backend) and wrk itself, from their CPU times over the run.
measure() {
  local pg_before server_before wrk_out
  pg_before=$(pg_cpu_ms); server_before=$(cpu_ms "$server")
  wrk_out=$(/usr/bin/time -f 'wrk_cpu_ms %e %U %S' wrk "$@" 2>&1)
  echo "$wrk_out" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
  requests=$(echo "$wrk_out" | awk '/requests in/ {print $1}')
  echo "$wrk_out" | awk -v n="$requests" -v s="$(( $(cpu_ms "$server") - server_before ))" -v p="$(( $(pg_cpu_ms) - pg_before ))" \
    '/^wrk_cpu_ms/ { printf "   CPU per request: server %.0f µs, PostgreSQL %.0f µs, wrk %.0f µs\n", s * 1000 / n, p * 1000 / n, ($3 + $4) * 1e6 / n }'
}
echo "RSS after seeding: $(rss)"
echo "== search page: q=groceries&priority=high&sort=due_date&limit=50"
measure -t"$threads" -c"$connections" -d"$duration" --latency -H "authorization: Bearer $token" \
  "$base/api/v1/tasks?q=groceries&priority=high&sort=due_date&limit=50"
echo "RSS under load: $(rss)"
floor() { python3 benches/pg-floor.py --database-url "${pg%/*}/$db" --pg-log "$run_dir/logs/postgres.log" \
  --api "$base" --token "$token" --clients "$connections" --duration "${duration%s}" "$@"; }
if [[ "$mode" = postgres* ]]; then
  echo "   pgbench floor, the same statement: $(floor --plan-cache-mode force_custom_plan --path '/api/v1/tasks?q=groceries&priority=high&sort=due_date&limit=50')"
fi
echo "== list page: status=pending&sort=due_date&limit=50"
measure -t"$threads" -c"$connections" -d"$duration" --latency -H "authorization: Bearer $token" \
  "$base/api/v1/tasks?status=pending&sort=due_date&limit=50"
echo "== create task: wrk -t$threads -c$connections -d$create_duration"
commits() { psql "${pg%/*}/$db" -tAc "select xact_commit from pg_stat_database where datname = current_database()"; }
[[ "$mode" = postgres* ]] && before=$(commits) && started=$(date +%s.%N)
measure -t"$threads" -c"$connections" -d"$create_duration" --latency -s /tmp/todo-bench-create.lua "$base/api/v1/tasks"
if [[ "$mode" = postgres* ]]; then
  echo "   commits/s during the run: $(python3 -c "import sys; print(round(($(commits) - $before) / ($(date +%s.%N) - $started)))")"
fi
echo "RSS under load: $(rss)"
# The consumers (audit, recurring, notifications) may trail the creates: how far, and how long they
# take to catch up. Creates/s that the consumers cannot follow are not sustainable.
behind=$(backlog); drain_start=$(date +%s.%N)
for _ in $(seq 1200); do [ "$(backlog)" = 0 ] && break; sleep 0.25; done
drained=$(python3 -c "print(round($(date +%s.%N) - $drain_start, 1))")
echo "   outbox backlog at the end of the run: ${behind:-unknown} events; empty $drained s later; RSS $(rss)"
# What the whole pipeline sustains: the creates over the run and the time the consumers needed after it.
echo "   sustained: $(python3 -c "print(round($requests / (${create_duration%s} + $drained)))") creates/s with every event handled (the creates over the run plus the drain)"
if [[ "$mode" = postgres* ]]; then
  echo "   pgbench floor, the same insert: $(floor --create "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" /tmp/todo-bench-create.lua)")"
fi
