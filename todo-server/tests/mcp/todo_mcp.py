"""MCP clients of the official Python SDK for a running `todo-server` (the shared TodoServer harness):
over Streamable HTTP and over stdio."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

import todo_server


class TodoServer(todo_server.TodoServer):
    """`todo-server all` (the shared harness) and the MCP clients that reach it."""

    def http_client(self, token: str | None) -> Client:
        """An MCP client of `/mcp` over Streamable HTTP, sending `token` as the bearer token."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60))
        return Client(streamable_http_client(f"{self.url}/mcp", http_client=http))

    def stdio_parameters(self, token: str) -> StdioServerParameters:
        """`todo-server mcp --stdio` on this server's data directory, as the user of `token`."""
        return StdioServerParameters(
            command=self.binary,
            args=["mcp", "--stdio"],
            env={**self.env, "TODO_TOKEN": token},
            cwd=str(self.workdir),
        )


@asynccontextmanager
async def connected(client: Client) -> AsyncIterator[Client]:
    async with client as session:
        yield session
