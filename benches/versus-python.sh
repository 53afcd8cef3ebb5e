#!/usr/bin/env bash
# Issue 19's yardstick, measured side by side: todo-server against a typical async FastAPI + SQLModel
# + asyncpg implementation of the same two endpoints (benches/python-baseline/app.py), on one durable
# PostgreSQL (fsync and synchronous_commit on: .run/bench-durable), same data, same wrk workloads;
# and, as a third side, todo-server's embedded default (SQLite in a fresh data directory, its default
# TODO_SQLITE_SYNC=normal), so that both of its modes are measured against the same Python rounds.
#
#   benches/versus-python.sh
#
# Each side gets a database of its own in the cluster, a user and 10 000 tasks seeded through its
# own API (benches/seed-tasks.py), then ANALYZE. Then ROUNDS rounds, the two sides alternating (and
# which goes first alternating by round, so the machine's drift falls on both): a search page
# (q=groceries&priority=high&sort=due_date&limit=50) and creates, wrk -t2 -c32 for DURATION each.
# After todo-server's create run it waits for its outbox to empty (the Python side has no events)
# and prints the sustained rate too. Before each workload it waits for the machine to be quiet
# (wait_quiet), so that one side's leftovers (PostgreSQL's checkpoint and autovacuum after the
# creates) do not run during another side's measurement. Memory: the resident set of todo-server,
# and of the uvicorn master and its workers together, after the creates.
#
# Env: DURATION (10s), ROUNDS (3), SEED (10000), PY_WORKERS (2: one per core, as deployed), EMBEDDED
# (1: also the embedded side; 0 leaves it out),
# TODO_SERVER_BIN (the server to measure; else the release build), MALLOC_ARENA_MAX (for todo-server,
# as the chart sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}
rounds=${ROUNDS:-3}
seed=${SEED:-10000}
py_workers=${PY_WORKERS:-2}
embedded_side=${EMBEDDED:-1}
# shellcheck source=benches/server-under-test.sh
. benches/server-under-test.sh

# The baseline's virtualenv, cached outside the clone and rebuilt when its pins change.
venv="$HOME/.cache/todo/python-baseline"
pins=benches/python-baseline/requirements.txt
if ! cmp -s "$pins" "$venv/requirements.txt" 2>/dev/null; then
  echo "installing the Python baseline's packages into $venv…"
  rm -rf "$venv" && python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$pins"
  cp "$pins" "$venv/requirements.txt"
fi

run_dir=.run/bench-durable
infra=(env TODO_PG_DURABILITY=durable infra/todo-infra --run-dir "$run_dir")
"${infra[@]}" up postgres >/dev/null
pg=$("${infra[@]}" env | sed -n 's/^export TODO_PG_URL=//p' | tr -d "'\"")
echo "PostgreSQL settings: $(psql "$pg" -tAc "select string_agg(name || '=' || setting, ', ' order by name) from pg_settings where name in ('fsync','synchronous_commit','full_page_writes','shared_buffers','max_connections')")"
stamp=$(date +%s)
rust="" python="" embedded="" data_dir=""
cleanup() {
  # shellcheck disable=SC2086 # no pid is an empty word
  kill $rust $python $embedded 2>/dev/null; wait $rust $python $embedded 2>/dev/null || true
  drop_databases "$pg" "rust_$stamp" "python_$stamp"
  [ -z "$data_dir" ] || rm -rf "$data_dir"
}
trap cleanup EXIT
for db in "rust_$stamp" "python_$stamp"; do psql "$pg" -qc "create database $db" >/dev/null; done

py_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
py_base="http://127.0.0.1:$py_port"
env "${server_env[@]}" DATABASE_URL="${pg%/*}/rust_$stamp" "$bin" >/tmp/todo-versus-rust.log 2>&1 &
rust=$!
py_env=(DATABASE_URL="$(echo "${pg%/*}/python_$stamp" | sed 's|^postgres[a-z]*://|postgresql+asyncpg://|')"
  JWT_SECRET=bench-secret-bench-secret-bench-secret)
(cd benches/python-baseline && env "${py_env[@]}" "$venv/bin/python" app.py)
(cd benches/python-baseline && exec env "${py_env[@]}" "$venv/bin/uvicorn" app:app --host 127.0.0.1 --port "$py_port" --workers "$py_workers" \
  --no-access-log --log-level warning) >/tmp/todo-versus-python.log 2>&1 &
python=$!
sides=(python todo-server)
if [ "$embedded_side" = 1 ]; then
  sides+=(embedded)
  emb_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  emb_base="http://127.0.0.1:$emb_port"
  data_dir=$(mktemp -d)
  # Without MALLOC_ARENA_MAX: the chart sets it for the PostgreSQL deployment; on SQLite it costs
  # search pages (allocator contention with SQLite's threads, docs/benchmarks.md).
  emb_env=()
  for setting in "${server_env[@]}"; do [[ "$setting" = MALLOC_ARENA_MAX=* ]] || emb_env+=("$setting"); done
  env -u MALLOC_ARENA_MAX "${emb_env[@]}" TODO_ADDR="127.0.0.1:$emb_port" TODO_DATA_DIR="$data_dir" \
    "$bin" >/tmp/todo-versus-embedded.log 2>&1 &
  embedded=$!
  wait_up "$emb_base/healthz" /tmp/todo-versus-embedded.log
fi
wait_up "$base/healthz" /tmp/todo-versus-rust.log; wait_up "$py_base/docs" /tmp/todo-versus-python.log
rust_token=$(signup "$base"); py_token=$(signup "$py_base")

echo "seeding $seed tasks into each…"
python3 benches/seed-tasks.py "$base" "$rust_token" "$seed"
python3 benches/seed-tasks.py "$py_base" "$py_token" "$seed"
if [ -n "$embedded" ]; then
  emb_token=$(signup "$emb_base")
  python3 benches/seed-tasks.py "$emb_base" "$emb_token" "$seed"
  create_script /tmp/todo-versus-embedded.lua "$emb_token"
fi
for b in "$base" ${embedded:+"$emb_base"}; do
  for _ in $(seq 600); do [ "$(backlog "$b")" = 0 ] && break; sleep 0.5; done
done
for db in "rust_$stamp" "python_$stamp"; do psql "${pg%/*}/$db" -qc analyze; done

create_script /tmp/todo-versus-rust.lua "$rust_token"
create_script /tmp/todo-versus-python.lua "$py_token"
search="/api/v1/tasks?q=groceries&priority=high&sort=due_date&limit=50"
# Both must find the same number of matches for the search (the same seeded tasks), or the comparison
# is void: the first 200 of them, through the same query.
count() { curl -sf -H "authorization: Bearer $2" "$1${search/limit=50/limit=200}" | python3 -c 'import sys,json; print(len(json.load(sys.stdin)["items"]))'; }
rust_matches=$(count "$base" "$rust_token"); py_matches=$(count "$py_base" "$py_token")
emb_matches=$rust_matches
[ -z "$embedded" ] || emb_matches=$(count "$emb_base" "$emb_token")
echo "search page's first 200 matches: todo-server $rust_matches, Python $py_matches${embedded:+, embedded $emb_matches}"
if [ "$rust_matches" != "$py_matches" ] || [ "$emb_matches" != "$py_matches" ] || [ "$rust_matches" = 0 ]; then
  echo "versus-python: the two implementations answer the search differently; not comparing" >&2
  exit 1
fi

rss_of() { for p in "$@"; do cat /proc/"$p"/status 2>/dev/null; done | awk '/VmRSS/ {r += $2} END {printf "%.1f", r/1024}'; }
# The uvicorn master and every process it started (its workers).
rss_python() { local children; read -ra children <<< "$(pgrep -P "$python" | tr '\n' ' ')"; rss_of "$python" "${children[@]}"; }
# Prints "req/s p99" of a wrk run.
load() { wrk -t2 -c32 -d"$duration" --latency "$@" 2>&1 | awk '/Requests\/sec/ {r = $2} /^ +99%/ {p = $2} /Non-2xx/ {bad = $NF} END {if (bad) {print "wrk: " bad " answers were not 2xx" > "/dev/stderr"; exit 1} printf "%s %s\n", r, p}'; }

results=$(mktemp)
side() { # side NAME BASE TOKEN LUA
  local s c drain="" started
  wait_quiet
  s=$(load -H "authorization: Bearer $3" "$2$search")
  wait_quiet
  started=$(date +%s.%N)
  c=$(load -s "$4" "$2/api/v1/tasks")
  if [ "$1" != python ]; then
    for _ in $(seq 1200); do [ "$(backlog "$2")" = 0 ] && break; sleep 0.25; done
    drain=$(python3 -c "print(round($(date +%s.%N) - $started - ${duration%s}, 1))")
  fi
  local rss
  case "$1" in
    python) rss=$(rss_python) ;;
    todo-server) rss=$(rss_of "$rust") ;;
    embedded) rss=$(rss_of "$embedded") ;;
  esac
  echo "$1 $s $c ${drain:-0} $rss" | tee -a "$results"
}
echo "round side search_req/s search_p99 create_req/s create_p99 drain_s rss_MiB"
for r in $(seq "$rounds"); do
  # Which side goes first rotates by round, so the machine's drift falls on every side.
  n=${#sides[@]}
  for i in $(seq 0 $((n - 1))); do
    who=${sides[$(((r - 1 + i) % n))]}
    echo -n "$r "
    case "$who" in
      python) side python "$py_base" "$py_token" /tmp/todo-versus-python.lua ;;
      todo-server) side todo-server "$base" "$rust_token" /tmp/todo-versus-rust.lua ;;
      embedded) side embedded "$emb_base" "$emb_token" /tmp/todo-versus-embedded.lua ;;
    esac
  done
done

python3 - "$results" "${duration%s}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
duration = float(sys.argv[2])
def med(side, i):
    return statistics.median(float(r[i]) for r in rows if r[0] == side)
def sustained(r):
    return float(r[3]) * duration / (duration + float(r[5]))
py = "python"
print(f"medians over {sum(r[0] == py for r in rows)} rounds:")
for rs, label in (("todo-server", "todo-server on PostgreSQL"), ("embedded", "todo-server embedded (SQLite)")):
    if not any(r[0] == rs for r in rows):
        continue
    rs_sustained = statistics.median(sustained(r) for r in rows if r[0] == rs)
    print(f"  {label}:")
    print(f"    search page/s: Python {med(py, 1):.0f}, {rs} {med(rs, 1):.0f} -> {med(rs, 1) / med(py, 1):.1f}x")
    print(f"    creates/s:     Python {med(py, 3):.0f}, {rs} {med(rs, 3):.0f} -> {med(rs, 3) / med(py, 3):.1f}x"
          f" (sustained with every event handled: {rs_sustained:.0f} -> {rs_sustained / med(py, 3):.1f}x)")
    print(f"    RSS after creates: Python {med(py, 6):.1f} MiB, {rs} {med(rs, 6):.1f} MiB")
PY
