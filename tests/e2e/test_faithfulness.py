"""Byte faithfulness and hostile input, with the raw fixture server."""

import json
import re
from pathlib import Path

import pytest

from conftest import audit

ALLOW_ALL = """
version: "1"
default: allow
"""

UNUSUAL_CALL = (
    b'{"params":{"arguments":{"z":1.0,"a":[1E+2,-0,12345678901234567890123,1e-7],'
    b'"s":"caf\\u00e9 caf\xc3\xa9 \\ud83d\\ude00 \\/ \\"q\\"","o":{},"e":[]},"name":"echo"},'
    b'"method":"tools/call","id":"call-1","jsonrpc":"2.0"}'
)


def but_id(message: bytes) -> bytes:
    """`message` with its top-level id masked: Warden sends each request to the server under an
    id of its own (a number), and every other byte as the client wrote it."""
    return re.sub(rb'"id":(\s*)("[^"]*"|[-0-9.eE+]+)', rb'"id":\1#', message, count=1)


def test_requests_reach_the_server_byte_for_byte(raw_client, tmp_path: Path):
    log = tmp_path / "server.log"
    client = raw_client(ALLOW_ALL, extra_env={"ECHO_SERVER_LOG": str(log)})
    client.initialize()
    client.send(UNUSUAL_CALL)
    response = client.read()
    assert response["id"] == "call-1"
    # The echo tool answers with the exact line it read: the client's bytes, but for the id,
    # which is Warden's own (a number) so that the answer is matched whatever the server does.
    seen = response["result"]["content"][0]["text"].encode()
    prefix, suffix = UNUSUAL_CALL.split(b'"call-1"')
    assert seen.startswith(prefix) and seen.endswith(suffix)
    assert seen[len(prefix) : len(seen) - len(suffix)].isdigit()
    assert seen + b"\n" in log.read_bytes().splitlines(keepends=True)
    assert client.close() == 0


def test_responses_reach_the_client_byte_for_byte(raw_client):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    client.request({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "weird", "arguments": {}}})
    line = client.read_line()
    assert line == (
        b'{"jsonrpc":"2.0",  "result":{"content":[{"type":"text","text":"caf\\u00e9 \\/ \xc3\xa9 \xf0\x9f\x98\x80"}],'
        b'"n":1.0E+2,"m":-0,"big":12345678901234567890123,"isError":false},"id":7}'
    )


def test_non_json_lines_from_the_server_are_dropped(raw_client):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    client.request({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "noise", "arguments": {}}})
    response = client.read()
    # The non-JSON line came first from the server and was dropped: the next line is the answer.
    assert response["id"] == 8
    client.request({"jsonrpc": "2.0", "id": 9, "method": "ping"})
    assert client.read()["id"] == 9


def test_malformed_and_ambiguous_input_is_refused(raw_client, tmp_path: Path):
    log = tmp_path / "server.log"
    client = raw_client(ALLOW_ALL, "--max-message-bytes", "2048", extra_env={"ECHO_SERVER_LOG": str(log)})
    client.initialize()

    client.send(b'{"jsonrpc":"2.0","id":1,"method":')
    parse_error = client.read()
    assert parse_error["id"] is None and parse_error["error"]["code"] == -32700

    client.send(b'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","name":"crash"}}')
    duplicate = client.read()
    assert duplicate["id"] == 2 and duplicate["error"]["code"] == -32600
    assert "duplicate key" in duplicate["error"]["message"]

    client.send(b"[" * 100 + b"]" * 100)
    assert client.read()["error"]["code"] == -32600

    client.send(b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"x":"' + b"a" * 4000 + b'"}}}')
    too_large = client.read()
    assert too_large["error"]["code"] == -32600 and "over the limit of 2048" in too_large["error"]["message"]

    client.send(b'{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"s":"\xff"}}}')
    assert client.read()["error"]["code"] == -32600

    # The session goes on, and the server never saw any of the refused messages.
    client.request({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "echo", "arguments": {}}})
    assert client.read()["id"] == 5
    seen = log.read_bytes()
    assert b'"id":2' not in seen and b'"id":3' not in seen and b'"id":4' not in seen and b"[[[" not in seen
    assert client.close() == 0


def test_batches_are_policed_per_element_and_answered_in_one_batch(raw_client, warden, db, tmp_path: Path):
    log = tmp_path / "server.log"
    client = raw_client("""
version: "1"
default: allow
tools:
  noise: {action: deny, reason: no noise}
""", extra_env={"ECHO_SERVER_LOG": str(log)})
    client.initialize()
    client.send(json.dumps([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"n": 1}}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "noise", "arguments": {}}},
        {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}},
    ]).encode())
    batch = client.read()
    assert isinstance(batch, list)
    answers = {element["id"]: element for element in batch}
    assert sorted(answers) == [1, 2]
    assert answers[2]["result"]["isError"] is True
    assert answers[2]["result"]["content"][0]["text"] == "[POLICY DENIED] no noise (rule /tools/noise/action)"
    assert answers[1]["result"]["isError"] is False
    # The server got the allowed request and the notification, not the refused call.
    forwarded = json.loads(log.read_bytes().splitlines()[-1])
    assert [element.get("id") is None for element in forwarded] == [False, True]
    assert forwarded[0]["params"]["name"] == "echo"

    # A batch with nothing for the server is answered by Warden alone.
    client.send(json.dumps([
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "noise", "arguments": {}}},
    ]).encode())
    alone = client.read()
    assert [element["id"] for element in alone] == [3]
    assert client.close() == 0
    assert sorted((r["tool"], r["decision"]) for r in audit(warden, db)) == [("echo", "allow"), ("noise", "deny"), ("noise", "deny")]


def test_unadvertised_tools_are_unknown_even_under_default_allow(raw_client):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    # No tools/list from the client: Warden lists the tools itself before deciding.
    for name in ("Echo", "echo ", "ech\u043e"):
        client.request({"jsonrpc": "2.0", "id": name, "method": "tools/call", "params": {"name": name, "arguments": {}}})
        error = client.read()
        assert error["id"] == name
        assert error["error"] == {"code": -32602, "message": f"Unknown tool: {name}"}


DENY_ECHO = """
version: "1"
default: allow
tools:
  echo: {action: deny, reason: no echo}
"""


def read_until_id(client, request_id) -> dict:
    """Reads messages until the answer to `request_id`, returning it."""
    while True:
        message = client.read()
        if isinstance(message, dict) and message.get("id") == request_id:
            return message


def test_server_answers_and_notifications_reach_the_client_byte_for_byte(raw_client):
    client = raw_client(ALLOW_ALL)
    client.request({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}})
    # The fixture writes Python's json.dumps spelling (", " and ": " separators): kept as is.
    assert client.read_line() == json.dumps({"jsonrpc": "2.0", "id": 0, "result": {
        "protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "echo", "version": "1"}}}).encode()
    client.request({"jsonrpc": "2.0", "method": "notifications/initialized"})

    client.request({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "notify", "arguments": {}}})
    assert client.read_line() == (
        b'{ "method" : "notifications/message","jsonrpc":"2.0", "params":{"level":"info","data":{"n":1.50,"e":2E-3,"s":"\\u00e9\\/"}}}')
    assert client.read()["id"] == 1

    # A tools/list result with nothing to hide is passed on unchanged too.
    client.request({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert client.read_line().startswith(b'{"jsonrpc": "2.0", "id": 2, "result": {"tools": [{"name": "echo", "description": ')
    assert client.close() == 0


def test_warden_answers_keep_the_request_ids_spelling(raw_client):
    """Warden's own answers (a denial, an unknown tool) carry the request's id: numbers keep
    their exact spelling; strings keep their value."""
    client = raw_client(DENY_ECHO)
    client.initialize()
    for raw_id in (b"12345678901234567890123", b"1.5e3", b"-0", b'"call \\u00e9"'):
        client.send(b'{"jsonrpc":"2.0","id":' + raw_id + b',"method":"tools/call","params":{"name":"echo","arguments":{}}}')
        denial = client.read_line()
        client.send(b'{"jsonrpc":"2.0","id":' + raw_id + b',"method":"tools/call","params":{"name":"nope","arguments":{}}}')
        unknown = client.read_line()

        assert json.loads(denial)["id"] == json.loads(raw_id)
        assert json.loads(denial)["result"]["isError"] is True
        assert json.loads(unknown) == {"jsonrpc": "2.0", "id": json.loads(raw_id),
                                       "error": {"code": -32602, "message": "Unknown tool: nope"}}
        if not raw_id.startswith(b'"'):
            assert denial.startswith(b'{"jsonrpc":"2.0","id":' + raw_id + b',')
            assert unknown.startswith(b'{"jsonrpc":"2.0","id":' + raw_id + b',')


def message_of_size(size: int, request_id: int) -> bytes:
    head = b'{"jsonrpc":"2.0","id":%d,"method":"ping","params":{"pad":"' % request_id
    tail = b'"}}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


def test_the_size_limit_is_exact(raw_client, tmp_path: Path):
    log = tmp_path / "server.log"
    client = raw_client(ALLOW_ALL, "--max-message-bytes", "2048", extra_env={"ECHO_SERVER_LOG": str(log)})
    client.initialize()
    at_limit = message_of_size(2048, 1)
    assert len(at_limit) == 2048
    client.send(at_limit)
    assert client.read() == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert but_id(at_limit) + b"\n" in [but_id(line) for line in log.read_bytes().splitlines(keepends=True)]

    over = message_of_size(2049, 2)
    client.send(over)
    refused = client.read()
    assert refused["id"] == 2 and refused["error"]["code"] == -32600  # the id is found even in a message too long to read
    assert "2049 bytes" in refused["error"]["message"]
    client.request({"jsonrpc": "2.0", "id": 3, "method": "ping"})
    assert client.read() == {"jsonrpc": "2.0", "id": 3, "result": {}}
    assert log.read_bytes().count(b'"pad"') == 1  # only the message at the limit reached the server


def test_crlf_and_blank_lines_from_the_client(raw_client, tmp_path: Path):
    log = tmp_path / "server.log"
    client = raw_client(ALLOW_ALL, extra_env={"ECHO_SERVER_LOG": str(log)})
    client.initialize()
    client.send(b"")
    client.send(b"")
    client.send(b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}}\r')
    answer = client.read()
    assert answer["id"] == 1
    assert but_id(answer["result"]["content"][0]["text"].encode()) == but_id(
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}}')


@pytest.mark.parametrize("framing", ["single", "batch"])
def test_a_tools_call_without_id_is_never_forwarded(raw_client, tmp_path: Path, framing):
    """A `tools/call` sent as a notification (no id) cannot be answered, but it must not reach
    the server unpoliced: a server that runs it would run a tool the policy refuses."""
    log = tmp_path / "server.log"
    client = raw_client(DENY_ECHO, extra_env={"ECHO_SERVER_LOG": str(log)})
    client.initialize()
    call = {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "echo", "arguments": {"command": "rm -rf /"}}}
    if framing == "single":
        client.request(call)
    else:
        client.request([call, {"jsonrpc": "2.0", "id": 5, "method": "ping"}])
    client.request({"jsonrpc": "2.0", "id": 6, "method": "ping"})
    assert read_until_id(client, 6) == {"jsonrpc": "2.0", "id": 6, "result": {}}
    forwarded = log.read_bytes()
    assert forwarded.count(b'"method": "ping"') + forwarded.count(b'"method":"ping"') == (1 if framing == "single" else 2)
    assert b"rm -rf" not in forwarded, f"a tools/call notification reached the server: {forwarded!r}"
    assert client.close() == 0


def test_a_large_answer_passes_whole(raw_client):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    size = 3_000_000  # under the default 4 MiB limit, far over a pipe's buffer
    client.call(1, "big", {"size": size})
    line = client.read_line()
    assert line == json.dumps({"jsonrpc": "2.0", "id": 1, "result": {
        "content": [{"type": "text", "text": "x" * size}], "isError": False}}).encode()
    client.request({"jsonrpc": "2.0", "id": 2, "method": "ping"})
    assert client.read()["id"] == 2


def test_an_answer_over_the_size_limit_still_answers_the_call(raw_client):
    """The server's answer is longer than --max-message-bytes: Warden drops it, but the call
    must not wait forever: the client gets an error for it."""
    client = raw_client(ALLOW_ALL, "--max-message-bytes", "2048")
    client.initialize()
    client.call(1, "big", {"size": 5000})
    answer = client.read(timeout=10)
    assert answer["id"] == 1
    assert "error" in answer, answer


def test_pipelined_calls_are_each_answered_and_forwarded_unchanged(raw_client, warden, db):
    client = raw_client(DENY_ECHO.replace("echo: {action: deny, reason: no echo}", "weird: {action: deny, reason: no}"))
    client.initialize()
    sent = {}
    for number in range(200):
        line = json.dumps({"jsonrpc": "2.0", "id": f"p-{number}", "method": "tools/call",
                           "params": {"name": "weird" if number % 10 == 0 else "echo", "arguments": {"n": number}}},
                          separators=(",", ":")).encode()
        sent[f"p-{number}"] = line
        client.send(line)
    answers = [client.read() for _ in range(200)]
    assert sorted(answer["id"] for answer in answers) == sorted(sent)
    for answer in answers:
        number = int(answer["id"][2:])
        if number % 10 == 0:
            assert answer["result"]["content"][0]["text"] == "[POLICY DENIED] no (rule /tools/weird/action)"
        else:
            assert but_id(answer["result"]["content"][0]["text"].encode()) == but_id(sent[answer["id"]])
    assert client.close() == 0
    decisions = [r["decision"] for r in audit(warden, db, "--limit", "1000")]
    assert decisions.count("allow") == 180 and decisions.count("deny") == 20
