"""Revocation is the emergency stop: revoking a grant (or rotating its token) ends its calls held
for approval at once, and an approval whose admin token was revoked before the call ran does not
make it run."""

import json
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import TIMEOUT, audit, wait_for
from test_http_approvals import admin_token, api, held_gateway, start_held_gateway, wait_for_pending, webhook  # noqa: F401
from test_http_gateway import bearer, http, open_session

CALL = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "get_current_time", "arguments": {"timezone": "UTC"}}}


def listed(gateway, command: str) -> list[dict]:
    """`warden <command> list --format json`, as a list of objects."""
    result = subprocess.run([gateway.warden, command, "list", "--db", gateway.db, "--format", "json"],
                            capture_output=True, text=True, env=gateway.env, timeout=TIMEOUT, check=True)
    text = result.stdout.strip()
    return json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines()]


def assert_audited(gateway, decisions: list[str]) -> None:
    """The call's audit entries say `decisions` (written in the background: waited for)."""
    def audited() -> list[str]:
        return [record["decision"] for record in audit(gateway.warden, gateway.db) if record["tool"] == "get_current_time"]

    wait_for(lambda: len(audited()) >= len(decisions))
    assert audited() == decisions


def grant_id(gateway, label: str) -> str:
    return next(grant["id"] for grant in listed(gateway, "grants") if grant["label"] == label)


def post_in_background(gateway, token: str) -> tuple[threading.Thread, dict]:
    session = open_session(gateway, "time", token)
    headers = {**bearer(token), "mcp-session-id": session, "accept": "application/json"}
    answered: dict = {}
    poster = threading.Thread(target=lambda: answered.update(reply=http("POST", gateway.url("time"), CALL, headers)))
    poster.start()
    return poster, answered


@pytest.mark.parametrize("how", ["revoke", "rotate"])
def test_revoking_or_rotating_a_grant_ends_its_held_calls(held_gateway, how):
    gateway = held_gateway
    agent = gateway.grant("agent", "held_time.yaml", "time")
    alice = admin_token(gateway, "alice", "approver")
    poster, answered = post_in_background(gateway, agent)
    approval = wait_for_pending(gateway, alice)
    started = time.monotonic()
    assert gateway.grants(how, grant_id(gateway, "agent")).returncode == 0
    poster.join(TIMEOUT)
    assert time.monotonic() - started < 5, "the held call ended at once, not at its approval's timeout"
    status, _, body = answered["reply"]
    result = json.loads(body)["result"]
    assert status == 200 and result["isError"] is True
    assert "[POLICY DENIED]" in result["content"][0]["text"] and "grant" in result["content"][0]["text"]
    # The approval shows as cancelled, and can no longer be approved.
    status, shown = api(gateway, "GET", f"/admin/api/approvals/{approval['id']}", alice)
    assert status == 200 and shown["status"] == "cancelled" and "grant" in shown["reason"]
    assert api(gateway, "POST", f"/admin/api/approvals/{approval['id']}/approve", alice)[0] == 409
    assert_audited(gateway, ["approval_required", "approval_cancelled"])


def test_an_approval_by_a_revoked_admin_token_does_not_make_the_call_run(held_gateway):
    gateway = held_gateway
    agent = gateway.grant("agent", "held_time.yaml", "time")
    alice_token = admin_token(gateway, "alice", "approver")
    poster, answered = post_in_background(gateway, agent)
    approval = wait_for_pending(gateway, alice_token)
    alice = next(admin for admin in listed(gateway, "admins") if admin["name"] == "alice")
    # Alice's approval lands just before her token is revoked: written as the admin API writes
    # it, in the same transaction as the revocation, so that the gateway first sees both at once.
    with sqlite3.connect(gateway.db, timeout=TIMEOUT) as database:
        database.execute("UPDATE admin_token SET revoked_at = '2026-01-01T00:00:00.000Z' WHERE id = ?", (alice["id"],))
        database.execute("UPDATE approval SET status = 'approved', decided_by = 'alice', decided_by_token = ?, "
                         "decided_at = '2026-01-01T00:00:00.000Z' WHERE id = ?", (alice["id"], approval["id"]))
    poster.join(TIMEOUT)
    status, _, body = answered["reply"]
    result = json.loads(body)["result"]
    assert status == 200 and result["isError"] is True, body
    assert "admin token that approved it was revoked" in result["content"][0]["text"]
    viewer = admin_token(gateway, "victor", "viewer")
    wait_for(lambda: api(gateway, "GET", f"/admin/api/approvals/{approval['id']}", viewer)[1]["status"] == "cancelled")
    assert_audited(gateway, ["approval_required", "approval_cancelled"])

