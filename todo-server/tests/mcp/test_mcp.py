"""The MCP server as the official Python SDK's client meets it: over Streamable HTTP at /mcp of a running
`todo-server all`, and over stdio (`todo-server mcp --stdio` with TODO_TOKEN). Every tool is called and
what it did is checked over the REST API; one user's token shows nothing of another's; no token is
refused."""

from __future__ import annotations

import asyncio
import subprocess
import urllib.error
import urllib.request

import pytest
from mcp import Client
from mcp.client.stdio import stdio_client

from todo_mcp import TodoServer

TOOLS = [
    "add_task",
    "list_tasks",
    "get_task",
    "update_task",
    "complete_task",
    "reopen_task",
    "delete_task",
    "list_tags",
    "quick_add",
]


def summary(result) -> str:
    return result.content[0].text


async def ok(client: Client, tool: str, arguments: dict) -> dict:
    """A successful call's structured content; its text is a one-line summary."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, f"{tool}: {summary(result)}"
    assert summary(result) and "\n" not in summary(result)
    return result.structured_content


async def exercise_every_tool(client: Client, server_api) -> None:
    """Calls the nine tools as an assistant would; `server_api(method, path)` checks them over REST."""
    listed = await client.list_tools()
    assert [t.name for t in listed.tools] == TOOLS
    for tool in listed.tools:
        assert tool.input_schema["type"] == "object", tool.name
        assert tool.description
    add = next(t for t in listed.tools if t.name == "add_task")
    assert add.input_schema["required"] == ["title"]

    result = await client.call_tool(
        "add_task",
        {"title": "Pay rent", "priority": "high", "tags": ["home"], "due_date": "2030-12-02T09:00:00Z",
         "recurrence": "monthly"},
    )
    assert not result.is_error, summary(result)
    task = result.structured_content
    assert summary(result) == f"Created task {task['id']}: Pay rent, due Mon 2 Dec 09:00"
    rest = server_api("GET", f"/api/v1/tasks/{task['id']}")
    assert rest.status == 200 and rest.body == task

    page = await ok(client, "list_tasks", {"status": "pending", "tags": "home"})
    assert page["items"] == [task]
    assert (await ok(client, "get_task", {"id": task["id"]})) == task

    updated = await ok(client, "update_task", {"id": task["id"], "description": "by the 2nd", "due_date": None})
    assert updated["description"] == "by the 2nd" and updated["due_date"] is None
    assert server_api("GET", f"/api/v1/tasks/{task['id']}").body == updated

    quick = await ok(client, "quick_add", {"text": "call mum"})
    assert server_api("GET", f"/api/v1/tasks/{quick['id']}").status == 200

    done = await ok(client, "complete_task", {"id": quick["id"]})
    assert done["task"]["status"] == "completed" and done["next"] is None
    assert server_api("GET", f"/api/v1/tasks/{quick['id']}").body["status"] == "completed"
    reopened = await ok(client, "reopen_task", {"id": quick["id"]})
    assert reopened["status"] == "pending"

    tags = await ok(client, "list_tags", {})
    assert tags == {"items": [{"tag": "home", "count": 1}]}

    deleted = await ok(client, "delete_task", {"id": quick["id"]})
    assert deleted == {"id": quick["id"], "deleted": True}
    assert server_api("GET", f"/api/v1/tasks/{quick['id']}").status == 404

    # A broken rule is a tool error carrying the API's message.
    bad = await client.call_tool("add_task", {"title": ""})
    assert bad.is_error
    rest_bad = server_api("POST", "/api/v1/tasks", {"title": ""})
    assert rest_bad.status == 422
    assert summary(bad) == rest_bad.body["error"]["message"]


def test_every_tool_over_streamable_http(server: TodoServer):
    token = server.signup("alice@example.com")

    async def main():
        async with server.http_client(token) as client:
            await exercise_every_tool(client, lambda m, p, j=None: server.api(m, p, token, j))

    asyncio.run(main())


def test_another_users_token_sees_nothing(server: TodoServer):
    alice = server.signup("alice@example.com")
    bob = server.signup("bob@example.com")
    task = server.api("POST", "/api/v1/tasks", alice, {"title": "Alice's secret", "tags": ["private"]}).body

    async def main():
        async with server.http_client(bob) as client:
            assert (await ok(client, "list_tasks", {"status": "all"}))["items"] == []
            assert (await ok(client, "list_tags", {}))["items"] == []
            for tool in ["get_task", "complete_task", "reopen_task", "delete_task"]:
                result = await client.call_tool(tool, {"id": task["id"]})
                assert result.is_error and summary(result) == "no such task", tool
            result = await client.call_tool("update_task", {"id": task["id"], "title": "mine"})
            assert result.is_error and summary(result) == "no such task"

    asyncio.run(main())
    assert server.api("GET", f"/api/v1/tasks/{task['id']}", alice).body == task


def test_no_token_is_refused(server: TodoServer):
    request = urllib.request.Request(
        f"{server.url}/mcp",
        data=b'{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    assert b'"unauthorized"' in refused.value.read()

    async def main():
        async with server.http_client(None) as client:
            await client.list_tools()

    with pytest.raises(BaseException):
        asyncio.run(main())
    with pytest.raises(BaseException):
        asyncio.run(_with_token(server, "not.a.token"))


async def _with_token(server: TodoServer, token: str):
    async with server.http_client(token) as client:
        await client.list_tools()


def test_every_tool_over_stdio(server: TodoServer):
    """The embedded default owns its data directory, so the stdio server runs while `all` is stopped,
    and `all` shows afterwards what the tools did."""
    alice = server.signup("alice@example.com")
    bob = server.signup("bob@example.com")
    server.stop()
    pending: dict = {}  # what the tools answered, compared over REST once `all` runs again

    async def main():
        async with Client(stdio_client(server.stdio_parameters(alice))) as client:
            listed = await client.list_tools()
            assert [t.name for t in listed.tools] == TOOLS
            task = await ok(client, "add_task", {"title": "Pay rent", "tags": ["home"], "recurrence": "weekly",
                                                 "due_date": "2030-12-02T09:00:00Z"})
            done = await ok(client, "complete_task", {"id": task["id"]})
            assert done["next"] is not None and done["next"]["title"] == "Pay rent"
            quick = await ok(client, "quick_add", {"text": "call mum"})
            pending.update(task=done["task"], next=done["next"], quick=quick)
            assert len((await ok(client, "list_tasks", {}))["items"]) == 3
        async with Client(stdio_client(server.stdio_parameters(bob))) as client:
            assert (await ok(client, "list_tasks", {"status": "all"}))["items"] == []
            result = await client.call_tool("get_task", {"id": pending["quick"]["id"]})
            assert result.is_error and summary(result) == "no such task"

    asyncio.run(main())
    server.start()
    for key in ("task", "next", "quick"):
        shown = server.api("GET", f"/api/v1/tasks/{pending[key]['id']}", alice)
        assert shown.status == 200 and shown.body == pending[key], key
    assert server.api("GET", "/api/v1/tasks?status=all", bob).body["items"] == []


def test_stdio_without_a_token_is_refused(server: TodoServer):
    server.stop()
    finished = subprocess.run([server.binary, "mcp", "--stdio"], env=server.env, input=b"",
                              capture_output=True, timeout=30)
    assert finished.returncode == 2
    assert b"TODO_TOKEN" in finished.stderr
    assert finished.stdout == b""
