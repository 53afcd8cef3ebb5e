"""Fixtures of the interop tests: the todo-server binary under test.

Run them with todo-server/tests/interop/run (see docs/testing.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The shared server harness (todo-server/tests/pylib/todo_server.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pylib"))

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def server_bin() -> str:
    """The todo-server binary under test, from $TODO_SERVER_BIN (the run script builds and sets it)."""
    path = os.environ.get("TODO_SERVER_BIN")
    if not path or not Path(path).is_file():
        pytest.fail(f"TODO_SERVER_BIN={path!r} is not a todo-server binary: run todo-server/tests/interop/run")
    return path
