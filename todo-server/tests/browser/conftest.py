"""Fixtures of the browser tests: a fresh todo-server per test, one headless chromium per session, and
pages that record their console errors (CSP violations included), with axe-core and screenshots at hand.

    def test_home_page_is_accessible(server, page, browser_errors, screenshot,
                                     assert_no_serious_a11y_violations):
        token, user = server.signup()
        page.goto("/")                      # the page fixture's base URL is the server's
        assert_no_serious_a11y_violations(page)
        screenshot(page, "home")
        browser_errors.assert_none()

Run them with todo-server/tests/browser/run (see docs/testing.md).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

import todo_browser
from todo_browser import BrowserErrors, TodoServer

# Assertions wait at most 5 s (Playwright's default is 5 s too; stated here so nobody raises it by accident).
expect.set_options(timeout=5_000)
ACTION_TIMEOUT_MS = 10_000  # clicks, fills, navigations


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item, so fixtures know in teardown whether it failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request) -> bool:
    return any(getattr(getattr(request.node, f"rep_{p}", None), "failed", False) for p in ("setup", "call"))


def pytest_terminal_summary(terminalreporter):
    if todo_browser._ARTIFACTS is not None:
        terminalreporter.write_line(f"browser artifacts (screenshots): {todo_browser._ARTIFACTS}")


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def server_bin() -> str:
    """The todo-server binary under test, from $TODO_SERVER_BIN (the run script builds and sets it)."""
    path = os.environ.get("TODO_SERVER_BIN")
    if not path:
        pytest.fail("TODO_SERVER_BIN is not set: run todo-server/tests/browser/run, which builds the server and sets it")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"TODO_SERVER_BIN={path} is not an executable file")
    return path


@pytest.fixture
def server(server_bin, request):
    """A fresh `todo-server all` (its own SQLite data dir and JWT key) for this test.

    `.url`, `.api(method, path, token=None, json=None)`, `.signup(email=None, password=...)`,
    `.log()`. Stopped afterwards; a failed test shows the tail of its log.
    """
    workdir = Path(tempfile.mkdtemp(prefix="todo-browser-server-"))
    srv = TodoServer(server_bin, workdir)
    not_ready = None
    try:
        srv.wait_ready()
    except RuntimeError as e:
        not_ready = str(e)
    if not_ready:
        srv.stop()
        pytest.fail(not_ready, pytrace=False)
    yield srv
    srv.stop()
    if _failed(request):
        print(f"--- todo-server log tail ({srv.log_path}) ---\n{srv.log(80)}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# The browser and its pages
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, driven by Playwright (never Playwright's own download)."""
    if not os.access(todo_browser.CHROMIUM, os.X_OK):
        pytest.fail(f"{todo_browser.CHROMIUM} not found: run infra/todo-infra install-browser")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=todo_browser.CHROMIUM,
            args=todo_browser.CHROMIUM_ARGS,
            headless=True,
        )
        yield chromium
        chromium.close()


@pytest.fixture
def browser_errors() -> BrowserErrors:
    """Console errors (CSP violations among them: `.csp_violations()`) and page errors of every page
    this test opened with `page`/`new_page`. `browser_errors.assert_none()` fails listing them."""
    return BrowserErrors()


@pytest.fixture
def new_page(browser, browser_errors, request):
    """Makes a page in a new browser context: `new_page(base_url=None, timezone_id="Europe/London",
    **context_options)`. Viewport 1280x800 and notifications granted unless given; any Playwright context option
    (`viewport`, `locale`, `bypass_csp`, `color_scheme`, ...) may be given. A failed test leaves a screenshot
    of each of its pages in the artifacts directory."""
    contexts = []

    def make(base_url: str | None = None, timezone_id: str = "Europe/London", **options):
        options.setdefault("viewport", {"width": 1280, "height": 800})
        options.setdefault("permissions", ["notifications"])
        context = browser.new_context(base_url=base_url, timezone_id=timezone_id, **options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.on("page", browser_errors.watch)  # pages the app opens itself
        contexts.append(context)
        page = context.new_page()
        browser_errors.watch(page)
        return page

    yield make
    if _failed(request):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                try:
                    path = todo_browser.screenshot(page, f"FAILED-{name}-{i}-{j}")
                    print(f"screenshot of the failed test's page {page.url}: {path}")
                except Exception as e:  # a crashed page must not hide the test's own failure
                    print(f"no screenshot of {page.url}: {e}")
    for context in contexts:
        context.close()


@pytest.fixture
def page(server, new_page):
    """A page whose base URL is this test's server: `page.goto("/")`.

    `server` comes first so that teardown closes the pages (screenshots of a failure included) while
    the server still runs; a test using `new_page` directly should ask for `server` before it."""
    return new_page(base_url=server.url)


# ---------------------------------------------------------------------------------------------
# Helpers as fixtures (they are plain functions of todo_browser too)
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def axe():
    """`axe(page, options=None)`: axe-core's violations on the page as it is now."""
    return todo_browser.axe


@pytest.fixture
def assert_no_serious_a11y_violations():
    """`assert_no_serious_a11y_violations(page)`: fails listing serious and critical axe violations."""
    return todo_browser.assert_no_serious_a11y_violations


@pytest.fixture
def screenshot():
    """`screenshot(page, name)`: a PNG in the artifacts directory ($TODO_BROWSER_ARTIFACTS)."""
    return todo_browser.screenshot
