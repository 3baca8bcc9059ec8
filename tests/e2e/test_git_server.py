"""mcp-server-git behind `warden run`, with the SDK's real client."""

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from conftest import TIMEOUT

pytestmark = pytest.mark.anyio


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
""")
    server = StdioServerParameters(
        command=warden, args=["run", "--policy", policy, "--db", db, "--", "mcp-server-git", "--repository", str(repository)], env=env)
    with anyio.fail_after(TIMEOUT):
        async with stdio_client(server) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                names = [tool.name for tool in (await session.list_tools()).tools]
                assert "git_status" in names and "git_log" in names
                assert "git_reset" not in names

                status = await session.call_tool("git_status", {"repo_path": str(repository)})
                assert not status.is_error
                assert "On branch" in status.content[0].text

                log = await session.call_tool("git_log", {"repo_path": str(repository)})
                assert not log.is_error
                assert "first" in log.content[0].text

                elsewhere = await session.call_tool("git_log", {"repo_path": "/etc"})
                assert elsewhere.is_error
                assert elsewhere.content[0].text == "[POLICY DENIED] only the project repository (rule /tools/git_log/deny_if/0)"

                commit = await session.call_tool("git_commit", {"repo_path": str(repository), "message": "x"})
                assert commit.is_error
                assert "(rule (default deny))" in commit.content[0].text
