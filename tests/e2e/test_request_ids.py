"""Request ids: every forwarded request goes to the server under an id of Warden's own, so an
answer is matched to its request whatever id the client chose, repeated or the server
re-encoded; ids that JSON-RPC does not allow, and repeated ids, are refused at once."""

import json
import re
import socket
import time
from pathlib import Path

from conftest import TIMEOUT, audit, wait_for
from test_http_gateway import INITIALIZE, Gateway, bearer, gateway, http, open_session  # noqa: F401

ALLOW_ALL = """
version: "1"
default: allow
"""

HIDE_CRASH = """
version: "1"
default: allow
hide: [crash]
"""


def raw_id(line: bytes) -> bytes:
    match = re.search(rb'"id":\s*("[^"]*"|[-0-9.eE+]+|Infinity)', line)
    assert match, line
    return match.group(1)


def test_ids_a_python_server_re_encodes_still_match_byte_for_byte(raw_client):
    """mcp-server-time (the Python SDK) writes -0 as 0, 1E2 as 100.0 and 1e400 as Infinity:
    answers under those ids used to go unmatched. The server now sees Warden's ids, and the
    client gets each answer under the id it wrote, byte for byte."""
    client = raw_client(ALLOW_ALL, server=["mcp-server-time"])
    client.initialize()
    for spelled in (b"-0", b"1E2", b"1e400", b"12345678901234567890123", b'"\\u0041"'):
        client.send(b'{"jsonrpc":"2.0","id":' + spelled + b',"method":"tools/call","params":'
                    b'{"name":"get_current_time","arguments":{"timezone":"UTC"}}}')
        line = client.read_line()
        assert raw_id(line) == spelled, line
        assert b'"result"' in line and b"UTC" in line
        client.send(b'{"jsonrpc":"2.0","id":' + spelled + b',"method":"tools/list"}')
        assert raw_id(client.read_line()) == spelled
    assert client.close() == 0


def test_a_repeated_id_is_refused_while_the_first_is_in_progress(raw_client):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    client.call(5, "slow", {"seconds": 1})
    client.call(5, "echo", {"n": 2})
    refused = client.read(timeout=0.9)
    assert refused["id"] == 5 and refused["error"]["code"] == -32600
    assert "already in progress" in refused["error"]["message"]
    answered = client.read()
    assert answered["id"] == 5 and "result" in answered
    # Once answered, the id may be used again.
    client.call(5, "echo", {"n": 3})
    assert "result" in client.read()
    # In a batch, a repeated id is refused and the rest is served.
    client.request([{"jsonrpc": "2.0", "id": 7, "method": "tools/list"},
                    {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": {}}}])
    batch = client.read()
    assert sorted(("result" in answer, answer["id"]) for answer in batch) == [(False, 7), (True, 7)]
    assert client.close() == 0


def test_a_batch_repeating_an_id_is_answered_at_once_and_shutdown_stays_bounded(warden, env, tmp_path: Path):
    gateway = Gateway(warden, env, tmp_path)
    try:
        (tmp_path / "hide_crash.yaml").write_text(HIDE_CRASH)
        token = gateway.grant("agent", "hide_crash.yaml", "echo")
        session = open_session(gateway, "echo", token)
        headers = {**bearer(token), "mcp-session-id": session, "accept": "application/json"}
        started = time.monotonic()
        status, _, body = http("POST", gateway.url("echo"), [
            {"jsonrpc": "2.0", "id": 7, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": {}}},
        ], headers)
        assert time.monotonic() - started < 3, "answered at once, not at the upstream timeout"
        assert status == 200, body
        answers = json.loads(body)
        listed = [answer for answer in answers if "result" in answer]
        refused = [answer for answer in answers if "error" in answer]
        assert len(listed) == 1 and len(refused) == 1
        assert refused[0]["id"] == 7 and refused[0]["error"]["code"] == -32600
        assert "crash" not in [tool["name"] for tool in listed[0]["result"]["tools"]]
    finally:
        started = time.monotonic()
        assert gateway.stop() == 0
        assert time.monotonic() - started < 10


def sse_events(sock: socket.socket, buffer: bytearray, until, timeout: float = TIMEOUT) -> list[dict]:
    """Reads `data:` lines of an SSE response from `sock` until `until(messages)` holds."""
    deadline = time.monotonic() + timeout
    messages: list = []
    while not until(messages):
        assert time.monotonic() < deadline, f"no such events within {timeout} s: {messages}"
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        assert chunk, "the stream ended"
        buffer += chunk
        while b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            if line.startswith(b"data:"):
                data = line[5:].strip()
                messages.append(json.loads(data) if data.startswith((b"{", b"[")) else data.decode())
    return messages


def test_legacy_sse_never_sends_an_unfiltered_list_for_a_repeated_id(warden, env, tmp_path: Path):
    """A batch [tools/list 7, tools/call 7] on the legacy transport: the list's answer used to be
    matched to the call, and went out unfiltered, hidden tool and all."""
    gateway = Gateway(warden, env, tmp_path)
    try:
        (tmp_path / "hide_crash.yaml").write_text(HIDE_CRASH)
        token = gateway.grant("legacy", "hide_crash.yaml", "echo")
        port = int(gateway.base.rsplit(":", 1)[1])
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        sock.sendall(f"GET /sse/echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
                     f"Authorization: Bearer {token}\r\n\r\n".encode())
        buffer = bytearray()
        endpoint = sse_events(sock, buffer, lambda messages: len(messages) >= 1)[0]
        assert endpoint.startswith("/messages/echo?session_id=")

        def post(message) -> int:
            return http("POST", gateway.base + endpoint, message, bearer(token))[0]

        assert post(INITIALIZE) == 202
        sse_events(sock, buffer, lambda messages: any(isinstance(m, dict) and m.get("id") == 1 for m in messages))
        assert post({"jsonrpc": "2.0", "method": "notifications/initialized"}) == 202
        assert post([{"jsonrpc": "2.0", "id": 7, "method": "tools/list"},
                     {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": {}}}]) == 202
        events = sse_events(sock, buffer, lambda messages: sum(
            1 for m in messages for a in (m if isinstance(m, list) else [m]) if isinstance(a, dict) and a.get("id") == 7) >= 2)
        answers = [a for m in events for a in (m if isinstance(m, list) else [m]) if isinstance(a, dict) and a.get("id") == 7]
        assert "crash" not in json.dumps(answers), "a hidden tool reached the client"
        listed = [a for a in answers if "result" in a]
        assert len(listed) == 1 and [t["name"] for t in listed[0]["result"]["tools"]].count("echo") == 1
        assert [a["error"]["code"] for a in answers if "error" in a] == [-32600]
        sock.close()
    finally:
        gateway.stop()
    # The call was refused before policing: no audit entry claims it was forwarded and answered.
    assert all(record["tool"] != "echo" or record["decision"] != "allow" for record in audit(warden, gateway.db))


def test_ids_json_rpc_does_not_allow_are_refused_at_once(gateway):
    token = gateway.grant("agent", "echo.yaml", "echo", "time")
    session = open_session(gateway, "echo", token)
    headers = {**bearer(token), "mcp-session-id": session}
    for bad in (True, {"a": 1}, None, [1]):
        started = time.monotonic()
        status, _, body = http("POST", gateway.url("echo"), {"jsonrpc": "2.0", "id": bad, "method": "ping"}, headers)
        assert time.monotonic() - started < 3
        assert status == 400, (bad, status, body)
        assert json.loads(body)["error"]["code"] == -32600
    # A nested batch, and bad ids inside a batch: each refused in the batch's answer.
    status, _, body = http("POST", gateway.url("echo"), [
        [{"jsonrpc": "2.0", "id": 1, "method": "ping"}],
        {"jsonrpc": "2.0", "id": True, "method": "ping"},
        {"jsonrpc": "2.0", "id": 3, "method": "ping"},
    ], headers)
    assert status == 200, body
    answers = json.loads(body)
    assert sorted(json.dumps(answer.get("error", {}).get("code")) for answer in answers) == ["-32600", "-32600", "null"]
    assert [answer["id"] for answer in answers if "result" in answer] == [3]
    # Only refusals: still answered, never a bare 202.
    status, _, body = http("POST", gateway.url("echo"), [[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]], headers)
    assert status == 200 and [answer["error"]["code"] for answer in json.loads(body)] == [-32600]
    # The aggregated endpoint refuses them the same way.
    status, response_headers, body = http("POST", f"{gateway.base}/mcp", INITIALIZE, bearer(token))
    assert status == 200, body
    aggregated = {**bearer(token), "mcp-session-id": response_headers["mcp-session-id"]}
    status, _, body = http("POST", f"{gateway.base}/mcp", {"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"}, aggregated)
    assert status == 400 and json.loads(body)["error"]["code"] == -32600
    status, _, body = http("POST", f"{gateway.base}/mcp", [
        {"jsonrpc": "2.0", "id": 4, "method": "ping"}, {"jsonrpc": "2.0", "id": 4, "method": "ping"}], aggregated)
    assert status == 200 and sorted(json.dumps(a.get("error", {}).get("code")) for a in json.loads(body)) == ["-32600", "null"]


def test_a_tools_call_refused_as_unreadable_over_http_is_audited(gateway):
    token = gateway.grant("prober", "echo.yaml", "echo")
    session = open_session(gateway, "echo", token)
    raw = b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"k":"hunter2","k":"x"}}}'
    status, _, body = http("POST", gateway.url("echo"), None, {**bearer(token), "mcp-session-id": session}, raw=raw)
    assert status == 400 and json.loads(body)["error"]["code"] == -32600

    def calls() -> list[dict]:
        return [record for record in audit(gateway.warden, gateway.db) if record["method"] == "tools/call"]

    wait_for(lambda: calls() != [])  # audit records are written in the background
    records = calls()
    assert [(record["tool"], record["decision"], record["session"]) for record in records] == [("echo", "invalid", session)]
    assert records[0]["identity"] == "prober" and "duplicate" in records[0]["message"]
    assert "hunter2" not in json.dumps(records)


def test_a_request_past_its_deadline_is_answered_audited_and_cancelled_upstream(warden, env, tmp_path: Path):
    log = tmp_path / "server.log"
    gateway = Gateway(warden, {**env, "ECHO_SERVER_LOG": str(log)}, tmp_path, upstream_timeout="1s")
    try:
        token = gateway.grant("agent", "echo.yaml", "echo")
        session = open_session(gateway, "echo", token)
        call = {"jsonrpc": "2.0", "id": "slow-1", "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 4}}}
        started = time.monotonic()
        status, _, body = http("POST", gateway.url("echo"), call, {**bearer(token), "mcp-session-id": session, "accept": "application/json"})
        assert time.monotonic() - started < 3.5
        assert status == 200 and json.loads(body)["error"]["code"] == -32603 and json.loads(body)["id"] == "slow-1"
        wait_for(lambda: any(record["tool"] == "slow" for record in audit(warden, gateway.db)))  # written in the background
        records = [record for record in audit(warden, gateway.db) if record["tool"] == "slow"]
        assert [(record["decision"], record["upstream_status"]) for record in records] == [("allow", "no response (timed out)")]
        # The server was asked to cancel it, under the id it knows.
        wait_for_line = time.monotonic() + TIMEOUT
        while b"notifications/cancelled" not in log.read_bytes():
            assert time.monotonic() < wait_for_line, log.read_bytes()
            time.sleep(0.05)
        forwarded = [json.loads(line) for line in log.read_bytes().splitlines() if b'"slow"' in line][0]
        cancelled = [json.loads(line) for line in log.read_bytes().splitlines() if b"notifications/cancelled" in line][0]
        assert cancelled["params"]["requestId"] == forwarded["id"]
    finally:
        assert gateway.stop() == 0


def test_a_call_the_client_cancels_is_cancelled_upstream_and_its_late_answer_dropped(raw_client, warden, db, tmp_path: Path):
    log = tmp_path / "server.log"
    client = raw_client(ALLOW_ALL, extra_env={"ECHO_SERVER_LOG": str(log)})
    client.initialize()
    client.call("c", "slow", {"seconds": 1})
    client.request({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "c", "reason": "no"}})
    # A cancellation of a request not in progress is not passed on (its id could be Warden's of another).
    client.request({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "reason": "no"}})
    assert client.nothing_more(within=1.5), "the late answer to a cancelled call reached the client"
    client.request({"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert client.read()["id"] == 2
    assert client.close() == 0
    seen = [json.loads(line) for line in log.read_bytes().splitlines()]
    slow = next(message for message in seen if message.get("params", {}).get("name") == "slow")
    cancels = [message for message in seen if message.get("method") == "notifications/cancelled"]
    assert [message["params"]["requestId"] for message in cancels] == [slow["id"]]
    assert [record["upstream_status"] for record in audit(warden, db) if record["tool"] == "slow"] == ["no response (cancelled by the client)"]


def test_random_batches_of_odd_and_repeated_ids_are_each_answered_once(raw_client):
    """An attack of mixed batches: valid ids of every kind, repeats within a batch, ids of
    calls still running, ids JSON-RPC forbids, nested batches and notifications. Every
    request gets exactly one answer: the first of each id in a batch is served, and the
    rest is refused at once; nothing hangs and the session goes on."""
    import random

    generator = random.Random(12)
    client = raw_client(ALLOW_ALL)
    client.initialize()
    spellings = ["0", "-0", "1E2", "7", '"7"', '""', '"\\u00e9"', "12345678901234567890", "1.5"]
    for round_number in range(30):
        elements, expected = [], []
        seen = set()
        for _ in range(generator.randint(1, 6)):
            kind = generator.random()
            if kind < 0.1:
                elements.append(b'{"jsonrpc":"2.0","id":true,"method":"ping"}')
                expected.append(("refused", None))
            elif kind < 0.15:
                elements.append(b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]')
                expected.append(("refused", None))
            elif kind < 0.25:
                elements.append(b'{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}')
            else:
                spelled = generator.choice(spellings)
                # Warden tells ids apart by their exact text: -0 is not 0.
                key = ("str", json.loads(spelled)) if spelled.startswith('"') else ("num", spelled)
                tool = generator.choice(["echo", "slow"])
                arguments = '{"seconds":0.01}' if tool == "slow" else '{"n":%d}' % round_number
                elements.append(b'{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"%s","arguments":%s}}'
                                % (spelled.encode(), tool.encode(), arguments.encode()))
                expected.append(("refused" if key in seen else "served", key))
                seen.add(key)
        client.send(b"[" + b",".join(elements) + b"]")
        if not expected:
            continue
        answers = []
        while len(answers) < len(expected):
            # Numbers kept as their text, to see each id exactly as Warden sent it back.
            line = json.loads(client.read_line(), parse_int=lambda text: ("num", text),
                              parse_float=lambda text: ("num", text))
            answers += line if isinstance(line, list) else [line]
        assert client.nothing_more(within=0.05)
        served = sorted(repr(a["id"] if isinstance(a["id"], tuple) else ("str", a["id"])) for a in answers if "result" in a)
        refused = [a for a in answers if "error" in a]
        assert served == sorted(repr(key) for outcome, key in expected if outcome == "served")
        assert len(refused) == sum(1 for outcome, _ in expected if outcome == "refused")
        assert all(a["error"]["code"] == ("num", "-32600") for a in refused)
    client.request({"jsonrpc": "2.0", "id": "last", "method": "ping"})
    assert client.read()["id"] == "last"
    assert client.close() == 0


def test_a_forwarded_call_the_client_cancels_over_http_lets_its_post_go(gateway):
    import threading

    token = gateway.grant("agent", "echo.yaml", "echo")
    session = open_session(gateway, "echo", token)
    headers = {**bearer(token), "mcp-session-id": session, "accept": "application/json"}
    call = {"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 3}}}
    answered: dict = {}
    poster = threading.Thread(target=lambda: answered.update(reply=http("POST", gateway.url("echo"), call, headers)))
    started = time.monotonic()
    poster.start()
    time.sleep(0.3)
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 41, "reason": "gave up"}}
    assert http("POST", gateway.url("echo"), cancel, headers)[0] == 202
    poster.join(TIMEOUT)
    assert time.monotonic() - started < 2.5, "the POST waited for the server instead of letting go"
    status, _, body = answered["reply"]
    assert status == 200 and json.loads(body)["error"]["code"] == -32800
    # The id is free again at once.
    status, _, body = http("POST", gateway.url("echo"), {**call, "params": {"name": "echo", "arguments": {}}}, headers)
    assert status == 200 and "result" in json.loads(body)


def test_refusals_held_for_a_batch_are_sent_when_its_forwarded_call_is_cancelled(raw_client):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    client.request([{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 1}}},
                    {"jsonrpc": "2.0", "id": 1, "method": "ping"}])
    client.request({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}})
    refused = client.read(timeout=0.9)
    assert [(answer["id"], answer["error"]["code"]) for answer in refused] == [(1, -32600)]
    assert client.nothing_more(within=1.5), "the cancelled call's late answer reached the client"
    # An element that is not a request does not make a later one with its id a repeat.
    client.request([{"jsonrpc": "2.0", "id": 2, "method": 5}, {"jsonrpc": "2.0", "id": 2, "method": "ping"}])
    batch = client.read()
    assert sorted(json.dumps(answer.get("result")) for answer in batch) == ["null", "{}"]
    assert client.close() == 0


def test_a_filtered_tools_list_keeps_the_clients_id_spelling(raw_client):
    client = raw_client(HIDE_CRASH)
    client.initialize()
    client.send(b'{"jsonrpc":"2.0","id":"\\u0041","method":"tools/list"}')
    line = client.read_line()
    assert b'"id":"\\u0041"' in line and b'"crash"' not in line
    client.send(b'[{"jsonrpc":"2.0","id":1E2,"method":"tools/list"},{"jsonrpc":"2.0","id":-0,"method":"ping"}]')
    line = client.read_line()
    assert b'"id":1E2' in line and b'"id":-0' in line and b'"crash"' not in line
    assert client.close() == 0


def test_the_aggregated_endpoint_refuses_an_id_in_progress_on_another_server(gateway):
    import threading

    token = gateway.grant("agent", "echo.yaml", "echo", "time")
    status, response_headers, body = http("POST", f"{gateway.base}/mcp", INITIALIZE, bearer(token))
    assert status == 200, body
    headers = {**bearer(token), "mcp-session-id": response_headers["mcp-session-id"], "accept": "application/json"}
    slow = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo__slow", "arguments": {"seconds": 2}}}
    answered: dict = {}
    poster = threading.Thread(target=lambda: answered.update(reply=http("POST", f"{gateway.base}/mcp", slow, headers)))
    poster.start()
    time.sleep(0.5)
    other = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "time__get_current_time", "arguments": {"timezone": "UTC"}}}
    status, _, body = http("POST", f"{gateway.base}/mcp", other, headers)
    assert status == 200 and json.loads(body)["error"]["code"] == -32600, body
    poster.join(TIMEOUT)
    assert "result" in json.loads(answered["reply"][2])
