#!/usr/bin/env python3
"""Reminder latency as the user sees it: remind_at -> the `reminder` event on their stream.

Against a running deployment (deploy/local/todo-local up, or `todo-server all`): signs up a user, opens
their event stream, creates N tasks whose reminders fall due spread over the next SPREAD seconds, and
records for each `reminder` event how long after its `remind_at` it arrived. In the Dapr deployment
that is: the Jobs API firing, the API's callback and transaction, the outbox relay, daprd, Kafka, the
broadcast subscription back into the API, and the SSE write.

usage: benches/reminder-latency.py [--url URL] [--count N] [--spread SECONDS]
The URL defaults to TODO_API_URL from deploy/local/todo-local env.
"""

import argparse
import datetime as dt
import json
import statistics
import sys
import threading
import time
import urllib.request
import uuid

from benchlib import call, local_env, percentile


def parse_time(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=local_env().get("TODO_API_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--spread", type=float, default=30.0)
    args = parser.parse_args()

    token = call(f"{args.url}/api/v1/auth/signup", "POST",
                 {"email": f"reminders-{uuid.uuid4().hex[:8]}@example.com",
                  "password": "a good password"})["token"]
    delays, lock = {}, threading.Lock()

    def listen():
        request = urllib.request.Request(f"{args.url}/api/v1/stream")
        request.add_header("authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=args.spread + 120) as stream:
            kind = None
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[len("event: "):]
                elif line.startswith("data: ") and kind == "reminder":
                    arrived = time.time()
                    event = json.loads(line[len("data: "):])
                    with lock:
                        delays[event["task_id"]] = (arrived - parse_time(event["remind_at"])) * 1000
                        if len(delays) >= args.count:
                            return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(1)
    # remind_before is whole minutes and due dates whole seconds: due = remind_at + 1 min.
    start = time.time() + 5
    for n in range(args.count):
        remind_at = int(start + args.spread * n / args.count) + 1
        due = dt.datetime.fromtimestamp(remind_at + 60, dt.timezone.utc)
        call(f"{args.url}/api/v1/tasks", "POST",
             {"title": f"reminder {n}", "due_date": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "remind_before": 1}, token)
    listener.join(timeout=args.spread + 60)
    values = list(delays.values())
    if len(values) < args.count:
        sys.exit(f"only {len(values)} of {args.count} reminders arrived")
    print(f"reminders: {len(values)} over {args.spread:.0f} s")
    print(f"remind_at -> event on the user's stream: p50 {percentile(values, 50):.1f} ms, "
          f"p90 {percentile(values, 90):.1f} ms, p99 {percentile(values, 99):.1f} ms, "
          f"max {max(values):.1f} ms, mean {statistics.mean(values):.1f} ms")


if __name__ == "__main__":
    main()
