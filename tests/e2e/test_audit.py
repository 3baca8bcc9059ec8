"""What the audit log records for each kind of decision and answer, and who made the call."""

import hashlib
import json
from pathlib import Path

from conftest import audit, verify

POLICY = """
version: "1"
default: allow
hide: [weird]
"""


def test_each_decision_and_upstream_answer_is_recorded(raw_client, warden, db, tmp_path: Path):
    client = raw_client(POLICY, "--server", "fixture", "--identity", "auditor")
    client.initialize()

    client.call(1, "echo", {"x": 1})
    assert client.read()["result"]["isError"] is False
    client.call("two", "fail")
    assert client.read()["result"] == {"content": [{"type": "text", "text": "the tool failed"}], "isError": True}
    client.call(3, "rpcerror")
    # The server's own error is passed on as it wrote it.
    assert client.read_line() == b'{"jsonrpc": "2.0", "id": 3, "error": {"code": -32001, "message": "fixture failure"}}'
    client.call(4, "weird")
    assert client.read()["error"] == {"code": -32602, "message": "Unknown tool: weird"}
    client.call(5, "nope")
    assert client.read()["error"] == {"code": -32602, "message": "Unknown tool: nope"}
    client.request({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"arguments": {}}})
    assert client.read()["error"]["code"] == -32602
    client.request({"jsonrpc": "2.0", "id": 7, "method": "ping"})
    assert client.read()["id"] == 7
    assert client.close() == 0

    records = audit(warden, db)
    assert [(r["request_id"], r.get("tool"), r["decision"], r.get("upstream_status")) for r in records] == [
        ("1", "echo", "allow", "ok"),
        ('"two"', "fail", "allow", "tool_error"),
        ("3", "rpcerror", "allow", "error -32001"),
        ("4", "weird", "hidden", None),
        ("5", "nope", "unknown_tool", None),
        ("6", None, "invalid", None),
    ], "one record per tools/call, none for other methods"
    assert all(r["identity"] == "auditor" and r["server"] == "fixture" and r["method"] == "tools/call" for r in records)
    assert len({r["session"] for r in records}) == 1
    for record in records[:3]:
        assert isinstance(record["latency_ms"], (int, float)) and record["latency_ms"] >= 0
        assert record["rule"] == "(default allow)"
    assert all("latency_ms" not in r for r in records[3:])
    assert [r["seq"] for r in records] == list(range(1, 7))
    policy_hash = hashlib.sha256((tmp_path / "policy.yaml").read_bytes()).hexdigest()
    assert {r["policy_hash"] for r in records} == {policy_hash}
    assert verify(warden, db).stdout.splitlines()[0] == "audit log intact: 6 entries verified"


def test_arguments_are_hashed_canonically_and_never_stored(raw_client, warden, db):
    client = raw_client(POLICY)
    client.initialize()
    spellings = [
        b'{"b":[1,2.50],"a":"caf\\u00e9","c":{"z":1,"y":null},"secret":"hunter2"}',
        b'{ "secret" : "hunter2", "c":{"y":null,"z":1}, "a":"caf\xc3\xa9", "b":[ 1, 2.50 ] }',
    ]
    for number, arguments in enumerate(spellings):
        client.send(b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":' % number + arguments + b"}}")
        assert client.read()["id"] == number
    client.send(b'{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"b":[1,2.5]}}}')
    client.read()
    assert client.close() == 0

    first, second, third = audit(warden, db)
    canonical = '{"a":"café","b":[1,2.50],"c":{"y":null,"z":1},"secret":"hunter2"}'.encode()
    assert first["arguments_hash"] == second["arguments_hash"] == hashlib.sha256(canonical).hexdigest()
    assert first["argument_keys"] == second["argument_keys"] == ["a", "b", "c", "secret"]
    assert third["arguments_hash"] == hashlib.sha256(b'{"b":[1,2.5]}').hexdigest()
    stored = json.dumps([first, second, third], ensure_ascii=False)
    assert "hunter2" not in stored and "café" not in stored, "argument values are never stored"


def test_argument_values_are_kept_only_when_asked_for_and_redacted_as_told(raw_client, warden, db):
    client = raw_client(POLICY, "--audit-arguments", "--audit-redact", "args.secret", "--audit-redact", "args.card.number")
    client.initialize()
    client.call(1, "echo", {"amount": 12.50, "secret": "hunter2", "card": {"number": "4111", "holder": "A"}})
    assert client.read()["id"] == 1
    assert client.close() == 0
    [record] = audit(warden, db)
    assert record["arguments"] == {"amount": 12.50, "secret": "[redacted]", "card": {"number": "[redacted]", "holder": "A"}}
    assert "hunter2" not in json.dumps(record) and "4111" not in json.dumps(record)
    assert verify(warden, db).returncode == 0, "kept values are part of the hash chain"


LABELLED = """
version: "1"
default: deny
tools:
  echo:
    require:
      - {path: identity.labels.team, op: eq, value: payments, reason: only the payments team}
  fail:
    deny_if:
      - conditions: [{path: server, op: eq, value: production}]
        on_deny: not on production
"""


def test_identity_labels_and_server_name_reach_the_policy(raw_client, warden, db):
    payments = raw_client(LABELLED, "--identity", "alice", "--label", "team=payments", "--label", "tier=gold", "--server", "staging")
    payments.initialize()
    payments.call(1, "echo")
    assert payments.read()["result"]["isError"] is False
    payments.call(2, "fail")
    assert payments.read()["result"]["content"][0]["text"] == "the tool failed"
    assert payments.close() == 0

    sales = raw_client(LABELLED, "--identity", "bob", "--label", "team=sales", "--server", "production")
    sales.initialize()
    sales.call(1, "echo")
    denied = sales.read()["result"]
    assert denied["content"][0]["text"] == "[POLICY DENIED] only the payments team (rule /tools/echo/require/0)"
    sales.call(2, "fail")
    assert sales.read()["result"]["content"][0]["text"] == "[POLICY DENIED] not on production (rule /tools/fail/deny_if/0)"
    sales.call(3, "crash")
    assert sales.read()["result"]["content"][0]["text"].endswith("(rule (default deny))")
    assert sales.close() == 0

    assert [(r["identity"], r["server"], r["tool"], r["decision"]) for r in audit(warden, db)] == [
        ("alice", "staging", "echo", "allow"),
        ("alice", "staging", "fail", "allow"),
        ("bob", "production", "echo", "deny"),
        ("bob", "production", "fail", "deny"),
        ("bob", "production", "crash", "deny"),
    ]
    assert [r["seq"] for r in audit(warden, db, "--identity", "bob")] == [3, 4, 5]
    assert [r["tool"] for r in audit(warden, db, "--decision", "deny")] == ["echo", "fail", "crash"]


def test_tools_calls_refused_before_they_can_be_read_are_audited_without_values(raw_client, warden, db):
    """Duplicate keys, invalid UTF-8, nesting too deep, over the size limit: each refused call
    leaves an audit entry with the tool it names (or seems to), the reason, who and which
    session; never the values."""
    client = raw_client(POLICY, "--identity", "probe", "--max-message-bytes", "4096")
    client.initialize()
    call = b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"%s","arguments":%s}}'
    client.send(call % (1, b"echo", b'{"secret":"hunter2","secret":"x"}'))
    client.send(call % (2, b"echo\xff", b'{"secret":"hunter2"}'))
    client.send(call % (3, b"deep", b"[" * 100 + b"]" * 100))
    client.send(call % (4, b"big", b'{"secret":"' + b"hunter2" * 1000 + b'"}'))
    # Ambiguous: two methods (one tools/call, escaped), two tool names.
    client.send(b'{"jsonrpc":"2.0","id":5,"method":"tools\\/call","method":"ping","params":{"name":"ok","name":"rm"}}')
    for expected in (1, 2, 3, 4, 5):
        answer = client.read()
        assert answer["error"]["code"] == -32600 and answer["id"] == expected
    assert client.close() == 0
    records = [record for record in audit(warden, db) if record["method"] == "tools/call"]
    assert [(record["tool"], record["decision"]) for record in records] == [
        ("echo", "invalid"), ("echo\ufffd", "invalid"), ("deep", "invalid"), ("big", "invalid"), ("ok | rm", "invalid")]
    assert all(record["identity"] == "probe" and record["session"] for record in records)
    assert all(record["message"].startswith("refused before policing: ") for record in records)
    assert "duplicate" in records[0]["message"] and "4096" in records[3]["message"]
    assert "hunter2" not in json.dumps(records)
    assert verify(warden, db).returncode == 0
