"""The calendar feed (SPEC §14) read by an independent RFC 5545 parser (`icalendar`), and its RRULEs
expanded by python-dateutil: they must give exactly the occurrences our recurrence engine gives
(`GET /api/v1/recurrence/preview`), across the spring-forward and fall-back changes of Europe/Paris."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from itertools import islice

import icalendar
import pytest
from dateutil.rrule import rrulestr

from todo_server import TodoServer

ZONE = "Europe/Paris"
COUNT = 12

# (title, due as UTC RFC 3339, recurrence as the task takes it, the preview's rrule parameter)
SERIES = [
    # 09:00 every Sunday from a week before the last Sunday of March 2027 (CET -> CEST on Mar 28).
    ("Weekly review", "2027-03-21T08:00:00Z", "weekly", "weekly"),
    # 02:30 every day across Mar 28, when 02:00-03:00 does not exist, and Oct 31, when it happens twice.
    ("Night backup", "2027-03-25T01:30:00Z", "daily", "daily"),
    ("Autumn backup", "2027-10-28T00:30:00Z", "daily", "daily"),
    # The monthly preset on the 31st clamps to short months' last day and returns.
    ("Rent", "2027-01-31T17:00:00Z", "monthly", "monthly"),
    # A custom rule: the last day of each month, 18:00.
    ("Invoices", "2027-01-31T17:00:00Z", {"rrule": "FREQ=MONTHLY;BYMONTHDAY=-1"}, "FREQ=MONTHLY;BYMONTHDAY=-1"),
    # Every other Monday and Wednesday at 09:00, six times, across the March change.
    ("Gym", "2027-03-15T08:00:00Z", {"rrule": "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=6"},
     "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=6"),
]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def fetch_feed(url: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@pytest.fixture
def server(server_bin, tmp_path):
    running = TodoServer(server_bin, tmp_path).start()
    yield running
    running.stop()


def test_calendar_feed_rrules_expand_to_the_engines_occurrences_across_dst(server):
    token = server.signup("ada@example.com")
    assert server.api("PATCH", "/api/v1/me/settings", token, json={"timezone": ZONE}).status == 200
    uids = {}
    for title, due, recurrence, _ in SERIES:
        created = server.api("POST", "/api/v1/tasks", token, json={
            "title": title, "due_date": due, "timezone": ZONE, "recurrence": recurrence,
            "remind_before": 30,
        })
        assert created.status == 201, created
        uids[title] = f"series-{created.body['series_id']}@todo"
    # A dated one-off and an undated task: one event without RRULE, and nothing.
    assert server.api("POST", "/api/v1/tasks", token, json={
        "title": "Dentist; bring forms, ID", "due_date": "2027-04-02T07:15:00Z", "timezone": ZONE,
    }).status == 201
    assert server.api("POST", "/api/v1/tasks", token, json={"title": "Someday"}).status == 201

    issued = server.api("POST", "/api/v1/calendar/feed", token)
    assert issued.status == 201, issued
    url = issued.body["url"]
    assert url.startswith(server.url + "/ical/") and url.endswith(".ics")
    status, headers, raw = fetch_feed(url)  # no bearer token
    assert status == 200
    assert headers["Content-Type"].startswith("text/calendar")

    calendar = icalendar.Calendar.from_ical(raw)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert len(events) == len(SERIES) + 1, list(events)

    for title, due, _, preview_rule in SERIES:
        event = events[uids[title]]
        assert str(event["SUMMARY"]) == title
        start = event.decoded("DTSTART")
        assert start.tzinfo is not None and str(event["DTSTART"].params["TZID"]) == ZONE
        assert start.astimezone(timezone.utc) == utc(due), title
        alarm = event.walk("VALARM")[0]
        assert alarm.decoded("TRIGGER") == -timedelta(minutes=30)

        rule_text = event["RRULE"].to_ical().decode()
        theirs = [at.astimezone(timezone.utc) for at in islice(rrulestr(rule_text, dtstart=start), COUNT)]

        query = urllib.parse.urlencode({"rrule": preview_rule, "due": due, "timezone": ZONE, "count": COUNT})
        preview = server.api("GET", f"/api/v1/recurrence/preview?{query}", token)
        assert preview.status == 200, preview
        ours = [utc(at) for at in preview.body["occurrences"]]
        assert theirs == ours, f"{title}: RRULE:{rule_text}\n dateutil {theirs}\n engine   {ours}"

    one_off = next(e for e in events.values() if "RRULE" not in e)
    assert str(one_off["SUMMARY"]) == "Dentist; bring forms, ID"
    assert one_off.decoded("DTSTART").astimezone(timezone.utc) == utc("2027-04-02T07:15:00Z")


def test_calendar_feed_etag_and_revocation(server):
    token = server.signup("bob@example.com")
    assert server.api("POST", "/api/v1/tasks", token, json={
        "title": "Call mum", "due_date": "2027-05-01T10:00:00Z"}).status == 201
    old = server.api("POST", "/api/v1/calendar/feed", token).body["url"]
    status, headers, _ = fetch_feed(old)
    assert status == 200
    status, _, _ = fetch_feed(old, {"If-None-Match": headers["ETag"]})
    assert status == 304
    new = server.api("POST", "/api/v1/calendar/feed", token).body["url"]
    assert fetch_feed(old)[0] == 404
    assert fetch_feed(new)[0] == 200


def test_after_completions_the_feed_rule_continues_the_series_from_its_pending_occurrence(server):
    """Completed occurrences leave the feed; the pending one is DTSTART (02:30 even on the day the gap
    moves it to 03:30), and its RRULE still gives the series' rest, COUNT included."""
    token = server.signup("carol@example.com")
    for title, due, recurrence, preview_rule in SERIES:
        created = server.api("POST", "/api/v1/tasks", token, json={
            "title": title, "due_date": due, "timezone": ZONE, "recurrence": recurrence})
        assert created.status == 201, created
        task, completions = created.body, 3
        for _ in range(completions):
            done = server.api("POST", f"/api/v1/tasks/{task['id']}/complete", token)
            assert done.status == 200, done
            task = done.body["next"]
        query = urllib.parse.urlencode(
            {"rrule": preview_rule, "due": due, "timezone": ZONE, "count": completions + COUNT})
        series = [utc(at) for at in server.api("GET", f"/api/v1/recurrence/preview?{query}", token).body["occurrences"]]
        assert utc(task["due_date"]) == series[completions], title

    url = server.api("POST", "/api/v1/calendar/feed", token).body["url"]
    status, _, raw = fetch_feed(url)
    assert status == 200
    events = list(icalendar.Calendar.from_ical(raw).walk("VEVENT"))
    assert len(events) == len(SERIES), "one event per series: completed occurrences are not in the feed"
    for title, due, _, preview_rule in SERIES:
        event = next(e for e in events if str(e["SUMMARY"]) == title)
        start = event.decoded("DTSTART")
        rule_text = event["RRULE"].to_ical().decode()
        theirs = [at.astimezone(timezone.utc) for at in islice(rrulestr(rule_text, dtstart=start), COUNT)]
        query = urllib.parse.urlencode(
            {"rrule": preview_rule, "due": due, "timezone": ZONE, "count": 3 + COUNT})
        series = [utc(at) for at in server.api("GET", f"/api/v1/recurrence/preview?{query}", token).body["occurrences"]]
        assert theirs == series[3:3 + COUNT], f"{title}: DTSTART {start} RRULE:{rule_text}\n {theirs}\n {series[3:]}"
