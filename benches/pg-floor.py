#!/usr/bin/env python3
"""PostgreSQL's own cost of an API request's statement: the floor the API is compared against.

usage: benches/pg-floor.py --database-url URL --pg-log FILE --api URL --token TOKEN
                           [--path PATH | --create JSON] [--clients 32] [--duration 10]

It captures the statement the running server sends for one request, exactly as PostgreSQL received
it (text and parameter values, from PostgreSQL's own log: `log_min_duration_statement = 0` is set
with ALTER SYSTEM for the one request, then reset), then runs that statement with pgbench as the
server sent it (`-M extended` for an unnamed statement, parsed and planned per execution; `-M
prepared` for a named one, which sqlx prepares once per connection) from `--clients` connections
for `--duration` seconds, and prints transactions/s and latency percentiles.

For a create (`--create`), the captured insert's task id (`$1`) and event ids (the `uuid[]` of its
outbox rows) are replaced with fresh values per execution (`random()`, `gen_random_uuid()`), so every
execution inserts a new task as the API does; each is one statement, so one commit.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchlib import call, percentile

PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


def log_records(text):
    """Splits PostgreSQL's stderr log into records (a record's continuation lines have no prefix)."""
    records = []
    for line in text.splitlines():
        if PREFIX.match(line) or not records:
            records.append(line)
        else:
            # PostgreSQL indents a message's continuation lines with a tab.
            records[-1] += "\n" + (line[1:] if line.startswith("\t") else line)
    return records


def parse_parameters(detail):
    """`$1 = 'a', $2 = NULL, ...` (values quoted SQL-style) into {1: 'a', 2: None}."""
    values, i = {}, 0
    pattern = re.compile(r"\$(\d+) = (NULL|'((?:[^']|'')*)')(?:, |$)", re.S)
    while i < len(detail):
        m = pattern.match(detail, i)
        if not m:
            raise ValueError(f"cannot read parameters at: {detail[i:i + 80]!r}")
        values[int(m.group(1))] = None if m.group(2) == "NULL" else m.group(3).replace("''", "'")
        i = m.end()
    return values


def capture(args, request):
    """Runs `request()` with statement logging on; returns [(statement, {n: value}, protocol)] it
    caused, protocol being pgbench's name for how it was sent."""
    start = os.path.getsize(args.pg_log)
    psql(args.database_url, "ALTER SYSTEM SET log_min_duration_statement = 0")
    psql(args.database_url, "SELECT pg_reload_conf()")
    time.sleep(0.5)  # the reload reaches every backend
    try:
        request()
        time.sleep(0.5)
    finally:
        psql(args.database_url, "ALTER SYSTEM RESET log_min_duration_statement")
        psql(args.database_url, "SELECT pg_reload_conf()")
    with open(args.pg_log, encoding="utf-8", errors="replace") as log:
        log.seek(start)
        records = log_records(log.read())
    found = []
    for i, record in enumerate(records):
        m = re.search(r"execute ([^:]*): (.*)", record, re.S)
        if not m:
            continue
        # A named statement is a prepared one (sqlx caches them per connection); <unnamed> is
        # parsed and planned for each execution.
        protocol = "extended" if m.group(1) == "<unnamed>" else "prepared"
        params = {}
        if i + 1 < len(records):
            d = re.search(r"DETAIL:  [Pp]arameters: (.*)", records[i + 1], re.S)
            if d:
                params = parse_parameters(d.group(1).strip())
        found.append((m.group(2).strip(), params, protocol))
    return found


def to_pgbench(statement, params, fresh):
    """The statement with `$n` as pgbench variables `:pn` (or the expression `fresh[n]`)."""
    def substitute(m):
        n = int(m.group(1))
        if n in fresh:
            return fresh[n]
        return "NULL" if params.get(n) is None else f":p{n}"
    script = re.sub(r"\$(\d+)", substitute, statement)
    variables = [f"p{n}={v}" for n, v in params.items() if v is not None and n not in fresh]
    return script, variables


def pgbench(args, script, variables, protocol, setup=""):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "statement.sql")
        with open(path, "w", encoding="utf-8") as f:
            f.write(setup + " ".join(script.split()) + ";\n")
        command = ["pgbench", "-n", "-M", protocol, "-c", str(args.clients), "-j", "2",
                   "-T", str(args.duration), "-f", path, "--log", "--log-prefix",
                   os.path.join(tmp, "tx")]
        for v in variables:
            command += ["-D", v]
        env = dict(os.environ)
        if args.plan_cache_mode:
            env["PGOPTIONS"] = f"-c plan_cache_mode={args.plan_cache_mode}"
        out = subprocess.run(command + [args.database_url], capture_output=True, text=True,
                             cwd=tmp, env=env)
        if out.returncode != 0:
            sys.exit(f"pgbench failed:\n{out.stderr}\nscript:\n{script}")
        latencies = []
        for name in os.listdir(tmp):
            if name.startswith("tx"):
                with open(os.path.join(tmp, name)) as log:
                    latencies += [int(line.split()[2]) / 1000 for line in log]
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    return {
        "tps": float(tps.group(1)) if tps else None,
        "transactions": len(latencies),
        "failed": int(failed.group(1)) if failed else 0,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--pg-log", required=True, help="PostgreSQL's stderr log file")
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--path", help="a GET request, e.g. /api/v1/tasks?q=groceries")
    what.add_argument("--create", help="the JSON body of a POST /api/v1/tasks")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--plan-cache-mode", help="the server's plan_cache_mode for this statement "
                        "(page queries: force_custom_plan), set on pgbench's connections")
    args = parser.parse_args()

    if args.path:
        found = capture(args, lambda: call(args.api + args.path, token=args.token))
        selects = [f for f in found if f[0].lstrip().upper().startswith("SELECT")
                   and "FROM tasks t" in f[0]]
        if not selects:
            sys.exit(f"no task query captured (statements: {[f[0][:60] for f in found]})")
        statement, params, protocol = selects[-1]
        script, variables = to_pgbench(statement, params, {})
        setup = ""
    else:
        body = json.loads(args.create)
        found = capture(args, lambda: call(args.api + "/api/v1/tasks", "POST", body, args.token))
        inserts = [f for f in found if "INSERT INTO tasks" in f[0]]
        if not inserts:
            sys.exit(f"no task insert captured (statements: {[f[0][:60] for f in found]})")
        statement, params, protocol = inserts[0]
        uuid_arrays = [int(n) for n in re.findall(r"\$(\d+)::uuid\[\]", statement)]
        fresh = {1: ":id"}
        for n in uuid_arrays:
            count = len([x for x in (params.get(n) or "{}").strip("{}").split(",") if x])
            fresh[n] = "ARRAY[" + ", ".join(["gen_random_uuid()"] * count) + "]::uuid[]"
        script, variables = to_pgbench(statement, params, fresh)
        setup = "\\set id random(1000000000000000, 9000000000000000000)\n"
    result = pgbench(args, script, variables, protocol, setup)
    result["protocol"] = protocol
    if args.plan_cache_mode:
        result["plan_cache_mode"] = args.plan_cache_mode
    result["statement"] = " ".join(statement.split())[:200] + "…"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
