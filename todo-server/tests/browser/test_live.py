"""Live: what one tab or client changes appears in every open tab (SSE); a reminder raises a browser
notification and lands in the inbox."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from ui import PASSWORD, add_task, sign_in, sign_up, task_item, task_list

# Records every browser notification the page raises (the real one would pop up on a desktop).
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notifications = [];
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notifications.push({ title, body: options?.body ?? "" });
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...a) => Real.requestPermission(...a);
  window.Notification = Recorded;
})();
"""


def test_changes_in_one_tab_or_client_appear_in_every_open_tab(new_page, server, browser_errors):
    first = new_page(base_url=server.url)
    email = sign_up(first)
    second = new_page(base_url=server.url)  # another browser: its own storage
    sign_in(second, email)
    token = server.api("POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json["token"]

    started = time.monotonic()
    add_task(first, "Made in the first tab", priority="High")
    expect(task_item(second, "Made in the first tab")).to_be_visible(timeout=2_000)
    print(f"first tab -> second tab: {time.monotonic() - started:.3f} s")

    # Another client through the REST API: create, change, complete, delete.
    made = server.api("POST", "/api/v1/tasks", token=token, json={"title": "Made by a script"}).json
    for page in (first, second):
        expect(task_item(page, "Made by a script")).to_be_visible(timeout=2_000)
    server.api("PATCH", f"/api/v1/tasks/{made['id']}", token=token, json={"priority": "low"})
    for page in (first, second):
        expect(task_item(page, "Made by a script").get_by_text("Low", exact=True)).to_be_visible(timeout=2_000)
    server.api("POST", f"/api/v1/tasks/{made['id']}/complete", token=token)
    for page in (first, second):
        expect(task_item(page, "Made by a script").get_by_role("checkbox", name="Done")).to_be_checked(timeout=2_000)
    server.api("DELETE", f"/api/v1/tasks/{made['id']}", token=token)
    for page in (first, second):
        expect(task_item(page, "Made by a script")).to_have_count(0, timeout=2_000)

    # The second tab completes; the first sees it.
    task_item(second, "Made in the first tab").get_by_role("checkbox", name="Done").check()
    expect(task_item(first, "Made in the first tab").get_by_role("checkbox", name="Done")).to_be_checked(timeout=2_000)

    # Another user's changes never show.
    stranger, _ = server.signup()
    server.api("POST", "/api/v1/tasks", token=stranger, json={"title": "Not yours"})
    first.wait_for_timeout(1_000)
    expect(task_item(first, "Not yours")).to_have_count(0)
    browser_errors.assert_none()


def test_the_stream_reconnects_after_the_server_restarts(new_page, server, browser_errors):
    page = new_page(base_url=server.url)
    email = sign_up(page)
    expect(page.locator("body[data-stream=live]")).to_have_count(1)
    server.restart()
    token = server.api("POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json["token"]
    server.api("POST", "/api/v1/tasks", token=token, json={"title": "Made after the restart"})
    # The connection drops, the page reconnects (backoff under 2 s at first) and catches up.
    expect(task_item(page, "Made after the restart")).to_be_visible(timeout=10_000)
    expect(page.locator("body[data-stream=live]")).to_have_count(1)
    assert not browser_errors.page, browser_errors.page
    browser_errors.clear()  # the dropped stream and the refused reconnection are logged by the browser


def test_a_reminder_raises_a_browser_notification_and_lands_in_the_inbox(new_page, server, browser_errors, screenshot):
    page = new_page(base_url=server.url)
    page.add_init_script(RECORD_NOTIFICATIONS)
    sign_up(page)
    # Permission is granted: no button asks for it.
    expect(page.get_by_role("button", name="Enable browser notifications")).to_be_hidden()
    inbox = page.get_by_role("button", name="Notifications")
    expect(inbox).to_contain_text("0")

    # Due in three minutes with a ten-minute reminder: the reminder time has passed while the due
    # date is ahead, so it fires at once (SPEC §3).
    due = (datetime.now(timezone.utc) + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M")
    add_task(page, "Take the bins out", timezone="UTC", due=due, remind="10")
    expect(inbox).to_contain_text("1", timeout=10_000)
    notes = page.evaluate("window.__notifications")
    assert [n["title"] for n in notes] == ["Reminder: Take the bins out"], notes
    assert notes[0]["body"].startswith("Due "), notes
    expect(page.get_by_role("status").filter(has_text="Reminder: Take the bins out")).to_be_visible()

    inbox.click()
    dialog = page.get_by_role("dialog", name="Notifications")
    expect(dialog.get_by_role("listitem").filter(has_text="Take the bins out")).to_have_count(1)
    expect(dialog.get_by_text("New")).to_be_visible()
    screenshot(page, "inbox")
    dialog.get_by_role("button", name="Close").click()
    expect(inbox).to_contain_text("0")
    # Read stays read after a reload.
    page.reload()
    expect(page.get_by_role("button", name="Notifications")).to_contain_text("0")
    browser_errors.assert_none()
