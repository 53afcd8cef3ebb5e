#!/usr/bin/env python3
"""Reminder email latency: remind_at -> the email accepted by a real SMTP server (aiosmtpd).

Starts aiosmtpd on --smtp-port (the server under test must send there: TODO_SMTP_URL, or the Dapr
secret smtp-url), signs up a user, creates N tasks whose reminders fall due spread over the next S
seconds (remind_before = 1 minute), and records, for each email, the moment aiosmtpd accepted it minus
the task's remind_at. Both clocks are this machine's.

usage: benches/email-latency.py --url URL --smtp-port PORT [--count N] [--spread SECONDS]
Run it with the interop venv's python (~/.cache/todo/interop/current/bin/python), which has aiosmtpd.
"""

import argparse
import re
import statistics
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from aiosmtpd.controller import Controller

from benchlib import call, percentile


class Arrivals:
    def __init__(self):
        self.at = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        arrived = time.time()
        found = re.search(rb"email-bench-(\d+)", envelope.content)
        if found:
            with self.lock:
                self.at.setdefault(int(found.group(1)), arrived)
        return "250 OK"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--spread", type=float, default=20.0)
    args = parser.parse_args()

    arrivals = Arrivals()
    controller = Controller(arrivals, hostname="127.0.0.1", port=args.smtp_port)
    controller.start()
    email = f"email-{uuid.uuid4().hex[:8]}@example.com"
    token = call(f"{args.url}/api/v1/auth/signup", "POST",
                 {"email": email, "password": "a good password"})["token"]
    start = datetime.now(timezone.utc) + timedelta(seconds=5)
    remind = {}
    for n in range(args.count):
        remind_at = (start + timedelta(seconds=args.spread * n / args.count)).replace(microsecond=0)
        due = remind_at + timedelta(minutes=1)
        task = call(f"{args.url}/api/v1/tasks", "POST",
                    {"title": f"email-bench-{n}", "due_date": due.isoformat().replace("+00:00", "Z"),
                     "remind_before": 1}, token)
        remind[n] = datetime.fromisoformat(task["remind_at"].replace("Z", "+00:00")).timestamp()
    deadline = time.time() + args.spread + 60
    while time.time() < deadline and len(arrivals.at) < args.count:
        time.sleep(0.2)
    controller.stop()
    delays = [(arrivals.at[n] - remind[n]) * 1000 for n in arrivals.at]
    print(f"emails: {len(delays)}/{args.count}")
    if delays:
        print(f"remind_at -> accepted: p50 {statistics.median(delays):.1f} ms, p90 {percentile(delays, 90):.1f} ms, "
              f"p99 {percentile(delays, 99):.1f} ms, max {max(delays):.1f} ms")


if __name__ == "__main__":
    main()
