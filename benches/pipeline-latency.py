#!/usr/bin/env python3
"""Event pipeline latency: complete a recurring task -> its next occurrence stored.

Against a running deployment (deploy/local/todo-local up, or `todo-server all`): signs up a user,
creates N weekly tasks, completes them at a steady pace, waits until every next occurrence exists,
then reads from PostgreSQL, for each pair, next.created_at - completed.completed_at. Both instants
are stamped by the services on this machine's clock: the API when it commits the completion, the
recurring service when it commits the next occurrence. In between: the outbox relay, Dapr pub/sub
(or the Kafka producer), Kafka, the recurring service's delivery and its transaction.

usage: benches/pipeline-latency.py [--url URL] [--database-url URL] [--count N] [--rate PER_SECOND]
Defaults come from deploy/local/todo-local env (TODO_API_URL, TODO_DATABASE_URL).
"""

import argparse
import glob
import statistics
import subprocess
import sys
import time
import uuid

from benchlib import call, local_env, percentile


def psql(database_url, sql):
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    psql_bin = binaries[-1] if binaries else "psql"
    return subprocess.run([psql_bin, "-X", "-q", "-tA", "-F", ",", database_url, "-c", sql],
                          capture_output=True, text=True, check=True).stdout


def main():
    env = local_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=env.get("TODO_API_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--database-url", default=env.get("TODO_DATABASE_URL"))
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="completions per second")
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("--database-url is needed (the deployment's PostgreSQL)")

    email = f"pipeline-{uuid.uuid4().hex[:8]}@example.com"
    auth = call(f"{args.url}/api/v1/auth/signup", "POST",
                {"email": email, "password": "a good password"})
    token, user_id = auth["token"], auth["user"]["id"]
    ids = []
    for n in range(args.count):
        task = call(f"{args.url}/api/v1/tasks", "POST",
                    {"title": f"pipeline {n}", "due_date": "2030-01-07T09:00:00Z",
                     "recurrence": "weekly", "remind_before": 0}, token)
        ids.append(task["id"])
    time.sleep(2)  # let the created events drain first

    interval = 1.0 / args.rate
    started = time.monotonic()
    for i, task_id in enumerate(ids):
        delay = started + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        call(f"{args.url}/api/v1/tasks/{task_id}/complete", "POST", None, token)
    sent = time.monotonic() - started

    query = (f"SELECT count(*) FROM tasks WHERE user_id = '{user_id}' AND predecessor_id IS NOT NULL")
    deadline = time.monotonic() + 120
    while int(psql(args.database_url, query).strip() or 0) < len(ids):
        if time.monotonic() > deadline:
            sys.exit("not every next occurrence appeared within 120 s")
        time.sleep(0.5)

    rows = psql(args.database_url, f"""
        SELECT extract(epoch FROM (n.created_at - p.completed_at)) * 1000
        FROM tasks n JOIN tasks p ON n.predecessor_id = p.id
        WHERE n.user_id = '{user_id}'""")
    latencies = [float(v) for v in rows.split()]
    print(f"completions: {len(latencies)} at {len(ids) / sent:.1f}/s")
    print(f"complete -> next occurrence stored: p50 {percentile(latencies, 50):.1f} ms, "
          f"p90 {percentile(latencies, 90):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
          f"max {max(latencies):.1f} ms, mean {statistics.mean(latencies):.1f} ms")


if __name__ == "__main__":
    main()
