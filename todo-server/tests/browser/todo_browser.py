"""The pieces the browser tests are made of: the real todo-server on a free loopback port, Debian's
chromium as Playwright launches it, the error collector, the axe-core audit and screenshots.

conftest.py turns these into fixtures; tests may also import them (`from todo_browser import ...`).
Provisioned by `infra/todo-infra install-browser`; run by `todo-server/tests/browser/run`.
"""

from __future__ import annotations

import json as jsonlib
import os
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE_DIR = Path(os.environ.get("TODO_CACHE_DIR") or Path.home() / ".cache" / "todo")
AXE_JS = CACHE_DIR / "browser" / "npm" / "node_modules" / "axe-core" / "axe.min.js"

CHROMIUM = os.environ.get("TODO_CHROMIUM", "/usr/bin/chromium")
# Playwright's own browser build cannot be downloaded here: we drive Debian's chromium. Without the
# background-networking flags it keeps calling Google, and on a closed network every refused
# connection ends up in the log.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

READY_TIMEOUT_S = 30
STOP_TIMEOUT_S = 10


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


@dataclass
class ApiResponse:
    """An HTTP answer: status, headers (case-insensitive), and the body as JSON when it is JSON."""

    status: int
    headers: Any  # http.client.HTTPMessage
    text: str

    @property
    def json(self) -> Any:
        return jsonlib.loads(self.text) if self.text else None


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TodoServer:
    """`todo-server all` with its own data directory, listening on 127.0.0.1:<free port>."""

    def __init__(self, binary: str, workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / "server.log"
        home = workdir / "home"
        self.data_dir.mkdir(parents=True)
        home.mkdir()
        # A clean environment, like the Rust CLI tests: nothing of the developer's TODO_*, DAPR_* or
        # DATABASE_URL leaks in. TODO_JWT_SECRET stays unset: the server keeps a key beside its data.
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "TODO_ADDR": f"127.0.0.1:{self.port}",
            "TODO_DATA_DIR": str(self.data_dir),
        }
        if "RUST_LOG" in os.environ:
            env["RUST_LOG"] = os.environ["RUST_LOG"]
        self.binary = binary
        self.env = env
        self.start()

    def start(self) -> None:
        """Starts the process (on the same port and data directory after a `stop`)."""
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

    def restart(self) -> None:
        """Stops the server and starts it again on the same port and data, ready."""
        self.stop()
        self.start()
        self.wait_ready()

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Returns once `GET /readyz` answers 200; raises with the server's log otherwise."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise RuntimeError(f"todo-server exited with code {code} before it was ready; log:\n{self.log() or '(empty)'}")
            try:
                status = self.api("GET", "/readyz").status
                if status == 200:
                    return
                last = f"/readyz answered {status}"
            except OSError as e:
                last = str(e)
            time.sleep(0.1)
        raise RuntimeError(f"todo-server not ready after {timeout} s on {self.url} ({last}); log:\n{self.log() or '(empty)'}")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def log(self, lines: int | None = None) -> str:
        text = self.log_path.read_text(errors="replace")
        return text if lines is None else "\n".join(text.splitlines()[-lines:])

    def api(self, method: str, path: str, token: str | None = None, json: Any = None) -> ApiResponse:
        """One request to the server; an HTTP error status is returned, not raised."""
        data = None if json is None else jsonlib.dumps(json).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return ApiResponse(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as e:
            return ApiResponse(e.code, e.headers, e.read().decode(errors="replace"))

    def signup(self, email: str | None = None, password: str = "a long password") -> tuple[str, dict]:
        """A fresh user (random email unless given): its token and user JSON."""
        email = email or f"user-{secrets.token_hex(6)}@example.com"
        response = self.api("POST", "/api/v1/auth/signup", json={"email": email, "password": password})
        if response.status != 201:
            raise AssertionError(f"signup of {email} answered {response.status}: {response.text}")
        body = response.json
        return body["token"], body["user"]


# ---------------------------------------------------------------------------------------------
# What the pages said
# ---------------------------------------------------------------------------------------------


@dataclass
class BrowserErrors:
    """Console errors and uncaught exceptions of every page a test opened.

    Chromium reports a Content-Security-Policy violation as a console error ("Refused to ...
    because it violates the following Content Security Policy directive ..."), so those land here too.
    """

    console: list[str] = field(default_factory=list)
    page: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda e: self.page.append(f"{e.name}: {e.message}" if e.name else str(e)))

    def _on_console(self, message) -> None:
        if message.type != "error" or _is_implicit_favicon_miss(message):
            return
        self.console.append(_console_text(message))

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m]

    def assert_none(self) -> None:
        problems = [f"console error: {m}" for m in self.console] + [f"page error: {m}" for m in self.page]
        assert not problems, "the pages reported errors:\n  " + "\n  ".join(problems)

    def clear(self) -> None:
        self.console.clear()
        self.page.clear()


def _is_implicit_favicon_miss(message) -> bool:
    """Chromium asks every origin for /favicon.ico on its own, after the load, and logs the 404 as a
    console error: the page did not ask for it, and whether it lands before an assertion is timing."""
    url = (message.location or {}).get("url", "")
    return message.text.startswith("Failed to load resource") and urllib.parse.urlsplit(url).path == "/favicon.ico"


def _console_text(message) -> str:
    location = message.location or {}
    where = location.get("url")
    return f"{message.text} ({where}:{location.get('lineNumber')})" if where else message.text


# ---------------------------------------------------------------------------------------------
# Accessibility (axe-core) and screenshots
# ---------------------------------------------------------------------------------------------


def axe(page, options: dict | None = None) -> list[dict]:
    """Runs axe-core on the page as it is now and returns its violations.

    The source is evaluated through the DevTools protocol, which the page's CSP does not govern
    (an inline <script> from add_script_tag would be refused under `script-src 'self'`).
    """
    if not AXE_JS.is_file():
        raise AssertionError(f"{AXE_JS} is missing; run: infra/todo-infra install-browser")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text())
    return page.evaluate(
        "async (options) => (await axe.run(document, options)).violations",
        {"resultTypes": ["violations"], **(options or {})},
    )


SERIOUS = ("serious", "critical")


def assert_no_serious_a11y_violations(page, options: dict | None = None) -> None:
    """Fails listing every axe violation of impact serious or critical (id, impact, help, nodes)."""
    serious = [v for v in axe(page, options) if v.get("impact") in SERIOUS]
    if not serious:
        return
    lines = []
    for v in serious:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} <{v.get('helpUrl', '')}>")
        for node in v.get("nodes", [])[:10]:
            lines.append(f"    {' '.join(map(str, node.get('target', [])))}: {node.get('html', '')[:160]}")
    raise AssertionError(f"axe found {len(serious)} serious or critical violation(s) on {page.url}:\n" + "\n".join(lines))


def artifacts_dir() -> Path:
    """Where screenshots go: $TODO_BROWSER_ARTIFACTS, else a temporary directory made once per run."""
    global _ARTIFACTS
    if _ARTIFACTS is None:
        configured = os.environ.get("TODO_BROWSER_ARTIFACTS")
        _ARTIFACTS = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="todo-browser-artifacts-"))
        _ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return _ARTIFACTS


_ARTIFACTS: Path | None = None


def screenshot(page, name: str, full_page: bool = True) -> Path:
    """Saves a PNG of the page as <artifacts>/<name>.png and returns its path."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "page"
    path = artifacts_dir() / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
