"""Fixtures of the MCP tests: the todo-server binary under test and a fresh `todo-server all` per test.

Run them with todo-server/tests/mcp/run (see docs/testing.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The shared server harness (todo-server/tests/pylib/todo_server.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pylib"))

import os
from pathlib import Path

import pytest

from todo_mcp import TodoServer


@pytest.fixture(scope="session")
def server_bin() -> str:
    """The todo-server binary under test, from $TODO_SERVER_BIN (the run script builds and sets it)."""
    path = os.environ.get("TODO_SERVER_BIN")
    if not path or not Path(path).is_file():
        pytest.fail(f"TODO_SERVER_BIN={path!r} is not a todo-server binary: run todo-server/tests/mcp/run")
    return path


@pytest.fixture
def server(server_bin: str, tmp_path: Path):
    """`todo-server all` on a free port with a new data directory, stopped after the test."""
    todo = TodoServer(server_bin, tmp_path).start()
    try:
        yield todo
    finally:
        todo.stop()
