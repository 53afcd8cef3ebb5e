"""A new user's first session through a Python client that openapi-python-client generated from the
live /openapi.json: sign up, create a task with a preset recurrence and one with an RRULE, list,
complete (the answer carries the next occurrence), update. The run script generates the client into
a temporary directory (TODO_CONTRACT_CLIENT_DIR) and starts the server (TODO_CONTRACT_URL)."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

sys.path.insert(0, os.environ["TODO_CONTRACT_CLIENT_DIR"])

from todo_client import AuthenticatedClient, Client  # noqa: E402
from todo_client.api.auth import signup  # noqa: E402
from todo_client.api.tasks import complete_task, create_task, list_tasks, update_task  # noqa: E402
from todo_client.models import (  # noqa: E402
    AuthResponse,
    CompletionDto,
    ListTasksSort,
    ListTasksStatus,
    Priority,
    RecurrencePreset,
    RecurrenceRule,
    RecurrenceRuleAnchor,
    SignupRequest,
    TaskDto,
    TaskInput,
    TaskPageDto,
    TaskPatchInput,
)

URL = os.environ["TODO_CONTRACT_URL"]


@pytest.fixture(scope="module")
def client() -> AuthenticatedClient:
    email = f"py-{uuid.uuid4().hex[:12]}@example.com"
    with Client(base_url=URL) as anonymous:
        answer = signup.sync_detailed(client=anonymous, body=SignupRequest(email=email, password="a good password"))
    assert answer.status_code == 201, answer.content
    assert isinstance(answer.parsed, AuthResponse)
    assert answer.parsed.user.email == email
    return AuthenticatedClient(base_url=URL, token=answer.parsed.token, raise_on_unexpected_status=True)


def test_a_generated_python_client_creates_lists_completes_and_updates_tasks(client: AuthenticatedClient) -> None:
    weekly = create_task.sync(
        client=client,
        body=TaskInput(
            title="Water the plants",
            priority=Priority.HIGH,
            tags=["home"],
            due_date="2030-01-07T09:00:00Z",
            timezone="Europe/London",
            recurrence=RecurrencePreset.WEEKLY,
        ),
    )
    assert isinstance(weekly, TaskDto), weekly
    assert weekly.recurrence == "weekly"
    assert weekly.priority == Priority.HIGH

    ruled = create_task.sync(
        client=client,
        body=TaskInput(
            title="Team sync",
            due_date="2030-01-07T10:00:00Z",
            recurrence=RecurrenceRule(rrule="FREQ=WEEKLY;BYDAY=MO,WE", anchor=RecurrenceRuleAnchor.DUE),
        ),
    )
    assert isinstance(ruled, TaskDto), ruled
    assert ruled.recurrence.rrule == "FREQ=WEEKLY;BYDAY=MO,WE"

    # Only a title is required; priority and recurrence may be left out.
    plain = create_task.sync(client=client, body=TaskInput(title="Call mum"))
    assert isinstance(plain, TaskDto), plain
    assert plain.recurrence is None

    page = list_tasks.sync(client=client, status=ListTasksStatus.PENDING, sort=ListTasksSort.TITLE)
    assert isinstance(page, TaskPageDto), page
    assert [t.title for t in page.items] == ["Call mum", "Team sync", "Water the plants"]

    done = complete_task.sync(client=client, id=weekly.id)
    assert isinstance(done, CompletionDto), done
    assert done.task.status == "completed"
    # The generator spells the field `next` as `next_` (a Python builtin).
    assert done.next_ is not None, "a weekly task's completion answers its next occurrence"
    assert done.next_.due_date.isoformat().startswith("2030-01-14T09:00:00")

    changed = update_task.sync(
        client=client,
        id=ruled.id,
        body=TaskPatchInput(title="Team sync (moved)", priority=Priority.LOW, recurrence=RecurrencePreset.DAILY,
                            version=ruled.version),
    )
    assert isinstance(changed, TaskDto), changed
    assert (changed.title, changed.priority, changed.recurrence) == ("Team sync (moved)", Priority.LOW, "daily")
    assert changed.version == ruled.version + 1
