"""Usable and safe: keyboard alone, 360 px, axe-core, user text as text, a strict CSP, the token never
in a URL, and no request leaves the origin (no CDN, the API docs included)."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import expect

from ui import add_task, fresh_email, picture, sign_up, task_item, task_list

XSS = '<img src=x onerror="window.__pwned=1">'


def test_keyboard_alone_signs_up_adds_completes_and_edits(page, server, browser_errors):
    page.goto("/")
    kb = page.keyboard
    expect(page.get_by_label("Email")).to_be_focused()
    kb.type(fresh_email())
    kb.press("Tab")
    kb.type("a long password")
    # Tab past the hint to the buttons: Sign in, then Sign up.
    kb.press("Tab")
    kb.press("Tab")
    expect(page.get_by_role("button", name="Sign up")).to_be_focused()
    kb.press("Enter")
    title = page.get_by_role("form", name="New task").get_by_label("Title")
    expect(title).to_be_focused()
    # Focus is visible: an outline is drawn.
    assert title.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    kb.type("Typed task")
    kb.press("Enter")  # Enter in a text field submits the form
    item = task_item(page, "Typed task")
    expect(item).to_be_visible()
    expect(title).to_be_focused()

    done = item.get_by_role("checkbox", name="Done")
    done.focus()
    kb.press("Space")
    expect(done).to_be_checked()
    kb.press("Tab")
    edit = item.get_by_role("button", name="Edit")
    expect(edit).to_be_focused()
    kb.press("Enter")
    dialog = page.get_by_role("dialog", name="Edit task")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Title")).to_be_focused()
    kb.press("Escape")
    expect(dialog).to_be_hidden()
    expect(edit).to_be_focused()  # focus returns to where it was
    browser_errors.assert_none()


def test_focus_returns_to_the_redrawn_opener_when_a_live_update_lands_while_a_dialog_is_open(
        page, server, browser_errors):
    sign_up(page)
    add_task(page, "Changed elsewhere", priority="Medium")
    edit = task_item(page, "Changed elsewhere").get_by_role("button", name="Edit")
    edit.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Edit task")
    expect(dialog.get_by_label("Title")).to_be_focused()
    opener = edit.element_handle()

    # Another client changes the task: the live update re-draws its item behind the open dialog.
    token = page.evaluate("localStorage.getItem('todo.token')")
    [task] = server.api("GET", "/api/v1/tasks", token=token).json["items"]
    server.api("PATCH", f"/api/v1/tasks/{task['id']}", token=token, json={"priority": "low"})
    expect(task_item(page, "Changed elsewhere").get_by_text("Low", exact=True)).to_be_visible()
    assert not opener.evaluate("e => e.isConnected"), "the item was re-drawn, so the opener is gone"

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(edit).to_be_focused()  # the re-drawn item's Edit button
    browser_errors.assert_none()


def test_it_works_at_360_px(new_page, server, browser_errors, screenshot):
    page = new_page(base_url=server.url, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    sign_up(page)
    add_task(page, "A task with a rather long title that has to wrap on a phone", tags="home, phone",
             priority="High", due="2030-05-01T18:30", repeat="Monthly")
    add_task(page, "Short one", priority="Low")
    expect(task_list(page).get_by_role("listitem")).to_have_count(2)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at 360 px ({width} px wide)"
    finder = page.get_by_role("search", name="Find tasks")
    controls = [finder.get_by_role("searchbox", name="Search")] + [
        finder.get_by_role("combobox", name=name) for name in ["Status", "Priority", "Tag"]]
    for name, control in zip(["Search", "Status", "Priority", "Tag"], controls):
        box = control.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, (name, box)
    page.evaluate("document.getElementById('tasks-title').scrollIntoView()")
    picture(page, screenshot, "phone-360", full_page=False)
    browser_errors.assert_none()


def test_no_serious_or_critical_accessibility_violations(page, server, assert_no_serious_a11y_violations, screenshot):
    page.goto("/")
    expect(page.get_by_role("button", name="Sign up")).to_be_visible()
    assert_no_serious_a11y_violations(page)
    sign_up(page)
    add_task(page, "Pay rent", tags="home", priority="High", due="2030-01-07T09:00", repeat="Weekly")
    add_task(page, "Read a book", priority="Low")
    add_task(page, "Renew passport", priority="Medium", tags="admin", due="2030-02-01T12:00")
    expect(task_list(page).get_by_role("listitem")).to_have_count(3)
    form = page.get_by_role("form", name="New task")
    form.get_by_label("Repeat").select_option(label="Custom")
    form.get_by_label("Title").fill("Stand-up")
    form.get_by_label("Due").fill("2030-01-07T09:30")
    form.get_by_label("RRULE").fill("FREQ=WEEKLY;BYDAY=MO,WE,FR")
    expect(form.get_by_text("Next occurrences")).to_be_visible()
    assert_no_serious_a11y_violations(page)
    picture(page, screenshot, "tasks", full_page=False)
    add_task(page, "")  # an error on show
    expect(form.locator("#new-title-error")).not_to_be_empty()
    assert_no_serious_a11y_violations(page)
    task_item(page, "Pay rent").get_by_role("button", name="Edit").click()
    assert_no_serious_a11y_violations(page)
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Notifications").click()
    assert_no_serious_a11y_violations(page)


def test_user_text_is_text_the_policy_is_strict_and_the_token_stays_out_of_urls(page, server, browser_errors):
    urls: list[str] = []
    stream_headers: list[dict] = []
    page.on("request", lambda r: urls.append(r.url))
    page.on("request", lambda r: stream_headers.append(r.headers) if r.url.endswith("/api/v1/stream") else None)
    response = page.goto("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'self'" in csp
    sign_up(page)
    add_task(page, XSS, description=XSS, tags="x")
    item = task_item(page, XSS)
    expect(item).to_be_visible()  # shown literally, as text
    expect(item.locator("img")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None
    # An inline script injected into the page is refused by the policy.
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__inline = 1';
                             document.body.append(s); }""")
    assert page.evaluate("window.__inline") is None
    assert browser_errors.csp_violations(), "the blocked inline script is reported as a CSP violation"
    browser_errors.clear()

    token = page.evaluate("localStorage.getItem('todo.token')")
    assert token and not [u for u in urls if token in u], "the token never appears in a URL"
    assert stream_headers and stream_headers[0].get("authorization") == f"Bearer {token}"
    origin = urlparse(server.url).netloc
    assert {urlparse(u).netloc for u in urls if u.startswith("http")} == {origin}, urls

    # The API reference is served by the server too: nothing from elsewhere.
    urls.clear()
    page.goto("/docs")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("/api/v1/tasks").first).to_be_visible()
    assert {urlparse(u).netloc for u in urls if u.startswith("http")} == {origin}, urls
    browser_errors.assert_none()


def test_signing_out_ends_the_session_in_every_tab(new_page, server, browser_errors):
    first = new_page(base_url=server.url)
    sign_up(first)
    second = first.context.new_page()  # same browser: shared storage
    second.goto("/")
    expect(second.get_by_role("button", name="Sign out")).to_be_visible()
    first.get_by_role("button", name="Sign out").click()
    expect(first.get_by_role("button", name="Sign in")).to_be_visible()
    expect(second.get_by_role("button", name="Sign in")).to_be_visible()
    browser_errors.assert_none()
