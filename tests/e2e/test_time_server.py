"""The Python MCP SDK's real client through `warden run` in front of mcp-server-time."""

import sqlite3
import subprocess
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client

from conftest import TIMEOUT, audit

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


@asynccontextmanager
async def session_through_warden(warden, env, policy, db):
    server = StdioServerParameters(
        command=warden, args=["run", "--policy", policy, "--db", db, "--identity", "agent-1", "--", "mcp-server-time"], env=env)
    with anyio.fail_after(TIMEOUT):
        async with stdio_client(server) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


def text_of(result) -> str:
    return " ".join(getattr(item, "text", "") for item in result.content)


async def test_listing_calls_denials_hidden_tools_and_limits(warden, env, db, write_policy):
    policy = write_policy(POLICY)
    async with session_through_warden(warden, env, policy, db) as session:
        tools = await session.list_tools()
        assert [tool.name for tool in tools.tools] == ["get_current_time"]

        allowed = await session.call_tool("get_current_time", {"timezone": "Europe/Oslo"})
        assert not allowed.is_error
        assert allowed.structured_content["timezone"] == "Europe/Oslo"
        assert "datetime" in allowed.structured_content

        denied = await session.call_tool("get_current_time", {"timezone": "x; rm -rf /"})
        assert denied.is_error
        assert text_of(denied).startswith("[POLICY DENIED] invalid arguments: /timezone must match the pattern")
        assert "(rule /tools/get_current_time/args/properties/timezone/pattern)" in text_of(denied)

        with pytest.raises(MCPError) as hidden:
            await session.call_tool("convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "UTC"})
        assert hidden.value.code == -32602
        assert hidden.value.message == "Unknown tool: convert_time"

        # One call counted so far (the denied one was refused before the limit): two more pass.
        for _ in range(2):
            assert not (await session.call_tool("get_current_time", {"timezone": "UTC"})).is_error
        limited = await session.call_tool("get_current_time", {"timezone": "UTC"})
        assert limited.is_error
        assert "(rule /tools/get_current_time/limits/0)" in text_of(limited)
        assert "retry in" in text_of(limited)

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
        ("get_current_time", "allow"),
        ("get_current_time", "allow"),
        ("get_current_time", "deny"),
        ("get_current_time", "deny"),
    ]
    assert all(r["identity"] == "agent-1" and r["server"] == "mcp-server-time" for r in records)
    assert [r.get("upstream_status") for r in records if r["decision"] == "allow"] == ["ok", "ok", "ok"]
    assert records[0]["argument_keys"] == ["timezone"]
    assert "Europe/Oslo" not in str(records), "argument values must never be stored"
    assert records[-1]["rule"] == "/tools/get_current_time/limits/0"
    assert len({r["session"] for r in records}) == 2


def verify(warden, db) -> subprocess.CompletedProcess:
    return subprocess.run([warden, "audit", "verify", "--db", db], capture_output=True, text=True, timeout=TIMEOUT)


@pytest.mark.parametrize("tampering, broken_at", [
    ("UPDATE audit SET record = replace(record, '\"allow\"', '\"deny\"') WHERE seq = 2", 2),
    ("DELETE FROM audit WHERE seq = 2", 3),
    ("UPDATE audit SET seq = 99 WHERE seq = 1; UPDATE audit SET seq = 1 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 99", 1),
])
async def test_audit_verify_catches_tampering(warden, env, db, write_policy, tampering, broken_at):
    policy = write_policy(POLICY.replace("max: 3", "max: 100"))
    async with session_through_warden(warden, env, policy, db) as session:
        for _ in range(4):
            await session.call_tool("get_current_time", {"timezone": "UTC"})
    intact = verify(warden, db)
    assert intact.returncode == 0, intact.stdout
    assert intact.stdout.strip() == "audit log intact: 4 entries verified"

    connection = sqlite3.connect(db)
    connection.executescript(tampering)
    connection.commit()
    connection.close()

    broken = verify(warden, db)
    assert broken.returncode == 1
    assert broken.stdout.startswith(f"audit log BROKEN at entry {broken_at}:")
