"""Shared helpers of the Python benchmark harnesses in benches/."""

import json
import os
import subprocess
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def local_env():
    """The variables `deploy/local/todo-local env` prints (TODO_API_URL, ...), or {} without one."""
    try:
        out = subprocess.run([os.path.join(ROOT, "deploy/local/todo-local"), "env"],
                             capture_output=True, text=True, check=True).stdout
    except subprocess.CalledProcessError:
        return {}
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value.strip("'")
    return env


def call(url, method="GET", body=None, token=None):
    """One JSON request; returns the decoded body (None when empty)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        return json.loads(text) if text else None


def percentile(values, p):
    """The nearest-rank p-th percentile of values."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1)))))]
