#!/usr/bin/env python3
"""MCP tool call and chat latency, over HTTP, as a client sees them.

Three paths, each measured sequentially (one request at a time, after a warm-up):
  mcp            POST {mcp}/mcp tools/call (Streamable HTTP, stateless, JSON answers)
  mcp-via-dapr   the same call sent to the API's daprd: /v1.0/invoke/todo-mcp/method/mcp
                 (daprd -> the mcp service's daprd -> mcp), as a service in the cluster would call it
  chat           POST {api}/api/v1/chat: in `all` in process; in the Dapr deployment
                 api -> daprd -> daprd -> mcp /chat

Against `todo-server all`: --url http://127.0.0.1:8080 (mcp and chat on the same server).
Against deploy/local/todo-local up (defaults from its env): mcp at TODO_MCP_URL, chat at TODO_API_URL,
and --dapr-url the API's daprd (http://127.0.0.1:$DAPR_PORT_api, token dev-only-dapr-api-token).

usage: benches/mcp-latency.py [--url API] [--mcp-url MCP] [--dapr-url DAPRD] [--count N]
"""

import argparse
import json
import statistics
import time
import urllib.request
import uuid

from benchlib import call, local_env, percentile

PROTOCOL = "2025-06-18"


def post(url, body, headers):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    request.add_header("accept", "application/json, text/event-stream")
    for name, value in headers.items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def tool_call(url, headers, tool, arguments):
    answer = post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": {"name": tool, "arguments": arguments}}, headers)
    assert "result" in answer and not answer["result"].get("isError"), answer
    return answer["result"]


def measure(name, count, once):
    for _ in range(min(20, count)):
        once()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        once()
        samples.append((time.perf_counter() - started) * 1000)
    print(f"| {name} | {count} | {statistics.median(samples):.2f} ms | {percentile(samples, 90):.2f} ms"
          f" | {percentile(samples, 99):.2f} ms | {max(samples):.2f} ms |")


def main():
    env = local_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=env.get("TODO_API_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--mcp-url", default=env.get("TODO_MCP_URL"))
    parser.add_argument("--dapr-url", help="the API's daprd, to call the mcp service through Dapr")
    parser.add_argument("--dapr-token", default="dev-only-dapr-api-token")
    parser.add_argument("--count", type=int, default=500)
    args = parser.parse_args()
    mcp_url = (args.mcp_url or args.url).rstrip("/") + "/mcp"

    email = f"mcp-{uuid.uuid4().hex[:8]}@example.com"
    token = call(f"{args.url}/api/v1/auth/signup", "POST",
                 {"email": email, "password": "a good password"})["token"]
    auth = {"authorization": f"Bearer {token}", "mcp-protocol-version": PROTOCOL}
    for n in range(50):
        call(f"{args.url}/api/v1/tasks", "POST", {"title": f"seeded task {n}", "tags": ["bench"]}, token)

    print("| path | calls | p50 | p90 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|")
    measure("MCP `list_tasks` (limit 20)", args.count,
            lambda: tool_call(mcp_url, auth, "list_tasks", {"limit": 20}))
    measure("MCP `add_task`", args.count,
            lambda: tool_call(mcp_url, auth, "add_task", {"title": "measured", "tags": ["bench"]}))
    if args.dapr_url:
        via = f"{args.dapr_url.rstrip('/')}/v1.0/invoke/todo-mcp/method/mcp"
        headers = dict(auth, **{"dapr-api-token": args.dapr_token})
        measure("MCP `list_tasks` through Dapr invocation", args.count,
                lambda: tool_call(via, headers, "list_tasks", {"limit": 20}))
        measure("MCP `add_task` through Dapr invocation", args.count,
                lambda: tool_call(via, headers, "add_task", {"title": "measured", "tags": ["bench"]}))
    measure("chat \"what is overdue\" (a list)", args.count,
            lambda: call(f"{args.url}/api/v1/chat", "POST", {"message": "what is overdue"}, token))
    measure("chat \"add ... tomorrow 9am #bench\" (a create)", args.count,
            lambda: call(f"{args.url}/api/v1/chat", "POST",
                         {"message": "add measured tomorrow 9am #bench"}, token))


if __name__ == "__main__":
    main()
