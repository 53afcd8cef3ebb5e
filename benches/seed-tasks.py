#!/usr/bin/env python3
"""Seeds N tasks for one user through the REST API (16 in parallel), for the load harnesses.

usage: benches/seed-tasks.py BASE_URL TOKEN N [--tags-per-task 1|1-2]

Titles and descriptions are drawn from a small vocabulary (so "groceries" matches a share of them),
priorities and tags at random, due dates in 2031; the same seed gives the same tasks.
"""

import argparse
import concurrent.futures
import random

from benchlib import call

WORDS = ["buy", "groceries", "milk", "report", "call", "mum", "gym", "plan", "trip", "fix", "bike",
         "read"]
TAGS = ["work", "home", "personal"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("token")
    parser.add_argument("n", type=int)
    parser.add_argument("--tags-per-task", choices=["1", "1-2"], default="1")
    args = parser.parse_args()

    def create(i):
        rnd = random.Random(i)
        tags = ([rnd.choice(TAGS)] if args.tags_per_task == "1"
                else rnd.sample(TAGS, rnd.randint(1, 2)))
        call(args.base + "/api/v1/tasks", "POST", {
            "title": " ".join(rnd.choice(WORDS) for _ in range(3)) + f" {i}",
            "description": " ".join(rnd.choice(WORDS) for _ in range(8)),
            "priority": rnd.choice(["high", "medium", "low"]),
            "tags": tags,
            "due_date": f"2031-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T09:00:00Z",
        }, args.token)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(create, range(args.n)))


if __name__ == "__main__":
    main()
