"""`shared: true`: one stdio server process serves every session of `warden serve`, each
session still policed under its own grant, ids never crossing between sessions."""

import json
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import FIXTURES, wait_for
from test_http_gateway import Gateway, bearer, http, open_session, open_stream, read_events

SHARED = """
  shared_echo:
    command: [{python}, {server}]
    env: {{ECHO_SERVER_LOG: "{log}"}}
    shared: true
    policy: echo.yaml
"""


@pytest.fixture
def shared_gateway(warden, env, tmp_path):
    log = tmp_path / "shared.log"
    running = Gateway(warden, env, tmp_path, extra=SHARED.format(python=sys.executable, server=FIXTURES / "echo_server.py", log=log))
    running.log = log
    yield running
    running.stop()


def call(gateway: Gateway, token: str, session: str, request_id, tool: str, arguments: dict | None = None) -> dict:
    status, _, body = http("POST", gateway.url("shared_echo"), {
        "jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": tool, "arguments": arguments or {}}},
        {**bearer(token), "mcp-session-id": session, "accept": "application/json"})
    assert status == 200, body
    return json.loads(body)


def server_lines(gateway: Gateway) -> list[dict]:
    return [json.loads(line) for line in gateway.log.read_text().splitlines()] if gateway.log.exists() else []


def test_sessions_share_one_process_with_their_own_ids_and_policies(shared_gateway):
    gateway = shared_gateway
    (gateway.directory / "no_echo.yaml").write_text('version: "1"\ndefault: allow\ntools:\n  echo: {action: deny, reason: not you}\n')
    first = gateway.grant("first", "echo.yaml", "shared_echo")
    second = gateway.grant("second", "no_echo.yaml", "shared_echo")
    sessions = [(token, open_session(gateway, "shared_echo", token)) for token in [first, second] * 3]

    # Six sessions use the same request ids at once; each gets its own answers.
    def exchange(index: int) -> list[dict]:
        token, session = sessions[index]
        return [call(gateway, token, session, request_id, "echo", {"n": index}) for request_id in range(1, 6)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(exchange, range(6)))
    for index, answers in enumerate(results):
        assert [answer["id"] for answer in answers] == [1, 2, 3, 4, 5]
        if index % 2 == 0:
            # `echo` answers with the line the server read: the call as this session sent it.
            assert all(json.loads(answer["result"]["content"][0]["text"])["params"]["arguments"] == {"n": index} for answer in answers)
        else:
            assert all(answer["result"]["isError"] and "not you" in answer["result"]["content"][0]["text"] for answer in answers)

    lines = server_lines(gateway)
    assert [line.get("method") for line in lines].count("initialize") == 1, "one process, initialized once by Warden"
    calls = [line for line in lines if line.get("method") == "tools/call"]
    assert len(calls) == 15, "the denied session's calls never reached the server"
    assert all(isinstance(line["id"], str) and line["id"].startswith("w") for line in calls)


def test_a_session_ending_leaves_the_process_and_a_crash_ends_every_session(shared_gateway):
    gateway = shared_gateway
    token = gateway.grant("first", "echo.yaml", "shared_echo")
    one, two = open_session(gateway, "shared_echo", token), open_session(gateway, "shared_echo", token)
    assert http("DELETE", gateway.url("shared_echo"), None, {**bearer(token), "mcp-session-id": one})[0] == 200
    assert call(gateway, token, two, 1, "echo")["result"]["isError"] is False

    crashed = call(gateway, token, two, 2, "kill")  # the server dies mid-call
    assert crashed["error"]["code"] == -32603
    wait_for(lambda: http("POST", gateway.url("shared_echo"), {"jsonrpc": "2.0", "id": 3, "method": "ping"},
                          {**bearer(token), "mcp-session-id": two})[0] == 404)
    # The next session starts the server again.
    three = open_session(gateway, "shared_echo", token)
    assert call(gateway, token, three, 1, "echo")["result"]["isError"] is False
    assert [line.get("method") for line in server_lines(gateway)].count("initialize") == 2


def test_progress_reaches_only_the_session_whose_call_it_is_and_notifications_reach_all(shared_gateway):
    gateway = shared_gateway
    token = gateway.grant("first", "echo.yaml", "shared_echo")
    sessions = [open_session(gateway, "shared_echo", token) for _ in range(2)]
    streams = [open_stream(gateway.url("shared_echo"), {**bearer(token), "mcp-session-id": session}) for session in sessions]
    for index, session in enumerate(sessions):
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "notify", "arguments": {}, "_meta": {"progressToken": "same-token"}}}
        status, _, _ = http("POST", gateway.url("shared_echo"), call, {**bearer(token), "mcp-session-id": session})
        assert status == 200
    for connection, response in streams:
        # Each session: both calls' notifications/message (sent to every session), and the
        # progress of its own call only, with the token it chose.
        events = [message for _, message in read_events(response, 3)]
        methods = sorted(message["method"] for message in events)
        assert methods == ["notifications/message", "notifications/message", "notifications/progress"]
        progress = next(message for message in events if message["method"] == "notifications/progress")
        assert progress["params"]["progressToken"] == "same-token"
        connection.sock.settimeout(1.0)
        with pytest.raises(TimeoutError):
            read_events(response, 1)  # nothing more: the other session's progress did not come here
        connection.close()
