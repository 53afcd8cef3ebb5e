"""Reminders by email, received by a real SMTP server (aiosmtpd): one email per reminder, in the user's
time zone, with a text and an HTML part; and one email after the SMTP server was down when the
reminder fired and came back (the delivery is retried with backoff)."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from todo_server import TodoServer, free_port

WAIT_S = 60


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def wait_for(self, count: int, within: float = WAIT_S) -> list:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.1)
        with self.lock:
            raise AssertionError(f"{len(self.messages)} emails after {within} s, expected {count}")


def smtp_server(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def reminded_task(server: TodoServer, token: str, title: str, seconds: int) -> dict:
    """A task whose reminder (one minute before its due date) fires in `seconds` seconds."""
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=60 + seconds)
    created = server.api("POST", "/api/v1/tasks", token,
                         {"title": title, "due_date": iso(due), "remind_before": 1})
    assert created.status == 201, created
    return created.body


def start_server(server_bin: str, tmp_path: Path, smtp_port: int) -> TodoServer:
    return TodoServer(server_bin, tmp_path, env={
        "TODO_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "TODO_MAIL_FROM": "todo <reminders@todo.test>",
    }).start()


def test_a_reminder_arrives_once_as_an_email_in_the_users_time_zone(server_bin: str, tmp_path: Path):
    port = free_port()
    controller, inbox = smtp_server(port)
    server = start_server(server_bin, tmp_path, port)
    try:
        assert "reminders by email are on" in server.log()
        ada = server.signup("ada@example.com")
        bob = server.signup("bob@example.com")
        assert server.api("PATCH", "/api/v1/me/settings", ada, {"timezone": "Asia/Kolkata"}).status == 200
        assert server.api("PATCH", "/api/v1/me/settings", bob, {"email_notifications": False}).status == 200
        task = reminded_task(server, ada, "Pay rent <now> & then", 3)
        reminded_task(server, bob, "Bob's task, whose email is off", 3)

        [(sender, recipients, message)] = inbox.wait_for(1)
        assert sender == "reminders@todo.test"
        assert recipients == ["ada@example.com"]
        due = datetime.fromisoformat(task["due_date"].replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Kolkata"))
        assert message["Subject"] == f"Reminder: Pay rent <now> & then — due {due:%a} {due.day} {due:%b %H:%M}"
        assert message["Auto-Submitted"] == "auto-generated"
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert f"{due:%A} {due.day} {due:%B %Y at %H:%M} (Asia/Kolkata)" in text, text
        assert "Pay rent &lt;now&gt; &amp; then" in html, html

        # Bob turned email off; nothing more arrives for either of them.
        time.sleep(5)
        assert len(inbox.messages) == 1, [m[1] for m in inbox.messages]
        notifications = server.api("GET", "/api/v1/notifications", bob).body["items"]
        assert [n["title"] for n in notifications] == ["Bob's task, whose email is off"], "the inbox still has it"
    finally:
        server.stop()
        controller.stop()


def test_an_email_is_sent_once_the_smtp_server_is_back(server_bin: str, tmp_path: Path):
    port = free_port()  # nothing listens here yet
    server = start_server(server_bin, tmp_path, port)
    controller = None
    try:
        ada = server.signup("ada@example.com")
        reminded_task(server, ada, "Renew passport", 2)
        deadline = time.monotonic() + WAIT_S
        while "it will be retried" not in server.log():
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
        controller, inbox = smtp_server(port)
        [(_, recipients, message)] = inbox.wait_for(1)
        assert recipients == ["ada@example.com"]
        assert message["Subject"].startswith("Reminder: Renew passport — due ")
        time.sleep(3)
        assert len(inbox.messages) == 1
    finally:
        server.stop()
        if controller is not None:
            controller.stop()
