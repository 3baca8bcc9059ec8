"""What passes through untouched, pagination, list changes, shadow mode and reloads."""

import os
import signal
import time

from conftest import audit

ALLOW_ALL = 'version: "1"\ndefault: allow\n'


def list_all_tools(client, first_id: int) -> list[str]:
    names, cursor, request_id = [], None, first_id
    while True:
        params = {"cursor": cursor} if cursor else {}
        client.request({"jsonrpc": "2.0", "id": request_id, "method": "tools/list", "params": params})
        result = client.read()["result"]
        names += [tool["name"] for tool in result["tools"]]
        cursor = result.get("nextCursor")
        request_id += 1
        if not cursor:
            return names


def test_server_requests_and_client_responses_pass_through(raw_client):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    client.request({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ask", "arguments": {}}})
    sampling = client.read()
    assert sampling == {"jsonrpc": "2.0", "id": "s-1", "method": "sampling/createMessage", "params": {"messages": [], "maxTokens": 5}}
    reply = b'{"jsonrpc":"2.0","id":"s-1","result":{"role":"assistant","content":{"type":"text","text":"hi"},"model":"m"}}'
    client.send(reply)
    answer = client.read()
    assert answer["id"] == 1
    assert answer["result"]["content"][0]["text"].encode() == reply


def test_pages_are_filtered_and_keep_their_cursors(raw_client):
    client = raw_client('version: "1"\ndefault: allow\nhide: [crash, noise]\n')
    client.initialize()
    client.request({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    first = client.read()["result"]
    assert [tool["name"] for tool in first["tools"]] == ["echo"]
    assert first["nextCursor"] == "2"
    assert list_all_tools(client, 2) == [
        "echo", "weird", "ask", "grow", "slow", "fail", "rpcerror", "notify", "big", "kill", "orphan", "route"]


def test_a_changed_tool_list_is_learned_again(raw_client):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    client.request({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "extra", "arguments": {}}})
    assert client.read()["error"]["message"] == "Unknown tool: extra"
    client.request({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "grow", "arguments": {}}})
    assert client.read() == {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
    assert client.read()["id"] == 2
    client.request({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "extra", "arguments": {}}})
    assert client.read()["result"]["isError"] is False


def test_shadow_mode_forwards_and_audits_would_be_denials(raw_client, warden, db):
    client = raw_client('version: "1"\ndefault: allow\ntools:\n  echo: {mode: shadow, action: deny, reason: not yet}\n')
    client.initialize()
    client.request({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"a": 1}}})
    assert client.read()["result"]["isError"] is False
    assert client.close() == 0
    [record] = audit(warden, db)
    assert (record["decision"], record["rule"], record["upstream_status"]) == ("shadow_deny", "/tools/echo/action", "ok")


def test_sighup_reloads_the_policy_and_a_broken_policy_keeps_the_old_one(raw_client, tmp_path):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    call = lambda request_id: client.request(
        {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": "echo", "arguments": {}}})
    call(1)
    assert client.read()["result"]["isError"] is False

    policy = tmp_path / "policy.yaml"
    policy.write_text('version: "1"\ndefault: allow\ntools:\n  echo: {action: deny, reason: closed}\n')
    os.kill(client.process.pid, signal.SIGHUP)
    deadline = time.monotonic() + 10
    while True:
        call(2)
        answer = client.read()
        if answer["result"]["isError"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert answer["result"]["content"][0]["text"] == "[POLICY DENIED] closed (rule /tools/echo/action)"

    policy.write_text('version: "1"\ndefault: allow\ntools:\n  echo: {acton: allow}\n')
    os.kill(client.process.pid, signal.SIGHUP)
    time.sleep(1.5)
    call(3)
    assert client.read()["result"]["isError"] is True, "an invalid policy must keep the previous one in force"
    assert client.close() == 0
    assert b"policy not reloaded" in b"".join(client.stderr)


def test_an_edited_policy_file_is_reloaded_without_a_signal(raw_client, tmp_path, warden, db):
    client = raw_client('version: "1"\ndefault: allow\n')
    client.initialize()
    client.request({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert "crash" in [tool["name"] for tool in client.read()["result"]["tools"]]

    (tmp_path / "policy.yaml").write_text('version: "1"\ndefault: allow\nhide: [crash]\ntools:\n  echo: {action: deny, reason: edited}\n')
    deadline = time.monotonic() + 10
    request_id = 2
    while True:
        client.request({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": {"name": "echo", "arguments": {}}})
        answer = client.read()
        if answer["result"]["isError"] or time.monotonic() > deadline:
            break
        request_id += 1
        time.sleep(0.1)
    assert answer["result"]["content"][0]["text"] == "[POLICY DENIED] edited (rule /tools/echo/action)"
    # Discovery follows the new version too.
    client.request({"jsonrpc": "2.0", "id": "list", "method": "tools/list"})
    assert "crash" not in [tool["name"] for tool in client.read()["result"]["tools"]]
    client.request({"jsonrpc": "2.0", "id": "c", "method": "tools/call", "params": {"name": "crash", "arguments": {}}})
    assert client.read()["error"] == {"code": -32602, "message": "Unknown tool: crash"}
    assert client.close() == 0
    records = audit(warden, db)
    assert len({r["policy_hash"] for r in records}) == 2, "the audit log names the version that decided"
    assert records[-1]["decision"] == "hidden"
