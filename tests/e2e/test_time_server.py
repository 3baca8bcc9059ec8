"""The Python MCP SDK's real client through `warden run` in front of mcp-server-time."""

import hashlib
import sqlite3

import pytest
from mcp import MCPError

from conftest import ROOT, audit, fresh_minute, verify, warden_run_session

pytestmark = pytest.mark.anyio

POLICY = """
version: "1"
default: deny
hide: [convert_time]
tools:
  get_current_time:
    args:
      type: object
      properties:
        timezone: {type: string, pattern: "^[A-Za-z_]+(/[A-Za-z_+-]+)*$"}
    limits:
      - {counter: time_calls, window: minute, max: 3, scope: identity}
"""


def session_through_warden(warden, env, policy, db, *options):
    return warden_run_session(warden, env, [
        "run", "--policy", policy, "--db", db, "--identity", "agent-1", *options, "--", "mcp-server-time"])


def text_of(result) -> str:
    return " ".join(getattr(item, "text", "") for item in result.content)


def decision_of(result) -> dict:
    assert result.meta is not None, "a denial carries its decision under _meta"
    return result.meta["warden/decision"]


async def test_listing_calls_denials_hidden_tools_and_limits(warden, env, db, write_policy):
    policy = write_policy(POLICY)
    fresh_minute()  # the 3-a-minute limit must not be reset by a new minute mid-test
    async with session_through_warden(warden, env, policy, db) as session:
        tools = await session.list_tools()
        assert [tool.name for tool in tools.tools] == ["get_current_time"]

        allowed = await session.call_tool("get_current_time", {"timezone": "Europe/Oslo"})
        assert not allowed.is_error
        assert allowed.structured_content["timezone"] == "Europe/Oslo"
        assert "datetime" in allowed.structured_content
        assert allowed.structured_content["datetime"][:4].isdigit()
        assert allowed.meta is None, "an allowed call is the server's own answer, with no Warden _meta"

        denied = await session.call_tool("get_current_time", {"timezone": "x; rm -rf /"})
        assert denied.is_error
        assert text_of(denied).startswith("[POLICY DENIED] invalid arguments: /timezone must match the pattern")
        assert "(rule /tools/get_current_time/args/properties/timezone/pattern)" in text_of(denied)
        assert decision_of(denied)["decision"] == "deny"
        assert decision_of(denied)["rule"] == "/tools/get_current_time/args/properties/timezone/pattern"
        assert text_of(denied) == f"[POLICY DENIED] {decision_of(denied)['message']} (rule {decision_of(denied)['rule']})"
        assert "retryAfterSeconds" not in decision_of(denied)

        with pytest.raises(MCPError) as hidden:
            await session.call_tool("convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "UTC"})
        assert hidden.value.code == -32602
        assert hidden.value.message == "Unknown tool: convert_time"

        with pytest.raises(MCPError) as unknown:
            await session.call_tool("set_time", {"time": "12:00"})
        assert unknown.value.code == -32602
        assert unknown.value.message == "Unknown tool: set_time"

        # One call counted so far (the denied one was refused before the limit): two more pass.
        for _ in range(2):
            assert not (await session.call_tool("get_current_time", {"timezone": "UTC"})).is_error
        limited = await session.call_tool("get_current_time", {"timezone": "UTC"})
        assert limited.is_error
        assert "(rule /tools/get_current_time/limits/0)" in text_of(limited)
        assert "retry in" in text_of(limited)
        assert decision_of(limited)["rule"] == "/tools/get_current_time/limits/0"
        retry = decision_of(limited)["retryAfterSeconds"]
        assert isinstance(retry, int) and 0 < retry <= 60

    # A new `warden run` on the same database inside the minute keeps the count.
    async with session_through_warden(warden, env, policy, db) as session:
        again = await session.call_tool("get_current_time", {"timezone": "UTC"})
        assert again.is_error
        assert "(rule /tools/get_current_time/limits/0)" in text_of(again)

    records = audit(warden, db)
    assert [(r["tool"], r["decision"]) for r in records] == [
        ("get_current_time", "allow"),
        ("get_current_time", "deny"),
        ("convert_time", "hidden"),
        ("set_time", "unknown_tool"),
        ("get_current_time", "allow"),
        ("get_current_time", "allow"),
        ("get_current_time", "deny"),
        ("get_current_time", "deny"),
    ]
    assert all(r["identity"] == "agent-1" and r["server"] == "mcp-server-time" for r in records)
    assert [r.get("upstream_status") for r in records if r["decision"] == "allow"] == ["ok", "ok", "ok"]
    assert all("upstream_status" not in r for r in records if r["decision"] != "allow"), "refused calls never reach the server"
    assert records[0]["argument_keys"] == ["timezone"]
    assert "Europe/Oslo" not in str(records), "argument values must never be stored"
    assert records[1]["rule"] == "/tools/get_current_time/args/properties/timezone/pattern"
    assert records[2]["rule"] == "(hidden)"
    assert records[-1]["rule"] == "/tools/get_current_time/limits/0"
    assert len({r["session"] for r in records}) == 2
    policy_hash = hashlib.sha256(open(policy, "rb").read()).hexdigest()
    assert {r["policy_hash"] for r in records} == {policy_hash}
    assert verify(warden, db).returncode == 0


async def test_the_example_time_policy(warden, env, db):
    policy = str(ROOT / "examples" / "policies" / "time.yaml")
    async with session_through_warden(warden, env, policy, db) as session:
        assert sorted(tool.name for tool in (await session.list_tools()).tools) == ["convert_time", "get_current_time"]

        oslo = await session.call_tool("get_current_time", {"timezone": "Europe/Oslo"})
        assert not oslo.is_error and oslo.structured_content["timezone"] == "Europe/Oslo"

        injection = await session.call_tool("get_current_time", {"timezone": "'; rm -rf /"})
        assert injection.is_error
        assert decision_of(injection)["rule"] == "/tools/get_current_time/args/properties/timezone/pattern"

        extra = await session.call_tool("get_current_time", {"timezone": "UTC", "format": "x"})
        assert extra.is_error
        assert decision_of(extra)["rule"].startswith("/tools/get_current_time/args/")

        converted = await session.call_tool(
            "convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"})
        assert not converted.is_error
        assert converted.structured_content["target"]["timezone"] == "Asia/Tokyo"

        troll = await session.call_tool(
            "convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Antarctica/Troll"})
        assert troll.is_error
        assert text_of(troll) == "[POLICY DENIED] nobody needs the time in Troll (rule /tools/convert_time/deny_if/0)"

        with pytest.raises(MCPError) as unknown:
            await session.call_tool("set_time", {})
        assert unknown.value.code == -32602

    assert [(r["tool"], r["decision"], r.get("upstream_status")) for r in audit(warden, db)] == [
        ("get_current_time", "allow", "ok"),
        ("get_current_time", "deny", None),
        ("get_current_time", "deny", None),
        ("convert_time", "allow", "ok"),
        ("convert_time", "deny", None),
        ("set_time", "unknown_tool", None),
    ]


def record_text(db, seq) -> str:
    connection = sqlite3.connect(db)
    try:
        return connection.execute("SELECT record FROM audit WHERE seq = ?", (seq,)).fetchone()[0]
    finally:
        connection.close()


def swap_records(connection, first, second):
    one = connection.execute("SELECT record FROM audit WHERE seq = ?", (first,)).fetchone()[0]
    other = connection.execute("SELECT record FROM audit WHERE seq = ?", (second,)).fetchone()[0]
    connection.execute("UPDATE audit SET record = ? WHERE seq = ?", (other, first))
    connection.execute("UPDATE audit SET record = ? WHERE seq = ?", (one, second))


@pytest.mark.parametrize("tampering, broken_at", [
    # An edited record.
    (lambda c: c.execute("UPDATE audit SET record = replace(record, '\"allow\"', '\"deny\"') WHERE seq = 2"), 2),
    # A deleted row.
    (lambda c: c.execute("DELETE FROM audit WHERE seq = 2"), 3),
    # Two rows' records swapped.
    (lambda c: swap_records(c, 1, 3), 1),
    (lambda c: swap_records(c, 2, 4), 2),
    # Two rows reordered (sequence numbers exchanged).
    (lambda c: c.executescript(
        "UPDATE audit SET seq = 99 WHERE seq = 1; UPDATE audit SET seq = 1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 99"), 1),
], ids=["edit", "delete", "swap-1-3", "swap-2-4", "reorder"])
async def test_audit_verify_catches_tampering(warden, env, db, write_policy, tampering, broken_at):
    policy = write_policy(POLICY.replace("max: 3", "max: 100"))
    async with session_through_warden(warden, env, policy, db) as session:
        for timezone in ("UTC", "Europe/Oslo", "Asia/Tokyo", "America/New_York"):
            await session.call_tool("get_current_time", {"timezone": timezone})
    intact = verify(warden, db)
    assert intact.returncode == 0, intact.stdout
    assert intact.stdout.splitlines()[0] == "audit log intact: 4 entries verified"
    assert "entry 4 matches the checkpoint of " in intact.stdout, "warden run left a checkpoint of the head beside the database"

    records_before = {seq: record_text(db, seq) for seq in (1, 2, 3)}
    assert len(set(records_before.values())) == 3, "the records differ (their times and request ids do)"

    connection = sqlite3.connect(db)
    tampering(connection)
    connection.commit()
    connection.close()

    broken = verify(warden, db)
    assert broken.returncode == 1, broken.stdout
    assert broken.stdout.startswith(f"audit log BROKEN at entry {broken_at}:"), broken.stdout


async def test_audit_verify_catches_an_edit_whose_own_hash_was_recomputed(warden, env, db, write_policy):
    policy = write_policy(POLICY.replace("max: 3", "max: 100"))
    async with session_through_warden(warden, env, policy, db) as session:
        for _ in range(3):
            await session.call_tool("get_current_time", {"timezone": "UTC"})
    assert verify(warden, db).returncode == 0

    # Rewrite entry 2 (and the copy of its decision beside it) and give it a correct hash of
    # its own: entry 3 no longer links to it.
    connection = sqlite3.connect(db)
    seq, record, previous = connection.execute("SELECT seq, record, prev_hash FROM audit WHERE seq = 2").fetchone()
    forged = record.replace('"allow"', '"deny"')
    assert forged != record
    forged_hash = hashlib.sha256(f"{previous}\n{seq}\n{forged}".encode()).hexdigest()
    connection.execute("UPDATE audit SET record = ?, hash = ?, decision = 'deny' WHERE seq = 2", (forged, forged_hash))
    connection.commit()
    connection.close()

    broken = verify(warden, db)
    assert broken.returncode == 1
    assert broken.stdout.startswith("audit log BROKEN at entry 3:"), broken.stdout
