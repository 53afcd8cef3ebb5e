"""The seed's user scenarios through the UI: add with priority, tags, due date and recurrence; find,
filter and sort; complete, edit, delete; history. Every check goes through what a person sees."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from ui import PASSWORD, add_task, assert_only_refused_requests, new_task_form, sign_up, task_item, task_list, titles


def test_a_task_shows_its_badge_tags_due_date_in_its_zone_and_rule_in_words(page, server, browser_errors, screenshot):
    sign_up(page)
    add_task(page, "Pay rent", description="Flat 4", tags="home, Bills", priority="High",
             timezone="America/New_York", due="2030-01-07T09:00", repeat="Weekly")
    item = task_item(page, "Pay rent")
    expect(item).to_be_visible()
    badge = item.get_by_text("High", exact=True)
    expect(badge).to_be_visible()
    # High is red: a red background with white text.
    assert badge.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(185, 28, 28)"
    expect(item.get_by_text("#home")).to_be_visible()
    expect(item.get_by_text("#bills")).to_be_visible()  # tags are normalised by the server
    # The due date in the task's zone (09:00 New York), not the browser's (London: 14:00).
    expect(item.locator("time")).to_contain_text("9:00")
    expect(item.locator("time")).to_contain_text(re.compile(r"7 Jan|Jan 7"))
    expect(item.get_by_text("Every week on Monday at 09:00")).to_be_visible()
    expect(item.get_by_role("checkbox", name="Done")).not_to_be_checked()
    # The form is empty again and ready for the next task.
    expect(new_task_form(page).get_by_label("Title")).to_be_focused()
    expect(new_task_form(page).get_by_label("Title")).to_have_value("")
    browser_errors.assert_none()


def test_the_recurrence_editor_previews_five_occurrences_from_the_servers_engine(page, server, browser_errors, screenshot):
    sign_up(page)
    form = new_task_form(page)
    form.get_by_label("Title").fill("Team sync")
    form.get_by_label("Time zone").select_option("Europe/London")
    # Weekly from the Monday before the clocks go forward: every occurrence stays 09:00 local.
    form.get_by_label("Due").fill("2027-03-22T09:00")
    form.get_by_label("Repeat").select_option(label="Weekly")
    preview = form.get_by_role("list").filter(has_text="2027")
    expect(preview.get_by_role("listitem")).to_have_count(5)
    texts = preview.get_by_role("listitem").all_inner_texts()
    assert all(re.search(r"\b9:00", t) for t in texts), texts
    assert [re.search(r"(\d+ \w{3}|\w{3} \d+)", t).group(1) for t in texts] in (
        ["22 Mar", "29 Mar", "5 Apr", "12 Apr", "19 Apr"], ["Mar 22", "Mar 29", "Apr 5", "Apr 12", "Apr 19"]), texts

    # A custom rule: the RRULE box appears, and the preview follows it.
    expect(form.get_by_label("RRULE")).to_be_hidden()
    form.get_by_label("Repeat").select_option(label="Custom")
    form.get_by_label("RRULE").fill("FREQ=MONTHLY;BYDAY=-1FR;COUNT=3")
    expect(preview.get_by_role("listitem")).to_have_count(3)
    assert all(t.startswith("Fri") for t in preview.get_by_role("listitem").all_inner_texts())
    screenshot(page, "recurrence-preview")

    # An invalid rule: the API's message beside the RRULE box, and nothing is created.
    form.get_by_label("RRULE").fill("FREQ=SOMETIMES")
    form.get_by_role("button", name="Add task").click()
    rrule = form.get_by_label("RRULE")
    expect(rrule).to_have_attribute("aria-invalid", "true")
    error = form.locator("#new-rrule-error")
    expect(error).to_contain_text(re.compile("FREQ|frequency|rule", re.I))
    expect(task_list(page).get_by_role("listitem")).to_have_count(0)
    assert_only_refused_requests(browser_errors)
    browser_errors.clear()

    form.get_by_label("RRULE").fill("FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2")
    form.get_by_role("button", name="Add task").click()
    expect(task_item(page, "Team sync").get_by_text("Every 2 weeks on Monday and Wednesday at 09:00")).to_be_visible()
    browser_errors.assert_none()


def test_bad_input_shows_the_apis_message_beside_the_field_and_changes_nothing(page, server, browser_errors):
    page.goto("/")
    page.get_by_label("Email").fill("not an email")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#auth-email-error")).not_to_be_empty()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Email").fill("someone@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#auth-password-error")).to_contain_text("8 to 128")
    page.get_by_label("Password").fill("a long password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert").filter(has_text=re.compile("."))).to_be_visible()  # unknown account

    sign_up(page)
    form = new_task_form(page)
    add_task(page, "   ")
    expect(form.locator("#new-title-error")).to_contain_text("must not be empty")
    expect(form.get_by_label("Title")).to_be_focused()
    add_task(page, "x" * 201)
    expect(form.locator("#new-title-error")).to_contain_text("200")
    add_task(page, "Valid title", tags="ok, " + "t" * 41)
    expect(form.locator("#new-tags-error")).not_to_be_empty()
    add_task(page, "Valid title", tags="", remind="-5", due="2030-01-01T10:00")
    expect(form.locator("#new-remind-error")).not_to_be_empty()
    expect(task_list(page).get_by_role("listitem")).to_have_count(0)
    # An error goes away once the field is right.
    add_task(page, "Valid title", remind="30")
    expect(task_item(page, "Valid title")).to_be_visible()
    expect(form.locator("#new-remind-error")).to_be_empty()
    assert_only_refused_requests(browser_errors)


def seed(server, token: str, tasks: list[dict]) -> None:
    for body in tasks:
        answer = server.api("POST", "/api/v1/tasks", token=token, json=body)
        assert answer.status == 201, answer.text


def test_search_filters_sort_buttons_and_load_more(page, server, browser_errors, screenshot):
    email = sign_up(page)
    token = server.api("POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json["token"]
    priorities = ["high", "medium", "low"]
    seed(server, token, [
        {"title": f"Task {n:02d}", "priority": priorities[n % 3], "tags": ["work"] if n % 2 else ["home"],
         "due_date": f"2030-02-{(n % 28) + 1:02d}T09:00:00Z"}
        for n in range(58)
    ] + [
        {"title": "Buy groceries", "description": "milk and eggs", "priority": "high", "tags": ["errands"]},
        {"title": "Groceries list", "priority": "low", "tags": ["errands", "home"]},
    ])
    page.reload()
    items = task_list(page).get_by_role("listitem")
    expect(items).to_have_count(50)
    more = page.get_by_role("button", name="Load more")
    more.click()
    expect(items).to_have_count(60)
    expect(more).to_be_hidden()

    finder = page.get_by_role("search", name="Find tasks")
    finder.get_by_role("searchbox", name="Search").fill("groceries")
    expect(items).to_have_count(2)
    finder.get_by_role("searchbox", name="Search").fill("milk GROCERIES")
    expect(items).to_have_count(1)
    expect(task_item(page, "Buy groceries")).to_be_visible()
    finder.get_by_role("searchbox", name="Search").fill("")

    finder.get_by_role("combobox", name="Tag").select_option("errands")
    expect(items).to_have_count(2)
    finder.get_by_role("combobox", name="Priority").select_option(label="High")
    expect(items).to_have_count(1)
    finder.get_by_role("combobox", name="Tag").select_option(label="Any")
    expect(items).to_have_count(21)  # 20 seeded high + Buy groceries
    finder.get_by_role("combobox", name="Priority").select_option(label="Any")

    sort_title = finder.get_by_role("button", name="Title")
    sort_title.click()
    expect(sort_title).to_have_attribute("aria-pressed", "true")
    expect(items.first).to_contain_text("Buy groceries")
    sort_title.click()  # pressing the active sort flips the order
    expect(items.first).to_contain_text("Task 57")
    finder.get_by_role("button", name="Priority").click()
    expect(items.first.get_by_text("High", exact=True)).to_be_visible()
    finder.get_by_role("button", name="Due date").click()
    # Tasks without a due date come last.
    expect(items.first).to_contain_text("Task 00")  # due Feb 1, with Task 28 and 56: ties by id
    screenshot(page, "find-and-sort")

    # Status: complete one, then filter.
    finder.get_by_role("searchbox", name="Search").fill("buy")
    task_item(page, "Buy groceries").get_by_role("checkbox", name="Done").check()
    finder.get_by_role("searchbox", name="Search").fill("")
    finder.get_by_role("combobox", name="Status").select_option(label="Completed")
    expect(items).to_have_count(1)
    finder.get_by_role("combobox", name="Status").select_option(label="Pending")
    expect(items).to_have_count(50)
    browser_errors.assert_none()


def test_complete_edit_delete_and_history(page, server, browser_errors):
    sign_up(page)
    add_task(page, "Water plants", due="2030-03-04T08:30", repeat="Daily", priority="Low")
    add_task(page, "Call mum", tags="family")
    plants = task_item(page, "Water plants")
    expect(plants).to_be_visible()

    # Completing a recurring task: it is done, and the next occurrence is in the list.
    # click(), not check(): check() looks at the box again after the click, by when the next
    # occurrence may be listed too and the locator names two boxes. The lines below check the result.
    plants.get_by_role("checkbox", name="Done").click()
    expect(task_list(page).get_by_role("listitem").filter(has_text="Water plants")).to_have_count(2)
    done = task_list(page).get_by_role("listitem").filter(has=page.get_by_role("checkbox", name="Done", checked=True))
    expect(done).to_have_count(1)
    expect(task_list(page).get_by_role("listitem").filter(has_text=re.compile(r"5 Mar|Mar 5"))).to_have_count(1)

    # Edit: a changed title and priority show at once.
    task_item(page, "Call mum").get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog", name="Edit task")
    form = dialog.get_by_role("form", name="Edit task")
    expect(form.get_by_label("Title")).to_have_value("Call mum")
    expect(form.get_by_label("Tags")).to_have_value("family")
    form.get_by_label("Title").fill("Call mum on Sunday")
    form.get_by_label("Priority").select_option(label="High")
    form.get_by_label("Title").fill("")  # a bad edit is refused beside the field
    form.get_by_role("button", name="Save").click()
    expect(dialog.locator("#edit-title-error")).to_contain_text("must not be empty")
    form.get_by_label("Title").fill("Call mum on Sunday")
    form.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(task_item(page, "Call mum on Sunday").get_by_text("High", exact=True)).to_be_visible()

    # History: created, then updated with what changed.
    task_item(page, "Call mum on Sunday").get_by_role("button", name="History").click()
    history = page.get_by_role("dialog", name=re.compile("History"))
    expect(history.get_by_role("listitem").filter(has_text="created")).to_have_count(1)
    expect(history.get_by_text("title: Call mum → Call mum on Sunday")).to_be_visible()
    expect(history.get_by_text("priority: medium → high")).to_be_visible()
    history.get_by_role("button", name="Close").click()

    # Delete asks first; Cancel keeps the task, Delete removes it.
    task_item(page, "Call mum on Sunday").get_by_role("button", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete task?")
    expect(confirm).to_contain_text("Call mum on Sunday")
    confirm.get_by_role("button", name="Cancel").click()
    expect(task_item(page, "Call mum on Sunday")).to_be_visible()
    task_item(page, "Call mum on Sunday").get_by_role("button", name="Delete").click()
    confirm.get_by_role("button", name="Delete").click()
    expect(task_item(page, "Call mum on Sunday")).to_have_count(0)

    # Reopening a completed task.
    done.get_by_role("checkbox", name="Done").uncheck()
    expect(task_list(page).get_by_role("listitem").filter(has=page.get_by_role("checkbox", name="Done", checked=True))).to_have_count(0)
    assert_only_refused_requests(browser_errors)
