"""Byte faithfulness and hostile input, with the raw fixture server."""

import json
from pathlib import Path

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


def test_requests_reach_the_server_byte_for_byte(raw_client, tmp_path: Path):
    log = tmp_path / "server.log"
    client = raw_client(ALLOW_ALL, extra_env={"ECHO_SERVER_LOG": str(log)})
    client.initialize()
    client.send(UNUSUAL_CALL)
    response = client.read()
    assert response["id"] == "call-1"
    # The echo tool answers with the exact line it read.
    assert response["result"]["content"][0]["text"].encode() == UNUSUAL_CALL
    assert UNUSUAL_CALL + b"\n" in log.read_bytes().splitlines(keepends=True)
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
    assert duplicate["id"] is None and duplicate["error"]["code"] == -32600
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
    assert [element.get("id") for element in forwarded] == [1, None]

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
