"""The browser-test infrastructure itself: the server starts and answers, pages carry a strict CSP,
chromium runs with the context we promise (time zone, notifications), CSP violations are caught, and
axe-core runs under the page's policy."""

import pytest
from playwright.sync_api import expect


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_pages_answer_under_a_policy_that_allows_only_our_own_scripts(server, path):
    response = server.api("GET", path)
    assert response.status == 200, response.text
    policy = response.headers.get("Content-Security-Policy")
    assert policy and "script-src 'self'" in policy, policy
    assert "unsafe-inline" not in policy, policy


def test_signup_gives_a_token_for_a_fresh_user(server):
    token, user = server.signup()
    assert token
    assert user["email"].endswith("@example.com")
    assert server.api("GET", "/api/v1/tasks", token=token).status == 200
    assert server.api("GET", "/api/v1/tasks").status == 401


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_gets_a_fresh_server(server, run):
    # The same address twice would be refused by a shared server.
    token, _ = server.signup(email="same@example.com")
    assert token


def test_the_page_loads_in_london_with_notifications_granted_and_no_errors(page, browser_errors, screenshot):
    response = page.goto("/")
    assert response is not None and response.ok
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Europe/London"
    assert page.evaluate("Notification.permission") == "granted"
    expect(page.locator("body")).to_be_visible()
    screenshot(page, "smoke-home")
    browser_errors.assert_none()


def test_an_inline_script_is_refused_and_reported_as_a_csp_violation(page, browser_errors):
    page.goto("/")
    page.evaluate("""() => {
        const s = document.createElement('script');
        s.textContent = 'window.injected = true';
        document.body.append(s);
    }""")
    assert page.evaluate("window.injected === undefined")
    for _ in range(50):  # the console event arrives asynchronously
        if browser_errors.csp_violations():
            break
        page.wait_for_timeout(20)
    assert browser_errors.csp_violations(), browser_errors.console
    assert not browser_errors.page


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_axe_runs_under_the_pages_policy_and_finds_nothing_serious(page, path, axe, assert_no_serious_a11y_violations):
    page.goto(path)
    assert isinstance(axe(page), list)
    assert_no_serious_a11y_violations(page)
