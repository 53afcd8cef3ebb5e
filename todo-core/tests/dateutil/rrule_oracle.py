#!/usr/bin/env python3
"""Oracle for tests/recurrence_dateutil.rs: the first occurrences of RRULEs according to python-dateutil.

Reads JSON on stdin, a list of cases:
    [{"rule": "FREQ=...", "dtstart": "2026-03-01T09:00:00", "tz": "Europe/London", "n": 16}, ...]
where `dtstart` is the series start as a local wall-clock date-time in `tz` (RFC 5545 DTSTART;TZID=...),
and writes JSON on stdout, one entry per case in the same order:
    [{"utc": [epoch seconds, ...], "local": ["2026-03-01T09:00:00", ...]} | {"error": "..."}, ...]

Time zones come from the standard library's zoneinfo (system tz database, or the `tzdata` package).
A date-time is made aware with fold=0, so a local time in a DST gap or fold is read with the offset in
force before the transition; `timestamp()` then gives its instant.

Requires: pip install python-dateutil tzdata
"""
import itertools
import json
import sys
from datetime import datetime

try:
    from dateutil.rrule import rrulestr
except ImportError:
    sys.stderr.write("python-dateutil is not installed: run `pip install python-dateutil tzdata`\n")
    sys.exit(3)
try:
    from zoneinfo import ZoneInfo
except ImportError:
    sys.stderr.write("zoneinfo needs Python 3.9 or later\n")
    sys.exit(3)


def occurrences(case):
    start = datetime.fromisoformat(case["dtstart"]).replace(tzinfo=ZoneInfo(case["tz"]))
    rule = rrulestr(case["rule"], dtstart=start)
    found = list(itertools.islice(rule, case["n"]))
    return {
        "utc": [int(o.timestamp()) for o in found],
        "local": [o.replace(tzinfo=None).isoformat() for o in found],
    }


def main():
    results = []
    for case in json.load(sys.stdin):
        try:
            results.append(occurrences(case))
        except Exception as error:  # reported per case, so one bad rule does not hide the others
            results.append({"error": f"{type(error).__name__}: {error}"})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
