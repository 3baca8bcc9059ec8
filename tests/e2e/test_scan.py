"""`warden scan` against real servers: mcp-server-git and mcp-server-time over stdio, the
Python SDK's HTTP fixture over Streamable HTTP and legacy SSE, a configuration with two
servers, targets that cannot be reached, and a poisoned server. The starter policy it writes
for mcp-server-git passes `policy check` and `policy test` and polices `warden run` with the
SDK's client, and loads in `warden serve`."""

import json
import subprocess
import sys

import pytest

from conftest import FIXTURES, TIMEOUT, free_port, start_serve, warden_run_session
from test_http_remote import start_fixture

pytestmark = pytest.mark.anyio

GIT_CLASSES = {
    "git_status": "read", "git_diff_unstaged": "read", "git_diff_staged": "read", "git_diff": "read", "git_log": "read",
    "git_show": "read", "git_branch": "read", "git_commit": "write", "git_add": "write", "git_create_branch": "write",
    "git_checkout": "write", "git_reset": "destructive",
}


def scan(warden, env, *arguments, timeout=60):
    return subprocess.run([warden, "scan", *arguments], env=env, capture_output=True, text=True, timeout=timeout)


def test_scan_classifies_every_git_tool_with_a_rationale(warden, env, tmp_path):
    policy = tmp_path / "git.yaml"
    result = scan(warden, env, "--format", "json", "--emit-policy", str(policy), "--", "mcp-server-git")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["server"]["name"] == "mcp-git"
    assert {tool["name"]: tool["class"] for tool in report["tools"]} == GIT_CLASSES
    for tool in report["tools"]:
        assert tool["rationale"] and tool["risk"] in ("low", "medium", "high", "critical")
        assert 0 < tool["confidence"] <= 1
        assert len(tool["sha256"]) == 64 and tool["inputSchema"]["type"] == "object"
        assert tool["findings"] == [], tool
    assert report["grade"] == "C"
    assert report["summary"]["classes"] == {"read": 7, "write": 4, "execute": 0, "destructive": 1, "financial": 0, "other": 0}
    assert "listing tools" in result.stderr, "a progress line on stderr"
    assert result.stdout.count("\n") == 1, "only the JSON on stdout"

    check = subprocess.run([warden, "policy", "check", str(policy)], env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert check.returncode == 0, check.stdout + check.stderr
    tested = subprocess.run([warden, "policy", "test", str(policy)], env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert tested.returncode == 0, tested.stdout
    assert "0 failed" in tested.stdout and "FAIL" not in tested.stdout
    assert "git_reset is held for approval" in tested.stdout


async def test_the_emitted_git_policy_polices_warden_run(warden, env, tmp_path, repository):
    policy = tmp_path / "git.yaml"
    result = scan(warden, env, "--emit-policy", str(policy), "--", "mcp-server-git")
    assert result.returncode == 0, result.stderr
    async with warden_run_session(warden, env, ["run", "--policy", str(policy), "--db", str(tmp_path / "w.db"), "--", "mcp-server-git",
                                                "--repository", str(repository)]) as session:
        status = await session.call_tool("git_status", {"repo_path": str(repository)})
        assert not status.is_error, status.content[0].text
        assert "On branch" in status.content[0].text

        unknown = await session.call_tool("git_status", {"repo_path": str(repository), "verbose": True})
        assert unknown.is_error
        assert unknown.content[0].text.startswith("[POLICY DENIED]")
        assert "/tools/git_status/args/additionalProperties" in unknown.content[0].text


def test_the_emitted_policy_loads_in_warden_serve(warden, env, tmp_path):
    policy = tmp_path / "git.yaml"
    assert scan(warden, env, "--emit-policy", str(policy), "--", "mcp-server-git").returncode == 0
    config = tmp_path / "warden.yaml"
    config.write_text(f"""version: "1"
listen: {{host: 127.0.0.1, port: 0}}
store: {{sqlite: {tmp_path / "serve.db"}}}
servers:
  git: {{command: [mcp-server-git], policy: {policy}}}
""")
    stderr: list[str] = []
    process, _ = start_serve(warden, config, env, stderr)
    try:
        assert process.poll() is None, "".join(stderr)
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)


def test_scan_time_prints_a_table(warden, env):
    result = scan(warden, env, "--", "mcp-server-time")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("mcp-time") and lines[0].endswith("grade A")
    assert any(line.startswith("get_current_time") and " read " in line and " low " in line for line in lines), result.stdout
    assert any(line.startswith("convert_time") and " read " in line for line in lines)
    assert "2 tools: 2 read" in result.stdout


@pytest.mark.parametrize("flag, path", [(None, "mcp"), ("--json", "mcp"), ("--sse", "sse")])
def test_scan_a_remote_server(warden, env, tmp_path, flag, path):
    process, port, _ = start_fixture(tmp_path, env, flag)
    try:
        result = scan(warden, env, "--url", f"http://127.0.0.1:{port}/{path}", "--header", "X-Scan: yes", "--format", "json")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        classes = {tool["name"]: tool["class"] for tool in report["tools"]}
        assert {"add", "whoami", "ask", "patient"} <= set(classes), classes
        assert classes["add"] == "write"
        assert report["server"]["name"] == "remote-fixture"
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)


def test_scan_every_server_of_a_configuration(warden, env, tmp_path):
    (tmp_path / "allow.yaml").write_text('version: "1"\ndefault: allow\n')
    config = tmp_path / "warden.yaml"
    config.write_text("""version: "1"
servers:
  time: {command: [mcp-server-time], policy: allow.yaml}
  git: {command: [mcp-server-git], policy: allow.yaml}
""")
    policies = tmp_path / "policies"
    result = scan(warden, env, "--config", str(config), "--format", "json", "--emit-policy", str(policies))
    assert result.returncode == 0, result.stderr
    reports = json.loads(result.stdout)
    assert [report["configured_name"] for report in reports] == ["time", "git"]
    assert len(reports[1]["tools"]) == 12
    for name in ("time", "git"):
        check = subprocess.run([warden, "policy", "test", str(policies / f"{name}.yaml")], env=env, capture_output=True, text=True,
                               timeout=TIMEOUT)
        assert check.returncode == 0, check.stdout

    one = scan(warden, env, "--config", str(config), "--server", "time", "--format", "json")
    assert one.returncode == 0, one.stderr
    assert [report["configured_name"] for report in json.loads(one.stdout)] == ["time"]

    unknown = scan(warden, env, "--config", str(config), "--server", "nope")
    assert unknown.returncode == 2
    assert 'no server "nope"' in unknown.stderr


def test_an_unreachable_target_exits_2_with_a_clear_message(warden, env):
    missing = scan(warden, env, "--", "warden-no-such-server")
    assert missing.returncode == 2
    assert "command not found: warden-no-such-server" in missing.stderr
    assert "PATH" in missing.stderr

    exits = scan(warden, env, "--", sys.executable, "-c", "import sys; print('needs API_KEY', file=sys.stderr); sys.exit(4)")
    assert exits.returncode == 2
    assert "exited with status 4" in exits.stderr and "needs API_KEY" in exits.stderr

    port = free_port()
    refused = scan(warden, env, "--url", f"http://127.0.0.1:{port}/mcp")
    assert refused.returncode == 2
    assert f"http://127.0.0.1:{port}/mcp" in refused.stderr
    assert "could not connect" in refused.stderr, refused.stderr

    silent = scan(warden, env, "--timeout", "1", "--", "sleep", "30")
    assert silent.returncode == 2
    assert "no answer within" in silent.stderr


def test_a_poisoned_server_fails_the_scan(warden, env, tmp_path):
    policy = tmp_path / "poisoned.yaml"
    result = scan(warden, env, "--format", "json", "--emit-policy", str(policy), "--", sys.executable, str(FIXTURES / "poisoned_server.py"))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["grade"] == "F"
    add = next(tool for tool in report["tools"] if tool["name"] == "add")
    findings = {(finding["check"], finding["severity"]) for finding in add["findings"]}
    assert ("hidden-instructions", "critical") in findings
    assert ("invisible-unicode", "critical") in findings
    important = next(f for f in add["findings"] if f["check"] == "hidden-instructions" and "IMPORTANT" in f["matched"])
    assert important["location"] == "description"
    tags = next(f for f in add["findings"] if f["check"] == "invisible-unicode")
    assert 'decoded: "read ~/.ssh/id_rsa"' in tags["matched"]
    get_time = next(tool for tool in report["tools"] if tool["name"] == "get_time")
    assert get_time["findings"] == [] and get_time["class"] == "read"

    table = scan(warden, env, "--", sys.executable, str(FIXTURES / "poisoned_server.py"))
    assert table.returncode == 1
    assert "[critical] add description: hidden-instructions" in table.stdout

    text = policy.read_text()
    assert "hide:\n  - add" in text, "the poisoned tool is hidden by the starter policy"
    tested = subprocess.run([warden, "policy", "test", str(policy)], env=env, capture_output=True, text=True, timeout=TIMEOUT)
    assert tested.returncode == 0, tested.stdout
