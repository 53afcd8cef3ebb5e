"""Steps of the browser tests, as a person does them: by the accessible names of SPEC §11."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

PASSWORD = "a long password"


def fresh_email() -> str:
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def sign_up(page: Page, email: str | None = None, password: str = PASSWORD) -> str:
    """Signs up through the form; returns the email."""
    email = email or fresh_email()
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return email


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def new_task_form(page: Page):
    return page.get_by_role("form", name="New task")


def add_task(page: Page, title: str, *, description: str | None = None, tags: str | None = None,
             priority: str | None = None, due: str | None = None, timezone: str | None = None,
             remind: str | None = None, repeat: str | None = None, rrule: str | None = None) -> None:
    """Fills the New task form (only the given fields) and presses Add task."""
    form = new_task_form(page)
    form.get_by_label("Title").fill(title)
    if description is not None:
        form.get_by_label("Description").fill(description)
    if tags is not None:
        form.get_by_label("Tags").fill(tags)
    if priority is not None:
        form.get_by_label("Priority").select_option(label=priority)
    if timezone is not None:
        form.get_by_label("Time zone").select_option(timezone)
    if due is not None:
        form.get_by_label("Due").fill(due)
    if remind is not None:
        form.get_by_label("Remind before (minutes)").fill(remind)
    if repeat is not None:
        form.get_by_label("Repeat").select_option(label=repeat)
    if rrule is not None:
        form.get_by_label("RRULE").fill(rrule)
    button = form.get_by_role("button", name="Add task")
    button.click()
    expect(button).to_be_enabled()  # the answer has arrived (the button is disabled while it is sent)


def task_list(page: Page):
    return page.get_by_role("list", name="Tasks")


def task_item(page: Page, title: str):
    """The list item whose title is exactly `title`."""
    return task_list(page).get_by_role("listitem").filter(has=page.get_by_text(title, exact=True))


def titles(page: Page) -> list[str]:
    return task_list(page).locator(".title").all_inner_texts()


def assert_only_refused_requests(errors) -> None:
    """No script error and no console error but the browser's own log of requests the API refused
    (a test of bad input expects those)."""
    assert not errors.page, errors.page
    unexpected = [m for m in errors.console if "the server responded with a status of 4" not in m]
    assert not unexpected, unexpected


def picture(page: Page, screenshot, name: str, **options) -> None:
    """A screenshot for the docs: without the passing messages ("Added …") over the content."""
    page.evaluate("document.getElementById('toasts').replaceChildren()")
    screenshot(page, name, **options)


def assistant(page: Page):
    """The assistant's panel (open it with the header's "Assistant" button)."""
    return page.get_by_role("dialog", name="Assistant")


def open_assistant(page: Page):
    """Opens the assistant; returns its panel, the message box focused."""
    page.get_by_role("button", name="Assistant").click()
    panel = assistant(page)
    expect(panel.get_by_label("Message", exact=True)).to_be_focused()
    return panel


def say(page: Page, message: str):
    """Sends `message` to the open assistant with Enter; returns the answer (a reply or a notice)."""
    panel = assistant(page)
    answers = panel.get_by_role("log", name="Conversation").locator(".msg.assistant, .msg.notice")
    before = answers.count()
    box = panel.get_by_label("Message", exact=True)
    box.fill(message)
    box.press("Enter")
    expect(answers).to_have_count(before + 1)
    expect(panel.get_by_role("button", name="Send")).to_be_enabled()
    return answers.last
