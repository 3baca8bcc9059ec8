"""`warden serve` in front of a remote server: the Python SDK's `MCPServer` over Streamable
HTTP (event-stream answers, and JSON answers) and over the legacy HTTP+SSE transport, reached
by the SDK's client through Warden."""

import json
import socket
import subprocess
import sys
import time

import pytest
from mcp import MCPError

from conftest import FIXTURES, TIMEOUT, audit, wait_for
from test_http_gateway import INITIALIZE, Gateway, bearer, http, mcp_session, sampler, text_of

REMOTE_POLICY = """
version: "1"
default: allow
hide: [whoami]
tools:
  add:
    deny_if:
      - conditions: [{path: args.a, op: gt, value: 100}]
        on_deny: {reason: numbers too big}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_fixture(tmp_path, env, flag=None):
    """The fixture server on a free port, with `flag` (--json, --sse, --resumable); returns (process, port, header log)."""
    port = free_port()
    log = tmp_path / "headers.jsonl"
    arguments = [sys.executable, str(FIXTURES / "http_server.py"), str(port), str(log)] + ([flag] if flag else [])
    process = subprocess.Popen(arguments, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port, log
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "the fixture server did not start"
            time.sleep(0.1)


@pytest.fixture(params=["events", "json", "sse"])
def remote(request, tmp_path, env):
    """The fixture server on a free port; yields (url, header log, transport)."""
    process, port, log = start_fixture(tmp_path, env, None if request.param == "events" else "--" + request.param)
    path = "sse" if request.param == "sse" else "mcp"
    yield f"http://127.0.0.1:{port}/{path}", log, request.param
    process.terminate()
    process.wait(timeout=TIMEOUT)


@pytest.fixture
def remote_gateway(warden, env, tmp_path, remote):
    url, _, transport = remote
    (tmp_path / "remote.yaml").write_text(REMOTE_POLICY)
    env = {**env, "UPSTREAM_KEY": "k-123"}
    running = Gateway(warden, env, tmp_path, extra=f"""  remote:
    url: {url}
    headers: {{X-Upstream-Key: "${{UPSTREAM_KEY}}"}}
    policy: remote.yaml
{"    transport: sse" if transport == "sse" else ""}
""")
    yield running
    running.stop()


@pytest.mark.anyio
async def test_a_remote_server_is_policed_like_a_local_one(remote_gateway, remote):
    _, header_log, transport = remote
    token = remote_gateway.grant("agent", "remote.yaml", "remote")
    asked, sampling = sampler("42")

    async with mcp_session(remote_gateway.url("remote"), token, sampling_callback=sampling) as session:
        assert sorted(tool.name for tool in (await session.list_tools()).tools) == ["add", "ask", "patient"]
        added = await session.call_tool("add", {"a": 2, "b": 3})
        assert not added.is_error and text_of(added) == "5"
        refused = await session.call_tool("add", {"a": 101, "b": 1})
        assert refused.is_error and "numbers too big" in text_of(refused)
        with pytest.raises(MCPError, match="Unknown tool"):
            await session.call_tool("whoami", {})
        answered = await session.call_tool("ask", {})
        assert len(asked) == 1 and "the client said 42" in text_of(answered)

    wait_for(lambda: len(audit(remote_gateway.warden, remote_gateway.db)) == 4)
    decisions = sorted((r["tool"], r["decision"]) for r in audit(remote_gateway.warden, remote_gateway.db))
    assert decisions == [("add", "allow"), ("add", "deny"), ("ask", "allow"), ("whoami", "hidden")]

    sent = [json.loads(line) for line in header_log.read_text().splitlines()]
    assert sent and all(request["headers"].get("x-upstream-key") == "k-123" for request in sent)
    assert all("authorization" not in request["headers"] for request in sent), "the client's token never reaches the server"
    if transport == "sse":
        assert [request["method"] for request in sent][0] == "GET", "the legacy session opens with its event stream"
    else:
        wait_for(lambda: any(json.loads(line)["method"] == "DELETE" for line in header_log.read_text().splitlines()))


def test_a_dead_remote_server_answers_with_an_error_not_a_hang(warden, env, tmp_path):
    (tmp_path / "remote.yaml").write_text(REMOTE_POLICY)
    gateway = Gateway(warden, env, tmp_path, extra=f"""  remote:
    url: http://127.0.0.1:{free_port()}/mcp
    policy: remote.yaml
""")
    try:
        token = gateway.grant("agent", "remote.yaml", "remote")
        status, _, body = http("POST", gateway.url("remote"), INITIALIZE, bearer(token))
        assert status == 200
        answer = json.loads(body)
        # Refused at once, or given up at the upstream timeout (5 s here, checked each second): an error, never a hang.
        assert answer["id"] == 1 and answer["error"]["code"] == -32603
        assert "could not be reached" in answer["error"]["message"] or "did not answer in time" in answer["error"]["message"]
    finally:
        gateway.stop()


@pytest.mark.anyio
async def test_an_event_stream_the_server_closes_is_resumed_with_last_event_id(warden, env, tmp_path):
    """2025-11-25: a server may close a call's event stream and expect its client to come back
    with a GET carrying Last-Event-ID; Warden does, and its own client sees one whole call."""
    process, port, log = start_fixture(tmp_path, env, "--resumable")
    (tmp_path / "remote.yaml").write_text(REMOTE_POLICY)
    gateway = Gateway(warden, env, tmp_path, extra=f"""  remote:
    url: http://127.0.0.1:{port}/mcp
    policy: remote.yaml
""")
    try:
        token = gateway.grant("agent", "remote.yaml", "remote")
        progress = []

        async def heard(value, total, message):
            progress.append(value)

        async with mcp_session(gateway.url("remote"), token) as session:
            result = await session.call_tool("patient", {"steps": 6}, progress_callback=heard)
            assert not result.is_error and text_of(result) == "done after 6 steps"
            assert progress == [1, 2, 3, 4, 5, 6], "progress sent while the stream was closed is replayed, in order"
            assert (await session.call_tool("add", {"a": 1, "b": 2})).content[0].text == "3"

        resumed = [json.loads(line)["headers"] for line in log.read_text().splitlines() if json.loads(line)["method"] == "GET"]
        assert any("last-event-id" in headers for headers in resumed), "Warden resumed with Last-Event-ID"
    finally:
        gateway.stop()
        process.terminate()
        process.wait(timeout=TIMEOUT)


@pytest.mark.anyio
async def test_many_sessions_to_one_remote_server_are_all_served(warden, env, tmp_path):
    """64 client sessions open at once to one remote server: each holds a long-lived GET
    stream to it through Warden, and every call of every session is still answered (streams
    and requests use connection pools of their own)."""
    import anyio
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    process, port, _ = start_fixture(tmp_path, env)
    (tmp_path / "remote.yaml").write_text(REMOTE_POLICY)
    gateway = Gateway(warden, env, tmp_path, limits=", max_sessions_per_grant: 100", extra=f"""  remote:
    url: http://127.0.0.1:{port}/mcp
    policy: remote.yaml
""")
    sessions = 64
    try:
        token = gateway.grant("agent", "remote.yaml", "remote")
        initialized = 0
        everyone_in = anyio.Event()
        answers: list[str] = []

        async def one(index: int) -> None:
            nonlocal initialized
            async with create_mcp_http_client(headers=bearer(token)) as client:
                async with streamable_http_client(gateway.url("remote"), http_client=client) as (read, write):
                    async with ClientSession(read, write) as session:
                        await session.initialize()
                        initialized += 1
                        if initialized == sessions:
                            everyone_in.set()
                        await everyone_in.wait()  # every session (and its stream) is open before any call
                        for step in range(3):
                            result = await session.call_tool("add", {"a": index, "b": step})
                            answers.append(text_of(result))
                            assert text_of(result) == str(index + step)

        with anyio.fail_after(120):
            async with anyio.create_task_group() as group:
                for index in range(sessions):
                    group.start_soon(one, index)
        assert len(answers) == 3 * sessions
        metrics = http("GET", f"{gateway.base}/metrics")[2].decode()
        assert 'warden_decisions_total{server="remote",tool="add",decision="allow"} 192' in metrics
    finally:
        gateway.stop()
        process.terminate()
        process.wait(timeout=TIMEOUT)
