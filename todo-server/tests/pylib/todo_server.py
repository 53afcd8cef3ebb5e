"""A `todo-server all` process for the Python test suites (interop, MCP), with its own data directory
and extra environment (an SMTP server, ...), and its REST API. Standard library only, so that every
suite's venv can import it (each conftest.py puts this folder on sys.path)."""

from __future__ import annotations

import json as jsonlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict


class TodoServer:
    """`todo-server all` on 127.0.0.1:<free port> with `env` added to a clean environment."""

    def __init__(self, binary: str, workdir: Path, env: dict[str, str] | None = None):
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = workdir / "data"
        self.log_path = workdir / "server.log"
        home = workdir / "home"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        home.mkdir(exist_ok=True)
        # Nothing of the developer's TODO_*, DAPR_* or DATABASE_URL leaks in.
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "TODO_ADDR": f"127.0.0.1:{self.port}",
            "TODO_DATA_DIR": str(self.data_dir),
            "TODO_AUTH_RATE_PER_MINUTE": "1000",
            "TODO_LOG": os.environ.get("TODO_LOG", "info"),
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> "TodoServer":
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [self.binary, "all"], env=self.env, cwd=self.workdir, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"todo-server exited with {self.process.returncode}; log:\n{self.log()}")
            try:
                if self.api("GET", "/readyz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"todo-server not ready after {READY_TIMEOUT_S} s; log:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no log)"

    def api(self, method: str, path: str, token: str | None = None, json: Any = None,
            headers: dict[str, str] | None = None) -> ApiResponse:
        """One request; an HTTP error status is returned, not raised. A JSON body is decoded."""
        data = None if json is None else jsonlib.dumps(json).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw, got = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as e:
            status, raw, got = e.code, e.read(), dict(e.headers)
        try:
            body = jsonlib.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        return ApiResponse(status, body, got)

    def signup(self, email: str) -> str:
        """Signs `email` up; its token."""
        response = self.api("POST", "/api/v1/auth/signup", json={"email": email, "password": "a good password"})
        assert response.status == 201, response
        return response.body["token"]
