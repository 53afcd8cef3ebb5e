"""The assistant (SPEC §12) and the time zone setting (§14) through the UI: what is said in the chat
panel changes the list (through the live stream), replies show their tasks, "it" is the task last
talked about, an unavailable assistant is said politely and the message is kept, and the account
takes the browser's zone at sign-up."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from ui import PASSWORD, assistant, open_assistant, picture, say, sign_up, task_item, task_list


def token_of(server, email: str) -> str:
    return server.api("POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json["token"]


def only_refused_requests(errors, statuses=("4", "5")) -> None:
    """No script error, and no console error but the browser's log of answers with these statuses."""
    assert not errors.page, errors.page
    refused = tuple(f"the server responded with a status of {s}" for s in statuses)
    unexpected = [m for m in errors.console if not any(r in m for r in refused)]
    assert not unexpected, unexpected


def test_a_task_said_to_the_assistant_appears_in_the_list_and_opens_for_editing(page, server, browser_errors):
    sign_up(page)
    opener = page.get_by_role("button", name="Assistant")
    expect(opener).to_have_attribute("aria-expanded", "false")
    # By keyboard: the button opens the panel with the message box focused.
    opener.focus()
    page.keyboard.press("Enter")
    panel = assistant(page)
    expect(panel).to_be_visible()
    expect(opener).to_have_attribute("aria-expanded", "true")
    box = panel.get_by_label("Message", exact=True)
    expect(box).to_be_focused()

    answer = say(page, "Pay rent every month on the 1st at 9am !high #home")
    expect(answer).to_contain_text('Added "Pay rent"')
    log = panel.get_by_role("log", name="Conversation")
    expect(log.locator(".msg.user")).to_have_text(re.compile("Pay rent every month on the 1st at 9am !high #home"))
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    # The reply shows the task: title, priority, due date at 09:00 in the browser's zone (London).
    shown = answer.get_by_role("button", name=re.compile("Pay rent"))
    expect(shown).to_contain_text("High")
    expect(shown.locator("time")).to_contain_text(re.compile(r"\b9:00"))
    expect(shown.locator("time")).to_contain_text(re.compile(r"\b1 \w{3}|\w{3} 1\b"))

    # The list has it without a reload: the live stream brought it.
    item = task_item(page, "Pay rent")
    expect(item).to_be_visible()
    expect(item.get_by_text("High", exact=True)).to_be_visible()
    expect(item.get_by_text("#home")).to_be_visible()
    expect(item.get_by_text("Every month on the 1st at 09:00")).to_be_visible()

    # A task of a reply opens in the edit dialog; closing it returns to the reply.
    shown.click()
    dialog = page.get_by_role("dialog", name="Edit task")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Title")).to_have_value("Pay rent")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(shown).to_be_focused()

    # Escape closes the panel and focus returns to its button; the conversation is kept.
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(opener).to_be_focused()
    expect(opener).to_have_attribute("aria-expanded", "false")
    opener.click()
    expect(log.locator(".msg.user")).to_have_count(1)
    panel.get_by_role("button", name="Close").click()
    expect(panel).to_be_hidden()
    browser_errors.assert_none()


def test_lists_show_their_tasks_and_complete_it_completes_the_task_last_talked_about(page, server, browser_errors,
                                                                                     screenshot, assert_no_serious_a11y_violations):
    sign_up(page)
    open_assistant(page)
    expect(say(page, "Water the plants today 11pm #home")).to_contain_text('Added "Water the plants"')
    expect(say(page, "Renew passport in 2 weeks !low")).to_contain_text('Added "Renew passport"')
    expect(say(page, "Call mum today 10pm !high #family")).to_contain_text('Added "Call mum"')
    expect(task_list(page).get_by_role("listitem")).to_have_count(3)

    # "What is due this week": the two tasks due today, not the one in two weeks.
    answer = say(page, "what is due this week")
    expect(answer).to_contain_text("2 tasks")
    listed = answer.get_by_role("listitem")
    expect(listed).to_have_count(2)
    expect(listed.filter(has_text="Call mum")).to_contain_text("High")
    expect(listed.filter(has_text="Water the plants")).to_contain_text("Medium")
    expect(listed.filter(has_text="Renew passport")).to_have_count(0)

    # "It" is Call mum, the task last named on its own (a list of several names none).
    answer = say(page, "complete it")
    expect(answer).to_contain_text('Completed "Call mum"')
    expect(answer.get_by_role("button", name=re.compile("Call mum"))).to_contain_text("Done")
    expect(task_item(page, "Call mum").get_by_role("checkbox", name="Done")).to_be_checked()
    expect(task_item(page, "Water the plants").get_by_role("checkbox", name="Done")).not_to_be_checked()
    assert_no_serious_a11y_violations(page)
    picture(page, screenshot, "chat", full_page=False)

    expect(say(page, "help")).to_contain_text("what is due this week")

    # Moving and deleting by name and by "it".
    expect(say(page, "move water the plants to friday")).to_contain_text('Moved "Water the plants" to Fri')
    expect(say(page, "delete it")).to_contain_text('Deleted "Water the plants"')
    expect(task_item(page, "Water the plants")).to_have_count(0)
    expect(task_list(page).get_by_role("listitem")).to_have_count(2)
    browser_errors.assert_none()


def test_an_unavailable_assistant_is_said_politely_and_the_message_is_kept(page, server, browser_errors):
    sign_up(page)
    panel = open_assistant(page)
    box = panel.get_by_label("Message", exact=True)
    send = panel.get_by_role("button", name="Send")

    # Nothing typed: said beside the box, nothing sent.
    send.click()
    expect(panel.locator("#chat-input-error")).to_contain_text("Type a message")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_be_focused()

    # The assistant's service is down (the API answers 503): said in the conversation, text kept.
    def unavailable(route):
        route.fulfill(status=503, content_type="application/json",
                      body=json.dumps({"error": {"code": "unavailable", "message": "the assistant is unavailable"}}))

    page.route("**/api/v1/chat", unavailable)
    answer = say(page, "buy milk tomorrow #errands")
    expect(answer).to_contain_text("not available right now")
    expect(panel.get_by_role("log", name="Conversation").locator(".msg.user")).to_contain_text("Not sent")
    expect(box).to_have_value("buy milk tomorrow #errands")
    expect(box).not_to_have_attribute("aria-invalid", "true")
    expect(send).to_be_enabled()
    expect(task_list(page).get_by_role("listitem")).to_have_count(0)

    # A message the API refuses (422) is said beside the box.
    page.unroute("**/api/v1/chat")
    page.route("**/api/v1/chat", lambda route: route.fulfill(
        status=422, content_type="application/json",
        body=json.dumps({"error": {"code": "invalid", "message": "message: must be at most 500 characters"}})))
    box.press("Enter")
    expect(panel.locator("#chat-input-error")).to_contain_text("at most 500 characters")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_value("buy milk tomorrow #errands")

    # Back again: the kept message is sent as it is.
    page.unroute("**/api/v1/chat")
    box.press("Enter")
    expect(panel.get_by_role("log", name="Conversation").locator(".msg.assistant").last).to_contain_text('Added "buy milk"')
    expect(box).to_have_value("")
    expect(box).not_to_have_attribute("aria-invalid", "true")
    expect(task_item(page, "buy milk")).to_be_visible()
    only_refused_requests(browser_errors)


def test_the_assistant_works_on_a_phone(new_page, server, browser_errors, screenshot):
    page = new_page(base_url=server.url, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    sign_up(page)
    panel = open_assistant(page)
    say(page, "Call the plumber about the leaking kitchen tap tomorrow 8am !high #home")
    say(page, "what is due tomorrow")
    box = panel.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    send = panel.get_by_role("button", name="Send").bounding_box()
    assert send and send["x"] + send["width"] <= 360 and send["y"] + send["height"] <= 740, send
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page scrolls sideways at 360 px ({width} px wide)"
    picture(page, screenshot, "chat-phone", full_page=False)
    panel.get_by_role("button", name="Close").click()
    expect(task_item(page, "Call the plumber about the leaking kitchen tap")).to_be_visible()
    browser_errors.assert_none()


def test_a_new_account_takes_the_browsers_time_zone_and_settings_change_it(new_page, server, browser_errors):
    page = new_page(base_url=server.url, timezone_id="Europe/Paris")
    email = sign_up(page)
    token = token_of(server, email)
    settings = server.api("GET", "/api/v1/me/settings", token=token)
    assert settings.status == 200, settings.text
    assert settings.json["timezone"] == "Europe/Paris"

    # The assistant reads "9am" in that zone: the reply shows 9:00 in the browser's (Paris) time.
    open_assistant(page)
    answer = say(page, "dentist tomorrow 9am")
    expect(answer.locator("time")).to_contain_text(re.compile(r"\b9:00"))
    assistant(page).get_by_role("button", name="Close").click()

    opener = page.get_by_role("button", name="Settings")
    opener.click()
    dialog = page.get_by_role("dialog", name="Settings")
    zone = dialog.get_by_label("Time zone")
    expect(zone).to_have_value("Europe/Paris")
    expect(zone).to_be_focused()
    expect(dialog).to_contain_text("This browser is in Europe/Paris")
    zone.select_option("America/New_York")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    assert server.api("GET", "/api/v1/me/settings", token=token).json["timezone"] == "America/New_York"
    expect(page.get_by_role("status").filter(has_text="Time zone set to America/New_York")).to_be_visible()

    # A zone the server does not know: its message beside the field, nothing changed.
    opener.click()
    expect(zone).to_have_value("America/New_York")
    zone.evaluate("""s => { s.append(new Option("Mars/Olympus_Mons", "Mars/Olympus_Mons")); }""")
    zone.select_option("Mars/Olympus_Mons")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.locator("#settings-timezone-error")).not_to_be_empty()
    expect(zone).to_have_attribute("aria-invalid", "true")
    expect(dialog).to_be_visible()
    assert server.api("GET", "/api/v1/me/settings", token=token).json["timezone"] == "America/New_York"

    # The browser's zone is one press away.
    dialog.get_by_role("button", name="Use this browser’s zone").click()
    expect(zone).to_have_value("Europe/Paris")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    assert server.api("GET", "/api/v1/me/settings", token=token).json["timezone"] == "Europe/Paris"
    only_refused_requests(browser_errors, statuses=("422",))


def test_the_open_assistant_and_settings_have_no_serious_accessibility_violations(page, server, browser_errors,
                                                                                   assert_no_serious_a11y_violations):
    sign_up(page)
    panel = open_assistant(page)
    assert_no_serious_a11y_violations(page)
    say(page, "Pay rent every month on the 1st at 9am !high #home")
    say(page, "Buy milk #errands")
    say(page, "what is due this month")
    say(page, "complete pay rent")
    assert_no_serious_a11y_violations(page)
    panel.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Settings").click()
    expect(page.get_by_role("dialog", name="Settings")).to_be_visible()
    assert_no_serious_a11y_violations(page)
    browser_errors.assert_none()
