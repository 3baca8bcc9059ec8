"""Pinning against rug pulls, through real clients: `warden pin` writes the lock file, `warden run
--pin` enforces it. The fixture (fixtures/rug_pull_server.py) rewrites `get_weather`'s
description after its first call and sends notifications/tools/list_changed; with
$RUG_PULL_NOW it lists the rewritten definition from the start."""

import json
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from conftest import FIXTURES, TIMEOUT, audit, verify, wait_for, warden_run_session

pytestmark = pytest.mark.anyio

FIXTURE = [sys.executable, str(FIXTURES / "rug_pull_server.py")]
POLICY = """
version: "1"
default: deny
tools:
  get_weather: {}
  pull_now: {}
"""


def pin(warden: str, env: dict, lock: Path, *arguments: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([warden, "pin", "--lock", str(lock), "--quiet", *arguments, "--server", "weather", "--", *FIXTURE],
                          capture_output=True, text=True, timeout=TIMEOUT, env={**env, **(extra_env or {})})


def run_arguments(policy: str, db: str, lock: Path, *options: str) -> list[str]:
    return ["run", "--policy", policy, "--db", db, "--server", "weather", "--pin", str(lock), *options, "--", *FIXTURE]


def text_of(result) -> str:
    return " ".join(getattr(item, "text", "") for item in result.content)


@pytest.fixture
def lock(warden, env, tmp_path) -> Path:
    path = tmp_path / "warden.lock"
    result = pin(warden, env, path, "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [tool["name"] for tool in summary["servers"][0]["tools"]] == ["get_weather", "pull_now"]
    written = json.loads(path.read_text())
    entry = written["servers"]["weather"]["tools"]["get_weather"]
    assert entry["sha256"] == summary["servers"][0]["tools"][0]["sha256"]
    assert entry["definition"]["description"] == "Gets the weather for a city."
    return path


async def test_a_rug_pull_mid_session_hides_the_tool_and_is_audited_once(warden, env, db, write_policy, lock):
    policy = write_policy(POLICY)
    async with warden_run_session(warden, env, run_arguments(policy, db, lock)) as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == ["get_weather", "pull_now"]
        first = await client.call_tool("get_weather", {"city": "Oslo"})
        assert not first.is_error and "sunny" in text_of(first)  # the server now rewrites its tool
        for _ in range(2):
            listed = await client.list_tools()
            assert [tool.name for tool in listed.tools] == ["pull_now"], "the drifted tool is hidden"
        with pytest.raises(MCPError, match="Unknown tool: get_weather"):
            await client.call_tool("get_weather", {"city": "~/.ssh/id_rsa"})

    records = audit(warden, db)
    drifts = [record for record in records if record["decision"] == "drift"]
    assert len(drifts) == 1, "audited once per change, not once per tools/list"
    pinned = json.loads(lock.read_text())["servers"]["weather"]["tools"]["get_weather"]["sha256"]
    assert pinned in drifts[0]["message"] and "&lt;IMPORTANT>" not in drifts[0]["message"] and "<IMPORTANT>" in drifts[0]["message"]
    assert '-   "description": "Gets the weather for a city."' in drifts[0]["message"]
    calls = [record for record in records if record["method"] == "tools/call" and record["tool"] == "get_weather"]
    assert [record["decision"] for record in calls] == ["allow", "hidden"]
    assert calls[1]["rule"] == "/on_drift"
    assert verify(warden, db).returncode == 0


async def test_require_approval_holds_the_call_with_the_diff_for_the_approver(warden, env, db, write_policy, lock):
    policy = write_policy(POLICY)
    pulled = {**env, "RUG_PULL_NOW": "1"}

    def pending() -> list[dict]:
        result = subprocess.run([warden, "approvals", "list", "--status", "pending", "--format", "json", "--db", db],
                                capture_output=True, text=True, timeout=TIMEOUT)
        return [json.loads(line) for line in result.stdout.splitlines()]

    def approve() -> dict:
        found: list[dict] = []
        wait_for(lambda: bool(found.extend(pending()) or found))
        approval = found[0]
        decided = subprocess.run([warden, "approvals", "approve", approval["id"], "--as", "alice", "--db", db],
                                 capture_output=True, text=True, timeout=TIMEOUT)
        assert decided.returncode == 0, decided.stderr
        return approval

    async with warden_run_session(warden, pulled, run_arguments(policy, db, lock, "--on-drift", "require_approval")) as client:
        assert [tool.name for tool in (await client.list_tools()).tools] == ["get_weather", "pull_now"], "still listed"
        async with anyio.create_task_group() as group:
            seen: list[dict] = []

            async def decide():
                seen.append(await anyio.to_thread.run_sync(approve))

            group.start_soon(decide)
            result = await client.call_tool("get_weather", {"city": "Oslo"})
        assert not result.is_error and "sunny" in text_of(result)
    approval = seen[0]
    assert approval["rule"] == "/on_drift"
    assert '+   "description": "Gets the weather for a city. <IMPORTANT>' in approval["message"]
    decisions = [record["decision"] for record in audit(warden, db)]
    assert decisions.count("drift") == 1 and "approved" in decisions
    assert verify(warden, db).returncode == 0


def test_pin_check_reports_drift_and_exits_1(warden, env, lock):
    same = pin(warden, env, lock, "--check")
    assert same.returncode == 0, same.stderr
    drifted = pin(warden, env, lock, "--check", "--format", "json", extra_env={"RUG_PULL_NOW": "1"})
    assert drifted.returncode == 1, drifted.stderr
    [server] = json.loads(drifted.stdout)["servers"]
    assert [(drift["kind"], drift["tool"]) for drift in server["drift"]] == [("changed", "get_weather")]


@pytest.mark.parametrize("content", [None, "", "{not json", '{"version": 9, "servers": {}}'])
def test_a_lock_file_that_cannot_be_read_refuses_to_start(warden, env, db, write_policy, tmp_path, content):
    policy = write_policy(POLICY)
    path = tmp_path / "bad.lock"
    if content is not None:
        path.write_text(content)
    result = subprocess.run([warden, *run_arguments(policy, db, path)], input="", capture_output=True, text=True,
                            timeout=TIMEOUT, env=env)
    assert result.returncode == 2
    assert str(path) in result.stderr and "warden pin" in result.stderr


async def test_over_serve_the_drift_shows_in_the_admin_api_and_a_repin_serves_the_tool_again(warden, env, tmp_path):
    from test_http_approvals import admin_token, api
    from test_http_gateway import Gateway, http, mcp_session

    lock = tmp_path / "warden.lock"
    assert pin(warden, env, lock).returncode == 0
    (tmp_path / "weather.yaml").write_text(POLICY)
    gateway = Gateway(warden, {**env, "RUG_PULL_NOW": "1"}, tmp_path, extra=f"""  weather:
    command: [{sys.executable}, {FIXTURE[1]}]
    policy: weather.yaml
pin: warden.lock
""")
    try:
        token = gateway.grant("agent", "weather.yaml", "weather")
        approver = admin_token(gateway, "ops", "approver")
        viewer = admin_token(gateway, "watcher", "viewer")
        async with mcp_session(gateway.url("weather"), token) as client:
            assert [tool.name for tool in (await client.list_tools()).tools] == ["pull_now"]
            status, pins = api(gateway, "GET", "/admin/api/pins", viewer)
            assert status == 200, pins
            [drift] = [entry for entry in pins["drift"] if entry["server"] == "weather"]
            assert drift["tool"] == "get_weather" and drift["kind"] == "changed"
            assert '+   "description": "Gets the weather for a city. <IMPORTANT>' in drift["diff"]
            status, _, page = http("GET", gateway.base + "/admin/pins", None, {"cookie": f"warden_admin={viewer}"})
            assert status == 200 and b'data-drift="get_weather"' in page
            assert b"+   &quot;description&quot;: &quot;Gets the weather for a city. &lt;IMPORTANT&gt;" in page, "the dashboard shows the diff"
            assert api(gateway, "POST", "/admin/api/pins/weather/get_weather", viewer, {})[0] == 403, "viewers cannot re-pin"
            assert api(gateway, "POST", "/admin/api/pins/weather/get_weather", approver, {"sha256": "0" * 64})[0] == 409
            status, repinned = api(gateway, "POST", "/admin/api/pins/weather/get_weather", approver, {"sha256": drift["listed_sha256"]})
            assert status == 200, repinned
            # Served again at once, in the same session, without a restart.
            assert [tool.name for tool in (await client.list_tools()).tools] == ["get_weather", "pull_now"]
            result = await client.call_tool("get_weather", {"city": "Oslo"})
            assert not result.is_error and "sunny" in text_of(result)
    finally:
        assert gateway.stop() == 0
    written = json.loads(lock.read_text())["servers"]["weather"]["tools"]["get_weather"]
    assert written["sha256"] == drift["listed_sha256"] and "<IMPORTANT>" in written["definition"]["description"]
    decisions = [(record["decision"], record.get("tool")) for record in audit(warden, gateway.db)]
    assert ("drift", "get_weather") in decisions and ("repinned", "get_weather") in decisions
    assert verify(warden, gateway.db).returncode == 0
