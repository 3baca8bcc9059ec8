"""mcp-server-git behind `warden run`, with the SDK's real client."""

import subprocess

import pytest
from mcp import MCPError

from conftest import ROOT, TIMEOUT, audit, warden_run_session

pytestmark = pytest.mark.anyio


def git_session(warden, env, policy, db, repository):
    return warden_run_session(warden, env, [
        "run", "--policy", policy, "--db", db, "--server", "git", "--", "mcp-server-git", "--repository", str(repository)])


def git(repository, *arguments) -> str:
    return subprocess.run(["git", *arguments], cwd=repository, capture_output=True, text=True, check=True, timeout=TIMEOUT).stdout


async def test_git_tools_are_policed(warden, env, db, write_policy, repository):
    policy = write_policy(f"""
version: "1"
default: deny
hide: [git_reset]
tools:
  git_status: {{}}
  git_log:
    deny_if:
      - conditions: [{{path: args.repo_path, op: neq, value: "{repository}"}}]
        on_deny: only the project repository
  git_reset: {{}}
""")
    (repository / "untracked.txt").write_text("new\n")
    async with git_session(warden, env, policy, db, repository) as session:
        names = [tool.name for tool in (await session.list_tools()).tools]
        assert "git_status" in names and "git_log" in names and "git_commit" in names
        assert "git_reset" not in names, "hide wins even over an entry under tools"

        status = await session.call_tool("git_status", {"repo_path": str(repository)})
        assert not status.is_error
        assert "On branch" in status.content[0].text
        assert "untracked.txt" in status.content[0].text, "the server's real output"

        log = await session.call_tool("git_log", {"repo_path": str(repository)})
        assert not log.is_error
        assert "first" in log.content[0].text

        elsewhere = await session.call_tool("git_log", {"repo_path": "/etc"})
        assert elsewhere.is_error
        assert elsewhere.content[0].text == "[POLICY DENIED] only the project repository (rule /tools/git_log/deny_if/0)"
        assert elsewhere.meta["warden/decision"] == {
            "decision": "deny", "rule": "/tools/git_log/deny_if/0", "message": "only the project repository"}

        with pytest.raises(MCPError) as reset:
            await session.call_tool("git_reset", {"repo_path": str(repository)})
        assert reset.value.code == -32602
        assert reset.value.message == "Unknown tool: git_reset"

        commit = await session.call_tool("git_commit", {"repo_path": str(repository), "message": "x"})
        assert commit.is_error
        assert "(rule (default deny))" in commit.content[0].text

    # Nothing refused reached the repository.
    assert git(repository, "log", "--format=%s") == "first\n"
    records = audit(warden, db)
    assert [(r["tool"], r["decision"], r.get("upstream_status")) for r in records] == [
        ("git_status", "allow", "ok"),
        ("git_log", "allow", "ok"),
        ("git_log", "deny", None),
        ("git_reset", "hidden", None),
        ("git_commit", "deny", None),
    ]
    assert all(r["server"] == "git" for r in records)
    assert records[2]["argument_keys"] == ["repo_path"]


async def test_the_example_git_policy(warden, env, db, repository):
    """examples/policies/git.yaml is read-only and only allows repositories under /srv or
    /home; the test's repository is under the temporary directory, so reads are refused by
    `all_tools`, and git_add, a write, is denied whatever the path."""
    assert not str(repository).startswith(("/srv/", "/home/"))
    policy = str(ROOT / "examples" / "policies" / "git.yaml")
    (repository / "new.txt").write_text("new\n")
    async with git_session(warden, env, policy, db, repository) as session:
        names = [tool.name for tool in (await session.list_tools()).tools]
        assert "git_status" in names
        assert "git_reset" not in names and "git_init" not in names

        status = await session.call_tool("git_status", {"repo_path": str(repository)})
        assert status.is_error
        assert status.content[0].text == "[POLICY DENIED] only repositories under /srv or /home (rule /all_tools/require/0)"

        staged = await session.call_tool("git_add", {"repo_path": str(repository), "files": ["new.txt"]})
        assert staged.is_error
        assert staged.content[0].text == (
            "[POLICY DENIED] this agent has read-only access to git; staging is for people (rule /tools/git_add/action)"
        )

        with pytest.raises(MCPError) as reset:
            await session.call_tool("git_reset", {"repo_path": str(repository)})
        assert reset.value.code == -32602

        # git_init is hidden too, and this server has no such tool anyway: unknown either way.
        with pytest.raises(MCPError) as init:
            await session.call_tool("git_init", {"repo_path": str(repository / "sub")})
        assert init.value.code == -32602

    assert git(repository, "status", "--porcelain") == "?? new.txt\n", "the denied git_add did not run"
    assert not (repository / "sub").exists()
    assert [(r["tool"], r["decision"], r.get("rule"), r.get("upstream_status")) for r in audit(warden, db)] == [
        ("git_status", "deny", "/all_tools/require/0", None),
        ("git_add", "deny", "/tools/git_add/action", None),
        ("git_reset", "hidden", "(hidden)", None),
        ("git_init", "unknown_tool", None, None),
    ]
