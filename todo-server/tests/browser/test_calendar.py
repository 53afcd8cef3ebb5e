"""The calendar feed in the Settings dialog (SPEC §14): a button creates the secret URL, shown
read-only with a Copy button; a new URL, after a confirmation, replaces the old one."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from ui import PASSWORD, sign_up

FEED_URL = re.compile(r"/ical/[A-Za-z0-9_-]{43}\.ics$")


def test_settings_create_a_calendar_feed_url_and_a_new_one_replaces_it(page, server, browser_errors):
    email = sign_up(page)
    token = server.api("POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json["token"]
    created = server.api("POST", "/api/v1/tasks", token=token,
                         json={"title": "Dentist", "due_date": "2027-04-02T07:15:00Z"})
    assert created.status == 201, created.text

    page.get_by_role("button", name="Settings").click()
    dialog = page.get_by_role("dialog", name="Settings")
    feed = dialog.get_by_label("Feed URL")
    copy = dialog.get_by_role("button", name="Copy")
    expect(copy).to_be_disabled()
    dialog.get_by_role("button", name="Create feed URL").click()
    expect(feed).to_have_value(FEED_URL)
    expect(copy).to_be_enabled()
    first = feed.input_value()
    served = server.api("GET", first.removeprefix(server.url))
    assert served.status == 200 and "SUMMARY:Dentist" in served.text, served.text

    page.once("dialog", lambda confirm: confirm.accept())
    dialog.get_by_role("button", name="Create a new feed URL").click()
    expect(feed).not_to_have_value(first)
    expect(feed).to_have_value(FEED_URL)
    assert server.api("GET", first.removeprefix(server.url)).status == 404
    browser_errors.assert_none()
