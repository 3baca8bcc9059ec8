"""`warden serve` with the Python MCP SDK's Streamable HTTP client, in front of real servers
(mcp-server-time and the fixture server, both over stdio), with grant tokens."""

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import asynccontextmanager
from http.client import HTTPConnection, HTTPResponse
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import pytest
from mcp import ClientSession, MCPError
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from conftest import FIXTURES, TIMEOUT, audit, start_serve, verify, wait_for

ALL_TIME = """
version: "1"
default: allow
"""

READ_ONLY_TIME = """
version: "1"
default: deny
hide: [convert_time]
tools:
  get_current_time:
    deny_if:
      - conditions: [{path: args.timezone, op: eq, value: Europe/Moscow}]
        on_deny: {reason: not that zone}
"""

ECHO = """
version: "1"
default: allow
tools:
  crash: {action: deny, reason: no crashing}
"""

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}


class Gateway:
    """A running `warden serve`, its database and the grants made for it."""

    def __init__(self, warden: str, env: dict, directory: Path, listen: str = "", extra: str = "", limits: str = "",
                 upstream_timeout: str = "5s"):
        self.warden, self.env, self.directory = warden, env, directory
        self.db = str(directory / "warden.db")
        (directory / "all_time.yaml").write_text(ALL_TIME)
        (directory / "read_only_time.yaml").write_text(READ_ONLY_TIME)
        (directory / "echo.yaml").write_text(ECHO)
        (directory / "warden.yaml").write_text(f"""
version: "1"
listen: {{host: 127.0.0.1, port: 0{listen}}}
store: {{sqlite: warden.db}}
limits: {{max_body_bytes: 65536, upstream_timeout: {upstream_timeout}{limits}}}
servers:
  time:
    command: [mcp-server-time]
    policy: all_time.yaml
  echo:
    command: [{sys.executable}, {FIXTURES / "echo_server.py"}]
    policy: echo.yaml
{extra}""")
        self.stderr: list[str] = []
        self.process, self.base = start_serve(warden, directory / "warden.yaml", env, self.stderr, stdout=subprocess.PIPE)

    def grant(self, label: str, policy: str, *servers: str) -> str:
        result = subprocess.run(
            [self.warden, "grants", "create", "--db", self.db, "--label", label, "--policy", str(self.directory / policy),
             *[argument for server in servers for argument in ("--server", server)], "--format", "json"],
            capture_output=True, text=True, env=self.env, timeout=TIMEOUT, check=True)
        return json.loads(result.stdout)["token"]

    def grants(self, *arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.warden, "grants", *arguments, "--db", self.db],
                              capture_output=True, text=True, env=self.env, timeout=TIMEOUT)

    def url(self, server: str) -> str:
        return f"{self.base}/mcp/{server}"

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=TIMEOUT)


@pytest.fixture
def gateway(warden, env, tmp_path):
    running = Gateway(warden, env, tmp_path)
    yield running
    running.stop()


def http(method: str, url: str, body=None, headers: dict | None = None, raw: bytes | None = None):
    """One HTTP request; returns (status, headers, body bytes) for every status."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers={
        "content-type": "application/json", "accept": "application/json, text/event-stream", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def open_session(gateway: Gateway, server: str, token: str) -> str:
    status, headers, body = http("POST", gateway.url(server), INITIALIZE, bearer(token))
    assert status == 200, body
    session = headers["mcp-session-id"]
    assert re.fullmatch(r"[0-9A-Za-z-]{1,63}\.[0-9a-f]{64}", session), "session ids: the instance's name, then 256 random bits"
    status, _, _ = http("POST", gateway.url(server), {"jsonrpc": "2.0", "method": "notifications/initialized"},
                        {**bearer(token), "mcp-session-id": session})
    assert status == 202
    return session


@asynccontextmanager
async def mcp_session(url: str, token: str, **options):
    with anyio.fail_after(TIMEOUT):
        async with create_mcp_http_client(headers=bearer(token)) as client:
            async with streamable_http_client(url, http_client=client) as (read, write):
                async with ClientSession(read, write, **options) as session:
                    await session.initialize()
                    yield session


def sampler(answer: str):
    """A client's sampling callback answering `answer`, and the list of what it was asked."""
    from mcp_types import CreateMessageResult, TextContent

    asked = []

    async def sampling(context, params):
        asked.append(params)
        return CreateMessageResult(role="assistant", content=TextContent(type="text", text=answer), model="fixture")

    return asked, sampling


def text_of(result) -> str:
    return " ".join(getattr(item, "text", "") for item in result.content)


@pytest.mark.anyio
async def test_two_grants_see_and_get_what_their_policies_say(gateway):
    full = gateway.grant("ops", "all_time.yaml", "time")
    limited = gateway.grant("agent", "read_only_time.yaml", "time")

    async with mcp_session(gateway.url("time"), full) as session:
        assert sorted(tool.name for tool in (await session.list_tools()).tools) == ["convert_time", "get_current_time"]
        result = await session.call_tool("get_current_time", {"timezone": "Europe/Moscow"})
        assert not result.is_error and "Europe/Moscow" in text_of(result)

    async with mcp_session(gateway.url("time"), limited) as session:
        assert [tool.name for tool in (await session.list_tools()).tools] == ["get_current_time"]
        denied = await session.call_tool("get_current_time", {"timezone": "Europe/Moscow"})
        assert denied.is_error and text_of(denied).startswith("[POLICY DENIED] not that zone")
        allowed = await session.call_tool("get_current_time", {"timezone": "Asia/Tokyo"})
        assert not allowed.is_error and "Asia/Tokyo" in text_of(allowed)
        with pytest.raises(MCPError, match="Unknown tool"):
            await session.call_tool("convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "UTC"})

    wait_for(lambda: len(audit(gateway.warden, gateway.db, "--tool", "get_current_time")) == 3)
    records = audit(gateway.warden, gateway.db, "--tool", "get_current_time")
    assert sorted((r["identity"], r["decision"]) for r in records) == [("agent", "allow"), ("agent", "deny"), ("ops", "allow")]
    assert all(r["grant"].startswith("g_") and r["server"] == "time" for r in records)
    # Each record names the HTTP request that carried its call, as the log does.
    log = "".join(gateway.stderr)
    assert all(r["http_request_id"] and r["http_request_id"] in log for r in records)
    assert verify(gateway.warden, gateway.db).returncode == 0


@pytest.mark.anyio
async def test_server_requests_reach_the_client_on_the_get_stream(gateway):
    """The fixture's `ask` tool sends the client a sampling request mid-call; the client's answer
    goes back through Warden and ends the call."""
    token = gateway.grant("sampler", "echo.yaml", "echo")
    asked, sampling = sampler("forty-two")

    async with mcp_session(gateway.url("echo"), token, sampling_callback=sampling) as session:
        result = await session.call_tool("ask", {})
        assert len(asked) == 1
        assert "forty-two" in json.dumps(result.model_dump(mode="json"))
        denied = await session.call_tool("crash", {})
        assert denied.is_error and "no crashing" in text_of(denied)


@pytest.mark.anyio
async def test_legacy_sse_clients_are_policed_the_same(gateway):
    token = gateway.grant("legacy", "read_only_time.yaml", "time")
    with anyio.fail_after(TIMEOUT):
        async with sse_client(f"{gateway.base}/sse/time", headers=bearer(token)) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                assert [tool.name for tool in (await session.list_tools()).tools] == ["get_current_time"]
                denied = await session.call_tool("get_current_time", {"timezone": "Europe/Moscow"})
                assert denied.is_error and "not that zone" in text_of(denied)
                allowed = await session.call_tool("get_current_time", {"timezone": "UTC"})
                assert not allowed.is_error
                assert "warden_active_sessions 1" in http("GET", f"{gateway.base}/metrics")[2].decode()
    # The stream closed with the client: its session and server process end with it.
    deadline = time.monotonic() + TIMEOUT
    while "warden_active_sessions 0" not in http("GET", f"{gateway.base}/metrics")[2].decode():
        assert time.monotonic() < deadline, "the legacy session outlived its stream"
        time.sleep(0.1)
    assert http("GET", f"{gateway.base}/sse/time")[0] == 401


def test_tokens_are_required_and_checked_at_once(gateway):
    token = gateway.grant("agent", "all_time.yaml", "time")
    for headers in ({}, {"authorization": "Bearer wdn_not-a-token"}, {"authorization": f"Basic {token}"}):
        status, response_headers, body = http("POST", gateway.url("time"), INITIALIZE, headers)
        assert status == 401, body
        assert response_headers["www-authenticate"].startswith("Bearer")
        assert json.loads(body)["error"]["code"] == -32600
    session = open_session(gateway, "time", token)

    grant_id = json.loads(gateway.grants("list", "--format", "json").stdout.splitlines()[0])["id"]
    assert gateway.grants("revoke", grant_id).returncode == 0
    status, _, _ = http("POST", gateway.url("time"), {"jsonrpc": "2.0", "id": 2, "method": "ping"},
                        {**bearer(token), "mcp-session-id": session})
    assert status == 401, "a revoked token stops working at once, even on an open session"


def test_sessions_belong_to_the_grant_that_opened_them(gateway):
    first = gateway.grant("first", "all_time.yaml", "time", "echo")
    second = gateway.grant("second", "all_time.yaml", "time", "echo")
    session = open_session(gateway, "time", first)
    ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    assert http("POST", gateway.url("time"), ping, {**bearer(first), "mcp-session-id": session})[0] == 200
    assert http("POST", gateway.url("time"), ping, {**bearer(second), "mcp-session-id": session})[0] == 404
    assert http("POST", gateway.url("echo"), ping, {**bearer(first), "mcp-session-id": session})[0] == 404
    assert http("POST", gateway.url("time"), ping, {**bearer(first), "mcp-session-id": "0" * 64})[0] == 404
    assert http("POST", gateway.url("time"), ping, bearer(first))[0] == 400

    assert http("DELETE", gateway.url("time"), None, {**bearer(first), "mcp-session-id": session})[0] == 200
    assert http("POST", gateway.url("time"), ping, {**bearer(first), "mcp-session-id": session})[0] == 404


def test_refusals_before_anything_is_forwarded(gateway, tmp_path):
    token = gateway.grant("agent", "all_time.yaml", "time")
    log = tmp_path / "never"
    # A server the grant does not reach, and one that does not exist.
    assert http("POST", gateway.url("echo"), INITIALIZE, bearer(token))[0] == 403
    assert http("POST", gateway.url("nothing"), INITIALIZE, bearer(token))[0] == 404
    # A browser page from elsewhere, and a rebound host name.
    assert http("POST", gateway.url("time"), INITIALIZE, {**bearer(token), "origin": "https://evil.example"})[0] == 403
    assert http("POST", gateway.url("time"), INITIALIZE, {**bearer(token), "host": "evil.example"})[0] == 421
    # Too big, malformed, duplicate keys, an unknown protocol version.
    session = open_session(gateway, "time", token)
    headers = {**bearer(token), "mcp-session-id": session}
    big = {"jsonrpc": "2.0", "id": 3, "method": "ping", "params": {"pad": "x" * 70000}}
    assert http("POST", gateway.url("time"), big, headers)[0] == 413
    status, _, body = http("POST", gateway.url("time"), None, headers, raw=b'{"jsonrpc":"2.0",')
    assert status == 400 and json.loads(body)["error"]["code"] == -32700
    status, _, body = http("POST", gateway.url("time"), None, headers,
                           raw=b'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_current_time","name":"convert_time"}}')
    assert status == 400 and json.loads(body)["error"]["code"] == -32600
    assert http("POST", gateway.url("time"), {"jsonrpc": "2.0", "id": 5, "method": "ping"},
                {**headers, "mcp-protocol-version": "1999-01-01"})[0] == 400
    # Nothing refused here reached the policy or the server; the unreadable call is audited
    # as a refusal (written in the background: waited for).
    wait_for(lambda: audit(gateway.warden, gateway.db) != [])
    time.sleep(0.2)
    assert [(r["request_id"], r["decision"], r["tool"]) for r in audit(gateway.warden, gateway.db)] == [
        ("4", "invalid", "get_current_time | convert_time")]
    assert not log.exists()


def test_batches_are_policed_per_element_and_answered_together(gateway):
    token = gateway.grant("agent", "echo.yaml", "echo")
    session = open_session(gateway, "echo", token)
    batch = [
        {"jsonrpc": "2.0", "id": "a", "method": "tools/call", "params": {"name": "echo", "arguments": {"n": 1}}},
        {"jsonrpc": "2.0", "id": "b", "method": "tools/call", "params": {"name": "crash", "arguments": {}}},
        {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}},
        {"jsonrpc": "2.0", "id": "c", "method": "ping"},
    ]
    status, _, body = http("POST", gateway.url("echo"), batch, {**bearer(token), "mcp-session-id": session})
    assert status == 200
    answers = {answer["id"]: answer for answer in json.loads(body)}
    assert sorted(answers) == ["a", "b", "c"]
    assert not answers["a"]["result"].get("isError")
    assert answers["b"]["result"]["isError"] and "no crashing" in answers["b"]["result"]["content"][0]["text"]
    assert answers["c"]["result"] == {}


def test_operators_endpoints_and_graceful_shutdown(gateway):
    token = gateway.grant("agent", "echo.yaml", "echo")
    assert http("GET", f"{gateway.base}/healthz")[0] == 200
    assert http("GET", f"{gateway.base}/readyz")[0] == 200
    session = open_session(gateway, "echo", token)
    headers = {**bearer(token), "mcp-session-id": session}

    # A slow call is in flight when SIGTERM arrives: it still gets its answer.
    answers = []
    slow = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 1}}}
    caller = threading.Thread(target=lambda: answers.append(http("POST", gateway.url("echo"), slow, headers)))
    caller.start()
    # The call has been decided and forwarded (its added latency is recorded then): in flight.
    wait_for(lambda: "warden_decision_duration_seconds_count 1" in http("GET", f"{gateway.base}/metrics")[2].decode())
    assert "warden_active_sessions 1" in http("GET", f"{gateway.base}/metrics")[2].decode()
    gateway.process.send_signal(signal.SIGTERM)
    caller.join(TIMEOUT)
    assert answers and answers[0][0] == 200, answers
    assert json.loads(answers[0][2])["id"] == 9 and "result" in json.loads(answers[0][2])
    assert gateway.process.wait(timeout=TIMEOUT) == 0
    records = audit(gateway.warden, gateway.db, "--tool", "slow")
    assert [(r["decision"], r["upstream_status"]) for r in records] == [("allow", "ok")], "the audit log was flushed"


MIXED = """
version: "1"
default: allow
hide: [convert_time]
tools:
  crash: {action: deny, reason: no crashing}
"""


@pytest.mark.anyio
async def test_the_aggregated_endpoint_merges_every_reachable_server(gateway):
    (gateway.directory / "mixed.yaml").write_text(MIXED)
    token = gateway.grant("both", "mixed.yaml", "time", "echo")
    only_time = gateway.grant("time-only", "all_time.yaml", "time")
    asked, sampling = sampler("merged")

    async with mcp_session(f"{gateway.base}/mcp", token, sampling_callback=sampling) as session:
        names = [tool.name for tool in (await session.list_tools()).tools]
        # Every page of the fixture's paginated list, the time server's tools but the hidden one.
        assert "time__get_current_time" in names and "time__convert_time" not in names
        assert {"echo__echo", "echo__crash", "echo__ask", "echo__slow"} <= set(names)
        assert all(name.startswith(("time__", "echo__")) for name in names)

        result = await session.call_tool("time__get_current_time", {"timezone": "Asia/Tokyo"})
        assert not result.is_error and "Asia/Tokyo" in text_of(result)
        denied = await session.call_tool("echo__crash", {})
        assert denied.is_error and "no crashing" in text_of(denied)
        with pytest.raises(MCPError, match="Unknown tool"):
            await session.call_tool("time__convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "UTC"})
        with pytest.raises(MCPError, match="Unknown tool"):
            await session.call_tool("nowhere__echo", {})
        # A server's request to the client, and the client's answer, cross the aggregate.
        answered = await session.call_tool("echo__ask", {})
        assert len(asked) == 1 and "merged" in json.dumps(answered.model_dump(mode="json"))

    async with mcp_session(f"{gateway.base}/mcp", only_time) as session:
        assert sorted(tool.name for tool in (await session.list_tools()).tools) == ["time__convert_time", "time__get_current_time"]

    # Policies and the audit log name each server's own tool names.
    wait_for(lambda: len(audit(gateway.warden, gateway.db)) == 5)
    seen = {(r.get("server"), r["tool"], r["decision"]) for r in audit(gateway.warden, gateway.db)}
    assert seen == {("time", "get_current_time", "allow"), ("echo", "crash", "deny"), ("time", "convert_time", "hidden"),
                    ("echo", "ask", "allow"), (None, "nowhere__echo", "unknown_tool")}


def test_idle_sessions_end_with_their_server(warden, env, tmp_path):
    """A client that vanishes without DELETE does not leave its server process running."""
    # Long enough that a slow machine still gets the first ping in; short enough to wait out.
    gateway = Gateway(warden, env, tmp_path, limits=", session_idle_timeout: 3s")
    try:
        token = gateway.grant("agent", "all_time.yaml", "time")
        session = open_session(gateway, "time", token)
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        assert http("POST", gateway.url("time"), ping, {**bearer(token), "mcp-session-id": session})[0] == 200
        wait_for(lambda: "warden_active_sessions 0" in http("GET", f"{gateway.base}/metrics")[2].decode())
        assert http("POST", gateway.url("time"), ping, {**bearer(token), "mcp-session-id": session})[0] == 404
    finally:
        gateway.stop()


@pytest.mark.anyio
async def test_stateless_clients_reach_stateful_servers(gateway):
    """The SDK's high-level client probes `server/discover` and speaks 2026-07-28, with no
    session; Warden serves it from a session of its own with the stdio server."""
    from mcp import Client

    token = gateway.grant("modern", "read_only_time.yaml", "time")
    with anyio.fail_after(TIMEOUT):
        async with create_mcp_http_client(headers=bearer(token)) as http_client:
            async with Client(streamable_http_client(gateway.url("time"), http_client=http_client)) as client:
                assert [tool.name for tool in (await client.list_tools()).tools] == ["get_current_time"]
                allowed = await client.call_tool("get_current_time", {"timezone": "Asia/Tokyo"})
                assert not allowed.is_error and "Asia/Tokyo" in text_of(allowed)
                denied = await client.call_tool("get_current_time", {"timezone": "Europe/Moscow"})
                assert denied.is_error and "not that zone" in text_of(denied)
                # No handshake session was opened: the client really spoke 2026-07-28.
                assert "warden_active_sessions 0" in http("GET", f"{gateway.base}/metrics")[2].decode()
    wait_for(lambda: len(audit(gateway.warden, gateway.db, "--identity", "modern")) == 2)


@pytest.mark.anyio
async def test_stateless_clients_reach_the_aggregated_endpoint(gateway):
    """The same high-level client on `/mcp`: every server the grant reaches, prefixed, each
    call decided under its server's policy, and no handshake session opened."""
    from mcp import Client

    token = gateway.grant("modern", "read_only_time.yaml", "time", "echo")
    with anyio.fail_after(TIMEOUT):
        async with create_mcp_http_client(headers=bearer(token)) as http_client:
            async with Client(streamable_http_client(f"{gateway.base}/mcp", http_client=http_client)) as client:
                names = [tool.name for tool in (await client.list_tools()).tools]
                assert "time__get_current_time" in names and "echo__echo" in names
                assert "time__convert_time" not in names, "hidden by the grant's policy"
                allowed = await client.call_tool("time__get_current_time", {"timezone": "Asia/Tokyo"})
                assert not allowed.is_error and "Asia/Tokyo" in text_of(allowed)
                denied = await client.call_tool("time__get_current_time", {"timezone": "Europe/Moscow"})
                assert denied.is_error and "not that zone" in text_of(denied)
                with pytest.raises(MCPError, match="Unknown tool: nowhere__tool"):
                    await client.call_tool("nowhere__tool", {})
                assert "warden_active_sessions 0" in http("GET", f"{gateway.base}/metrics")[2].decode()


@pytest.mark.anyio
async def test_stateless_calls_mirror_their_arguments_in_mcp_param_headers(gateway):
    """A tool whose schema marks arguments `x-mcp-header`: the SDK's client sends them as
    `Mcp-Param-*` headers, Warden checks them against the body, and refuses a mismatch (-32020)
    before anything is forwarded."""
    from mcp import Client

    token = gateway.grant("modern", "echo.yaml", "echo")
    with anyio.fail_after(TIMEOUT):
        async with create_mcp_http_client(headers=bearer(token)) as http_client:
            async with Client(streamable_http_client(gateway.url("echo"), http_client=http_client)) as client:
                routed = await client.call_tool("route", {"region": "eu-west", "count": 3})
                assert not routed.is_error
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "route", "arguments": {"region": "eu-west", "count": 3}, "_meta": meta}}
    routing = {**bearer(token), "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "route"}
    status, _, body = http("POST", gateway.url("echo"), call, {**routing, "mcp-param-region": "eu-west", "mcp-param-count": "3.0"})
    assert status == 200 and json.loads(body)["result"]["isError"] is False, "integers compare by value"
    for wrong in ({"mcp-param-region": "us-east", "mcp-param-count": "3"}, {"mcp-param-count": "3"}):
        status, _, body = http("POST", gateway.url("echo"), call, {**routing, **wrong})
        answer = json.loads(body)
        assert status == 400 and answer["error"]["code"] == -32020 and "Mcp-Param-Region" in answer["error"]["message"]


@pytest.mark.anyio
async def test_a_stateless_caller_answers_the_servers_own_request_in_an_input_required_round(gateway):
    """A stateful server asks for sampling mid-call; the stateless caller has no stream to be
    asked on, so Warden answers its POST `input_required` with the server's request; the SDK's
    client runs its sampling callback and retries, and Warden hands the answer to the server."""
    from mcp import Client

    token = gateway.grant("modern", "echo.yaml", "echo")
    asked, sampling = sampler("forty-two")
    with anyio.fail_after(TIMEOUT):
        async with create_mcp_http_client(headers=bearer(token)) as http_client:
            async with Client(streamable_http_client(gateway.url("echo"), http_client=http_client), sampling_callback=sampling) as client:
                answered = await client.call_tool("ask", {})
                again = await client.call_tool("ask", {})
                assert "warden_active_sessions 0" in http("GET", f"{gateway.base}/metrics")[2].decode(), "stateless: no session"
            # The same through the aggregated endpoint, under the prefixed name.
            async with Client(streamable_http_client(f"{gateway.base}/mcp", http_client=http_client), sampling_callback=sampling) as client:
                aggregated = await client.call_tool("echo__ask", {})
    assert len(asked) == 3 and asked[0].max_tokens == 5
    for result in (answered, again, aggregated):
        reply = json.loads(text_of(result))  # the response line the server read
        assert reply["id"] == "s-1" and reply["result"]["content"]["text"] == "forty-two"


def test_a_stateless_caller_without_the_capability_is_not_asked(gateway):
    token = gateway.grant("modern", "echo.yaml", "echo")
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "ask", "arguments": {}, "_meta": meta}}
    headers = {**bearer(token), "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "ask"}
    status, _, body = http("POST", gateway.url("echo"), call, headers)
    assert status == 200
    reply = json.loads(json.loads(body)["result"]["content"][0]["text"])
    assert reply["id"] == "s-1" and reply["error"]["code"] == -32601 and "cannot answer sampling/createMessage" in reply["error"]["message"]
    # A retry naming a requestState Warden never gave is refused.
    call["params"]["requestState"] = "forged"
    status, _, body = http("POST", gateway.url("echo"), call, headers)
    assert status == 400 and json.loads(body)["error"]["code"] == -32602


def test_stateless_requests_are_checked_against_their_headers(gateway):
    token = gateway.grant("modern", "all_time.yaml", "time")
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "get_current_time", "arguments": {"timezone": "UTC"}, "_meta": meta}}
    routing = {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "get_current_time"}

    status, headers, body = http("POST", gateway.url("time"), call, {**bearer(token), **routing})
    assert status == 200 and "mcp-session-id" not in headers
    answer = json.loads(body)
    assert answer["id"] == 1 and answer["result"]["resultType"] == "complete" and not answer["result"]["isError"]

    for header, wrong in (("mcp-method", "tools/list"), ("mcp-name", "convert_time"), ("mcp-protocol-version", "2026-01-01")):
        status, _, body = http("POST", gateway.url("time"), call, {**bearer(token), **routing, header: wrong})
        assert status == 400 and json.loads(body)["error"]["code"] == -32020, header
    future = {**call, "params": {**call["params"], "_meta": {**meta, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}}}
    status, _, body = http("POST", gateway.url("time"), future, {**bearer(token), **routing, "mcp-protocol-version": "2099-01-01"})
    error = json.loads(body)["error"]
    assert status == 400 and error["code"] == -32022 and error["data"]["supported"] == ["2026-07-28"]
    bare = {**call, "params": {"name": "get_current_time", "arguments": {}}}
    status, _, body = http("POST", gateway.url("time"), bare, {**bearer(token), **routing})
    assert status == 400 and json.loads(body)["error"]["code"] == -32602

    listing = {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"_meta": meta}}
    status, _, body = http("POST", gateway.url("time"), listing, {**bearer(token), **routing, "mcp-method": "tools/list"})
    result = json.loads(body)["result"]
    assert status == 200 and result["cacheScope"] == "private" and {t["name"] for t in result["tools"]} == {"get_current_time", "convert_time"}
    # One decision was made (the first call); the refused requests reached neither policy nor server.
    wait_for(lambda: len(audit(gateway.warden, gateway.db)) == 1)


# Resuming the GET stream with Last-Event-ID: every event has an id, and a client that
# reconnects gets again what was sent after the last event it saw.

def open_stream(url: str, headers: dict) -> tuple[HTTPConnection, HTTPResponse]:
    parts = urlsplit(url)
    connection = HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    connection.request("GET", parts.path, headers={"accept": "text/event-stream", **headers})
    return connection, connection.getresponse()


def read_events(response: HTTPResponse, count: int) -> list[tuple[str, dict]]:
    """The next `count` message events as (id, message), skipping keep-alive comments."""
    events, event_id, data = [], None, None
    while len(events) < count:
        line = response.fp.readline().decode()
        assert line, "the stream ended"
        if line.startswith("id: "):
            event_id = line[4:].strip()
        elif line.startswith("data: "):
            data = json.loads(line[6:])
        elif line == "\n" and data is not None:
            events.append((event_id, data))
            event_id, data = None, None
    return events


def test_a_resumed_stream_replays_what_came_after_the_last_event_seen(gateway):
    token = gateway.grant("agent", "echo.yaml", "echo")
    session = open_session(gateway, "echo", token)
    headers = {**bearer(token), "mcp-session-id": session}

    def notify(request_id: int) -> None:
        call = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": "notify", "arguments": {}}}
        assert http("POST", gateway.url("echo"), call, headers)[0] == 200

    connection, response = open_stream(gateway.url("echo"), headers)
    assert response.status == 200
    notify(1)
    notify(2)
    (first_id, first), (second_id, second) = read_events(response, 2)
    assert first["method"] == second["method"] == "notifications/message"
    assert int(second_id) == int(first_id) + 1
    connection.close()

    # Reconnect claiming only the first event arrived: the second comes again, then new ones.
    def reopen():
        connection, response = open_stream(gateway.url("echo"), {**headers, "last-event-id": first_id})
        if response.status == 409:  # the old stream is not noticed closed yet
            connection.close()
            return None
        return connection, response

    reopened: list = []
    wait_for(lambda: reopened.append(reopen()) or reopened[-1] is not None)
    connection, response = reopened[-1]
    assert response.status == 200
    notify(3)
    (replayed_id, replayed), (third_id, _) = read_events(response, 2)
    assert replayed_id == second_id and replayed == second
    assert int(third_id) == int(second_id) + 1
    connection.close()


SESSION_LIMITED = """
version: "1"
default: allow
tools:
  echo:
    rate_limit: {max: 50, window: 3600}
"""


def test_a_session_limit_is_exact_under_parallel_posts(gateway):
    """Session counts live in the gateway's memory and calls are decided on the threads of
    their POSTs: 8 threads posting 20 calls each to one session get exactly 50 through; a
    second session of the same grant has a count of its own."""
    (gateway.directory / "session_limited.yaml").write_text(SESSION_LIMITED)
    token = gateway.grant("parallel", "session_limited.yaml", "echo")
    sessions = [open_session(gateway, "echo", token) for _ in range(2)]
    outcomes: list[bool] = []

    def hammer(worker: int) -> None:
        headers = {**bearer(token), "mcp-session-id": sessions[0]}
        for number in range(20):
            call = {"jsonrpc": "2.0", "id": worker * 100 + number, "method": "tools/call", "params": {"name": "echo", "arguments": {}}}
            status, _, body = http("POST", gateway.url("echo"), call, headers)
            assert status == 200
            answer = json.loads(body)
            assert answer["id"] == worker * 100 + number
            outcomes.append(answer["result"]["isError"] is False)

    threads = [threading.Thread(target=hammer, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(outcomes) == 160 and outcomes.count(True) == 50

    other = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {}}}
    status, _, body = http("POST", gateway.url("echo"), other, {**bearer(token), "mcp-session-id": sessions[1]})
    assert status == 200 and json.loads(body)["result"]["isError"] is False, "the other session counts on its own"
    wait_for(lambda: len(audit(gateway.warden, gateway.db, "--identity", "parallel", "--limit", "1000")) == 161)
    decisions = [record["decision"] for record in audit(gateway.warden, gateway.db, "--identity", "parallel", "--limit", "1000")]
    assert decisions.count("allow") == 51 and decisions.count("deny") == 110
