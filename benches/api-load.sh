#!/usr/bin/env bash
# Load test of the REST API (SPEC §10): seeds 10 000 tasks for one user, then drives
#   1. search + filter + sort GET  /api/v1/tasks?q=…&priority=high&sort=due_date&limit=50 (over the 10 000)
#   2. list page              GET  /api/v1/tasks?status=pending&sort=due_date&limit=50
#   3. create task            POST /api/v1/tasks
# with wrk (Debian package) at 32 keep-alive connections, and samples the server's resident memory.
#
#   benches/api-load.sh [sqlite]        # the embedded default: SQLite in a fresh data directory
#   benches/api-load.sh memory          # DATABASE_URL=memory:
#   benches/api-load.sh postgres        # PostgreSQL from infra/todo-infra (a fresh database in its default run
#                                       # dir, whose cluster runs with the test settings: fsync=off, ...)
#   benches/api-load.sh postgres-durable  # the same on a cluster with PostgreSQL's durable defaults
#                                       # (run dir .run/bench-durable, TODO_PG_DURABILITY=durable)
# Env: DURATION (15s), CONNECTIONS (32), THREADS (2), SEED (10000), TODO_SQLITE_SYNC (normal).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-sqlite}
duration=${DURATION:-15s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
seed=${SEED:-10000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/todo/target}"
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null

cargo build --release -q -p todo-server
bin="$CARGO_TARGET_DIR/release/todo-server"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
env=(TODO_ADDR="127.0.0.1:$port" TODO_JWT_SECRET="bench-secret-bench-secret-bench-secret" TODO_LOG=warn TODO_AUTH_RATE_PER_MINUTE=100000)
data=$(mktemp -d)
case "$mode" in
  sqlite) env+=(TODO_DATA_DIR="$data" TODO_SQLITE_SYNC="${TODO_SQLITE_SYNC:-normal}") ;;
  memory) env+=(DATABASE_URL=memory:) ;;
  postgres) infra=(infra/todo-infra) ;;
  postgres-durable) infra=(env TODO_PG_DURABILITY=durable infra/todo-infra --run-dir .run/bench-durable) ;;
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
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done

token=$(curl -sf "$base/api/v1/auth/signup" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"bench password"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')

echo "seeding $seed tasks ($mode)…"
python3 benches/seed-tasks.py "$base" "$token" "$seed"

# Measure the steady state: the outbox relay has delivered the seeding's events (the audit log and
# the other consumers have caught up).
for _ in $(seq 600); do
  backlog=$(curl -sf "$base/metrics" | awk '/^todo_outbox_backlog / {print $2}')
  [ "${backlog:-1}" = 0 ] && break
  sleep 0.5
done
echo "outbox backlog before measuring: ${backlog:-unknown}"

if [[ "$mode" = postgres* ]]; then
  # Fresh statistics, as autovacuum would have them on a database that has lived a while.
  psql "${pg%/*}/$db" -qc "analyze" >/dev/null
fi

cat > /tmp/todo-bench-create.lua <<LUA
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer $token"
wrk.body = '{"title":"Buy groceries","description":"milk and eggs","priority":"high","tags":["home"],"due_date":"2031-06-01T09:00:00Z"}'
LUA
rss() { awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$server/status; }
echo "RSS after seeding: $(rss)"
echo "== search page: q=groceries&priority=high&sort=due_date&limit=50"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -H "authorization: Bearer $token" \
  "$base/api/v1/tasks?q=groceries&priority=high&sort=due_date&limit=50" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
echo "RSS under load: $(rss)"
echo "== list page: status=pending&sort=due_date&limit=50"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -H "authorization: Bearer $token" \
  "$base/api/v1/tasks?status=pending&sort=due_date&limit=50" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
echo "== create task: wrk -t$threads -c$connections -d$duration"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s /tmp/todo-bench-create.lua "$base/api/v1/tasks" | grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
echo "RSS under load: $(rss)"
