"""The server's life: crashes, end of input, exit statuses."""

import time

from conftest import audit

ALLOW_ALL = 'version: "1"\ndefault: allow\n'
ONE_CRASH_A_DAY = """
version: "1"
default: allow
tools:
  crash:
    limits: [{window: day, max: 1}]
"""


def test_a_crash_mid_call_answers_the_client_and_exits_with_the_servers_status(raw_client, warden, db):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    client.request({"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": {"name": "crash", "arguments": {}}})
    error = client.read()
    assert error["id"] == 41
    assert error["error"]["code"] == -32603
    assert "exited before answering" in error["error"]["message"]
    assert client.process.wait(timeout=20) == 3
    records = audit(warden, db, "--tool", "crash")
    assert [(r["decision"], r["upstream_status"]) for r in records] == [("allow", "no response")]


def test_end_of_input_stops_the_server_and_warden(raw_client):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    started = time.monotonic()
    assert client.close() == 0
    assert time.monotonic() - started < 10


def test_a_rate_limited_call_that_fails_upstream_gives_its_count_back(raw_client, warden, db):
    client = raw_client(ONE_CRASH_A_DAY)
    client.initialize()
    client.request({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "crash", "arguments": {}}})
    assert client.read()["error"]["code"] == -32603
    assert client.process.wait(timeout=20) == 3
    # The crashed call never answered, so its reservation was rolled back: a new session may call again.
    second = raw_client(ONE_CRASH_A_DAY)
    second.initialize()
    second.request({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "crash", "arguments": {}}})
    assert second.read()["error"]["code"] == -32603
    assert [r["decision"] for r in audit(warden, db, "--tool", "crash")] == ["allow", "allow"]
