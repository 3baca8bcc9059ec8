"""The shipped catalogue: a few of its servers rescanned with the built `warden scan` give the
committed entries back, and `warden catalogue` works as a user would run it."""

import json
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

CATALOGUE = ROOT / "catalogue"
# Servers installed into .venv from tests/e2e/requirements.txt at the catalogued versions.
RESCANNED = ["mcp-server-time", "mcp-server-git", "mcp-server-fetch"]


def entry(name: str) -> dict:
    return json.loads((CATALOGUE / "servers" / f"{name}.json").read_text())


def run(args, env, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, **kwargs)


@pytest.mark.parametrize("name", RESCANNED)
def test_rescan_matches_the_committed_entry(warden, env, tmp_path, name):
    committed = entry(name)
    installed = run([str(ROOT / ".venv" / "bin" / "python"), "-m", "pip", "show", name], env)
    assert f"Version: {committed['package']['version']}" in installed.stdout, (
        f"tests/e2e/requirements.txt must pin {name}=={committed['package']['version']}, as catalogued"
    )
    command = [str(ROOT / ".venv" / "bin" / committed["command"][0]), *committed["command"][1:]]
    policy = tmp_path / "policy.yaml"
    scan = run([warden, "scan", "--format", "json", "--emit-policy", str(policy), "--", *command], env, cwd=tmp_path)
    assert scan.returncode in (0, 1), scan.stderr
    report = json.loads(scan.stdout)
    fresh = {tool["name"]: tool for tool in report["tools"]}
    kept = {tool["name"]: tool for tool in committed["tools"]}
    assert sorted(fresh) == sorted(kept), "the server lists other tools than the catalogue says"
    for tool_name, tool in kept.items():
        assert fresh[tool_name]["sha256"] == tool["sha256"], f"{tool_name}: its definition changed"
        assert (fresh[tool_name]["class"], fresh[tool_name]["risk"]) == (tool["class"], tool["risk"]), (
            f"{tool_name}: classified differently than the catalogue (rerun catalogue/build {name})"
        )
    assert policy.read_text() == (CATALOGUE / "policies" / f"{name}.yaml").read_text()


def test_catalogue_search_show_and_policy_as_a_user_would(warden, env, tmp_path):
    search = run([warden, "catalogue", "search", "git"], env)
    assert search.returncode == 0, search.stderr
    assert "mcp-server-git" in search.stdout

    found = json.loads(run([warden, "catalogue", "search", "git_commit", "--format", "json"], env).stdout)
    assert any(m["server"] == "mcp-server-git" and [t["name"] for t in m["tools"]] == ["git_commit"] for m in found)

    show = run([warden, "catalogue", "show", "mcp-server-git"], env)
    assert show.returncode == 0, show.stderr
    for tool in entry("mcp-server-git")["tools"]:
        assert tool["name"] in show.stdout and tool["rationale"] in show.stdout
    shown = json.loads(run([warden, "catalogue", "show", "mcp-server-git", "--format", "json"], env).stdout)
    assert shown == entry("mcp-server-git")
    markdown = run([warden, "catalogue", "show", "mcp-server-time", "--format", "markdown"], env).stdout
    assert "| Tool | Class | Risk | Rationale |" in markdown

    policy = tmp_path / "policy.yaml"
    with policy.open("w") as out:
        assert subprocess.run([warden, "catalogue", "policy", "mcp-server-git"], env=env, stdout=out, timeout=60).returncode == 0
    assert policy.read_text() == (CATALOGUE / "policies" / "mcp-server-git.yaml").read_text()
    check = run([warden, "policy", "check", str(policy)], env)
    assert check.returncode == 0, check.stdout + check.stderr


def test_catalogue_misses_exit_1_with_suggestions_and_usage_errors_exit_2(warden, env):
    missing = run([warden, "catalogue", "show", "mcp-server-gti"], env)
    assert missing.returncode == 1
    assert "mcp-server-git" in missing.stderr
    nothing = run([warden, "catalogue", "search", "zzqx-no-such-thing"], env)
    assert nothing.returncode == 1 and "nothing matches" in nothing.stderr
    assert run([warden, "catalogue", "show"], env).returncode == 2
    assert run([warden, "catalogue", "show", "mcp-server-git", "--format", "yaml"], env).returncode == 2


def test_every_committed_policy_passes_policy_check(warden, env):
    policies = sorted(str(p) for p in (CATALOGUE / "policies").glob("*.yaml"))
    assert len(policies) >= 100
    check = run([warden, "policy", "check", *policies], env)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
