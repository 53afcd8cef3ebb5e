#!/usr/bin/env bash
# Where a create's time goes on durable PostgreSQL: PostgreSQL's time and WAL per statement
# (pg_stat_statements), commits, and optionally a whole-machine CPU profile (perf).
#
# It seeds SEED tasks for one user through the API, waits for the outbox to empty, resets the
# statistics, drives DURATION of creates with wrk at 32 connections, waits for the consumers to catch
# up, and prints, for the statements that took PostgreSQL's time: calls, total and mean time, and WAL
# records, full-page images and shared buffers touched per row.
#
#   benches/create-breakdown.sh                  # the release build, on the durable cluster
#   PERF=1 benches/create-breakdown.sh           # also `perf record -a` over 7 s of the run, then
#                                                # the CPU share of each process, and PostgreSQL's
#                                                # time by executor stage
# Env: DURATION (10s), SEED (2000), TODO_SERVER_BIN (a binary instead of the release build).
#
# pg_stat_statements must be preloaded, which needs a restart: the script sets it with ALTER SYSTEM
# on the benchmark cluster (.run/bench-durable, TODO_PG_DURABILITY=durable), restarts it, and on exit
# resets it and restarts the cluster again, so api-load.sh keeps measuring without its overhead.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}
seed=${SEED:-2000}
# shellcheck source=benches/server-under-test.sh
. benches/server-under-test.sh
infra=(env TODO_PG_DURABILITY=durable infra/todo-infra --run-dir .run/bench-durable)
"${infra[@]}" up postgres >/dev/null
pg=$("${infra[@]}" env | sed -n 's/^export TODO_PG_URL=//p' | tr -d "'\"")
restart_pg() { "${infra[@]}" down >/dev/null 2>&1; "${infra[@]}" up postgres >/dev/null; }
psql "$pg" -qc "alter system set shared_preload_libraries = 'pg_stat_statements'"
restart_pg
db="breakdown_$(date +%s)"
psql "$pg" -qc "create database $db"
url="${pg%/*}/$db"
env "${server_env[@]}" DATABASE_URL="$url" "$bin" > /tmp/todo-breakdown-server.log 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true
  drop_databases "$pg" "$db"
  psql "$pg" -qc "alter system reset shared_preload_libraries" && restart_pg
}
trap cleanup EXIT
wait_up "$base/healthz" /tmp/todo-breakdown-server.log
token=$(signup)
python3 benches/seed-tasks.py "$base" "$token" "$seed" >/dev/null
drain() { for _ in $(seq 1200); do [ "$(backlog)" = 0 ] && return; sleep 0.25; done; }
drain
psql "$url" -qc "analyze" -c "create extension if not exists pg_stat_statements" \
  -c "select pg_stat_statements_reset()" -c "select pg_stat_reset_shared('wal')" >/dev/null
commits() { psql "$url" -tAc "select xact_commit from pg_stat_database where datname = current_database()"; }
before=$(commits)
create_script /tmp/todo-breakdown-create.lua "$token"
if [ -n "${PERF:-}" ]; then
  (sleep 1; perf record -F 999 -a -g -e cpu-clock -o /tmp/todo-breakdown.perf -- sleep 7 >/dev/null 2>&1) &
  profiler=$!
fi
started=$(date +%s.%N)
wrk -t2 -c32 -d"$duration" --latency -s /tmp/todo-breakdown-create.lua "$base/api/v1/tasks" | grep -E 'Requests/sec|99%'
drain
echo "creates: $(psql "$url" -tAc "select count(*) - $seed from tasks"); run + drain $(python3 -c "print(round($(date +%s.%N) - $started, 1))") s; commits $(( $(commits) - before ))"
psql "$url" -c "select wal_records, wal_fpi, pg_size_pretty(wal_bytes) as wal, wal_sync from pg_stat_wal"
psql "$url" -c "
select calls, round(total_exec_time) as ms, round(total_exec_time * 1000 / calls) as us_per_call,
       rows, round(wal_records::numeric / greatest(rows, 1), 1) as wal_per_row,
       round(wal_fpi::numeric / greatest(rows, 1), 2) as fpi_per_row,
       round(shared_blks_hit::numeric / greatest(rows, 1), 1) as buffers_per_row,
       left(regexp_replace(query, '\s+', ' ', 'g'), 60) as statement
from pg_stat_statements
where dbid = (select oid from pg_database where datname = current_database()) and calls > 0
order by total_exec_time desc limit 8"
echo "(a batch insert returns one row per statement: its wal_per_row is per statement)"
if [ -n "${PERF:-}" ]; then
  wait "$profiler"
  echo "CPU share by process (perf, all CPUs):"
  perf report -i /tmp/todo-breakdown.perf --no-children --sort comm -q -g none 2>/dev/null | head -6
  echo "PostgreSQL's samples by stage (inclusive):"
  perf script -i /tmp/todo-breakdown.perf --comm postgres 2>/dev/null | python3 -c '
import re, sys
stacks = [s for s in sys.stdin.read().split("\n\n") if s.strip()]
stages = ["ExecInsertIndexTuples", "gininsert", "CommitTransactionCommand", "XLogFlush",
          "standard_ExecutorStart", "AfterTriggerEndQuery", "array_recv", "jsonb_recv", "vacuum", "analyze_rel"]
counts = dict.fromkeys(stages, 0)
for s in stacks:
    names = {re.sub(r"\+0x[0-9a-f]+$", "", l.split()[1]) for l in s.strip().split("\n")[1:] if len(l.split()) > 1}
    for stage in stages:
        counts[stage] += stage in names
for stage in stages:
    print(f"  {stage:28s} {100 * counts[stage] / max(len(stacks), 1):5.1f} %")'
fi
