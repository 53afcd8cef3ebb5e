"""A `todo-server` process for the MCP tests, its REST API (for sign-up and for checking what the
tools did) and MCP clients of the official Python SDK over Streamable HTTP and over stdio."""

from __future__ import annotations

import json as jsonlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

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


class TodoServer:
    """`todo-server all` with its own data directory, on 127.0.0.1:<free port>."""

    def __init__(self, binary: str, workdir: Path):
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = workdir / "data"
        self.log_path = workdir / "server.log"
        home = workdir / "home"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        home.mkdir(exist_ok=True)
        # A clean environment: nothing of the developer's TODO_*, DAPR_* or DATABASE_URL leaks in.
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "TODO_ADDR": f"127.0.0.1:{self.port}",
            "TODO_DATA_DIR": str(self.data_dir),
            "TODO_AUTH_RATE_PER_MINUTE": "1000",
        }
        if "RUST_LOG" in os.environ:
            self.env["RUST_LOG"] = os.environ["RUST_LOG"]
        self.process: subprocess.Popen | None = None

    def start(self) -> "TodoServer":
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [self.binary, "all"],
            env=self.env,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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

    def api(self, method: str, path: str, token: str | None = None, json: Any = None) -> ApiResponse:
        """One REST request; an HTTP error status is returned, not raised."""
        data = None if json is None else jsonlib.dumps(json).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            body = jsonlib.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        return ApiResponse(status, body)

    def signup(self, email: str) -> str:
        """Signs `email` up; its token."""
        response = self.api("POST", "/api/v1/auth/signup", json={"email": email, "password": "a good password"})
        assert response.status == 201, response
        return response.body["token"]

    def http_client(self, token: str | None) -> Client:
        """An MCP client of `/mcp` over Streamable HTTP, sending `token` as the bearer token."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60))
        return Client(streamable_http_client(f"{self.url}/mcp", http_client=http))

    def stdio_parameters(self, token: str) -> StdioServerParameters:
        """`todo-server mcp --stdio` on this server's data directory, as the user of `token`."""
        return StdioServerParameters(
            command=self.binary,
            args=["mcp", "--stdio"],
            env={**self.env, "TODO_TOKEN": token},
            cwd=str(self.workdir),
        )


@asynccontextmanager
async def connected(client: Client) -> AsyncIterator[Client]:
    async with client as session:
        yield session
