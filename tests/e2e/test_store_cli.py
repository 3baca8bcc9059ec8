"""`warden store migrate` from SQLite to PostgreSQL, `--db postgres://…` on the CLI, and
`warden serve` on the migrated store with `--port` from a shared configuration file.

The PostgreSQL cases need the throwaway cluster `scripts/test` starts (WARDEN_TEST_POSTGRES_URL,
a superuser's URL); they are skipped without it unless WARDEN_REQUIRE_POSTGRES=1."""

import json
import os
import subprocess
import sys
import uuid

import pytest

from conftest import FIXTURES, TIMEOUT, start_serve, wait_for
from test_http_gateway import mcp_session

ADMIN_URL = os.environ.get("WARDEN_TEST_POSTGRES_URL", "")
REQUIRED = os.environ.get("WARDEN_REQUIRE_POSTGRES") == "1"
needs_postgres = pytest.mark.skipif(
    not ADMIN_URL and not REQUIRED,
    reason="WARDEN_TEST_POSTGRES_URL is not set (scripts/test starts a throwaway PostgreSQL and sets it)")

ECHO_POLICY = 'version: "1"\ndefault: allow\n'


def run(warden: str, *arguments: str, env: dict | None = None, timeout: float = TIMEOUT * 3) -> subprocess.CompletedProcess:
    return subprocess.run([warden, *arguments], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture
def postgres_url() -> str:
    """A new, empty database on the test cluster: its URL."""
    assert ADMIN_URL, "WARDEN_REQUIRE_POSTGRES=1 but WARDEN_TEST_POSTGRES_URL is not set"
    name = "warden_migrate_" + uuid.uuid4().hex
    subprocess.run(["psql", ADMIN_URL, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=TIMEOUT)
    base, _, _ = ADMIN_URL.rpartition("/")
    yield f"{base}/{name}?sslmode=disable"
    subprocess.run(["psql", ADMIN_URL, "-q", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True, timeout=TIMEOUT)


@pytest.fixture
def filled_sqlite(warden, env, tmp_path) -> dict:
    """A SQLite store as a single-machine deployment leaves it: audited calls, an active and a
    revoked grant, an admin token."""
    db = str(tmp_path / "warden.db")
    policy = tmp_path / "policy.yaml"
    policy.write_text(ECHO_POLICY)
    lines = [
        {"jsonrpc": "2.0", "id": 0, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
    ] + [{"jsonrpc": "2.0", "id": index, "method": "tools/call", "params": {"name": "echo", "arguments": {"n": index}}}
         for index in range(1, 8)]
    made = subprocess.run(
        [warden, "run", "--policy", str(policy), "--db", db, "--", sys.executable, str(FIXTURES / "echo_server.py")],
        input="".join(json.dumps(line) + "\n" for line in lines), capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert made.returncode == 0, made.stderr
    create = ["grants", "create", "--db", db, "--server", "echo", "--policy", str(policy), "--format", "json"]
    kept = json.loads(run(warden, *create, "--label", "agent", "--identity-label", "team=infra").stdout)
    gone = json.loads(run(warden, *create, "--label", "gone").stdout)
    assert run(warden, "grants", "revoke", gone["id"], "--db", db).returncode == 0
    admin = json.loads(run(warden, "admins", "create", "--db", db, "--name", "alice", "--role", "approver", "--format", "json").stdout)
    # A call held for approval by a gateway on another host.
    import sqlite3

    connection = sqlite3.connect(db)
    connection.execute(
        "INSERT INTO approval (id, server, tool, identity, grant_id, session, request_id, arguments, rule, message, approvers, "
        "holder, created_at, expires_at, status) VALUES ('a_held0001', 'echo', 'echo', 'agent', ?, 's1', '9', '{\"n\":1}', "
        "'/tools/echo', 'held', '[\"alice\"]', '1@another-host', '2026-12-01T10:00:00.123Z', '2099-01-01T00:00:00.000Z', 'pending')",
        (kept["id"],))
    connection.commit()
    connection.close()
    return {"db": db, "policy": str(policy), "token": kept["token"], "admin": admin["token"]}


def listing(warden: str, db: str) -> dict:
    """What the CLI shows of a store: grants, admin tokens, the audit log."""
    shown = {}
    for name, command in {"grants": ["grants", "list", "--all", "--format", "json"],
                          "admins": ["admins", "list", "--all", "--format", "json"],
                          "approvals": ["approvals", "list", "--format", "json"],
                          "audit": ["audit", "export"]}.items():
        result = run(warden, *command, "--db", db)
        assert result.returncode == 0, result.stderr
        shown[name] = result.stdout
    return shown


@needs_postgres
def test_migrate_sqlite_to_postgres_copies_everything_and_the_chain_verifies(warden, filled_sqlite, postgres_url):
    db = filled_sqlite["db"]
    # A database without Warden's tables is not read as an empty, intact log.
    empty = run(warden, "audit", "verify", "--db", postgres_url)
    assert empty.returncode == 2, empty.stdout + empty.stderr
    assert "no Warden schema in the database" in empty.stderr and "give --db (or $WARDEN_DB) the database warden serve uses" in empty.stderr
    migrated = run(warden, "store", "migrate", "--from", "sqlite:" + db, "--to", postgres_url, "--batch-size", "3", "--format", "json")
    assert migrated.returncode == 0, migrated.stderr
    summary = json.loads(migrated.stdout)
    assert summary["verified"] is True
    assert summary["copied"] == {"grants": 2, "admin_tokens": 1, "approvals": 1, "audit_entries": 7}
    assert summary["head"] == summary["source_head"] and summary["head"]["seq"] == 7
    assert summary["checkpoints"] == 1, "the copy was checked against the source's head file"
    assert "hunter" not in migrated.stdout and "postgres@" in summary["to"] and "?" not in summary["to"]
    # Progress, batch by batch.
    assert [line for line in migrated.stderr.splitlines() if line.startswith("audit log:")] == [
        "audit log: 3/7 entries copied", "audit log: 6/7 entries copied", "audit log: 7/7 entries copied"]

    # The CLI reads the copy through --db and $WARDEN_DB exactly as it reads the original.
    assert listing(warden, postgres_url) == listing(warden, db)
    assert '"id":"a_held0001"' in listing(warden, postgres_url)["approvals"]
    verified = run(warden, "audit", "verify", "--db", postgres_url)
    assert verified.returncode == 0 and "audit log intact: 7 entries verified" in verified.stdout, verified.stdout + verified.stderr
    via_environment = run(warden, "audit", "verify", env={**os.environ, "WARDEN_DB": postgres_url})
    assert via_environment.returncode == 0 and "7 entries verified" in via_environment.stdout

    # Again into the same database: refused, and nothing changes.
    again = run(warden, "store", "migrate", "--from", db, "--to", postgres_url)
    assert again.returncode == 2
    assert "the destination already holds 2 grants, 1 admin token, 1 approval, 7 audit entries" in again.stderr
    assert "nothing was copied" in again.stderr
    assert listing(warden, postgres_url) == listing(warden, db)

    # The copied approval is decided through the copy.
    decided = run(warden, "approvals", "approve", "a_held0001", "--db", postgres_url, "--format", "json",
                  env={**os.environ, "USER": "alice"})
    assert decided.returncode == 0, decided.stderr
    assert json.loads(decided.stdout)["status"] == "approved"


@needs_postgres
def test_a_tampered_sqlite_log_is_copied_but_the_migration_exits_one(warden, filled_sqlite, postgres_url):
    import sqlite3

    connection = sqlite3.connect(filled_sqlite["db"])
    connection.execute("UPDATE audit SET record = replace(record, '\"allow\"', '\"deny\"') WHERE seq = 4")
    connection.commit()
    connection.close()
    migrated = run(warden, "store", "migrate", "--from", filled_sqlite["db"], "--to", postgres_url)
    assert migrated.returncode == 1, migrated.stdout + migrated.stderr
    assert "audit log BROKEN at the destination, entry 4" in migrated.stdout
    verified = run(warden, "audit", "verify", "--db", postgres_url)
    assert verified.returncode == 1 and "BROKEN at entry 4" in verified.stdout


@needs_postgres
@pytest.mark.anyio
async def test_two_instances_serve_the_migrated_store_from_one_configuration(warden, env, filled_sqlite, postgres_url, tmp_path):
    assert run(warden, "store", "migrate", "--from", filled_sqlite["db"], "--to", postgres_url).returncode == 0
    base, _, query = postgres_url.partition("?")
    user_host, _, database = base.removeprefix("postgres://").rpartition("/")
    user, _, host_port = user_host.rpartition("@")
    host, _, port = host_port.rpartition(":")
    config = tmp_path / "warden.yaml"
    # The store in parts, its password from the environment; the file's own port is taken by no one here.
    config.write_text(f"""
version: "1"
listen: {{host: 127.0.0.1, port: 1}}
store:
  postgres: {{host: {host}, port: {port}, user: {user}, password: "${{WARDEN_TEST_PG_PASSWORD}}", database: {database}, sslmode: disable}}
servers:
  echo: {{command: [{sys.executable}, {FIXTURES / "echo_server.py"}], policy: {filled_sqlite["policy"]}}}
""")
    instance_env = {**env, "WARDEN_TEST_PG_PASSWORD": "unused-with-trust"}
    checked = run(warden, "config", "check", str(config), env=instance_env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    missing = run(warden, "config", "check", str(config), env=env)
    assert missing.returncode == 2 and "the environment variable WARDEN_TEST_PG_PASSWORD is not set" in missing.stdout

    logs: list[list[str]] = [[], []]
    instances = [start_serve(warden, config, instance_env, logs[0], arguments=("--port", "0")),
                 start_serve(warden, config, instance_env, logs[1], arguments=("--port", "0", "--host", "127.0.0.1"))]
    try:
        assert instances[0][1] != instances[1][1]
        for count, (_, base) in enumerate(instances, start=8):
            async with mcp_session(f"{base}/mcp/echo", filled_sqlite["token"]) as session:
                result = await session.call_tool("echo", {"from": base})
                assert not result.is_error, result
            # Each call's entry is in the shared log before the instances stop: this test is about
            # where they append, not about the last flush at shutdown.
            wait_for(lambda: f"audit log intact: {count} entries verified" in run(warden, "audit", "verify", "--db", postgres_url).stdout)
    finally:
        for (process, _), log in zip(instances, logs):
            process.terminate()
            assert process.wait(timeout=TIMEOUT) == 0, "".join(log)
    # Both instances wrote to the one chain that was copied: 7 + 2 calls, intact.
    verified = run(warden, "audit", "verify", "--db", postgres_url)
    assert verified.returncode == 0 and "audit log intact: 9 entries verified" in verified.stdout, \
        verified.stdout + verified.stderr + "".join(logs[0] + logs[1])


def test_bad_store_urls_exit_two_and_never_show_the_password(warden, tmp_path):
    for command in (["audit", "verify"], ["grants", "list"], ["approvals", "list"], ["admins", "list"]):
        result = run(warden, *command, "--db", "postgres://warden:hunter2@db:0/warden")
        assert result.returncode == 2, command
        assert "invalid PostgreSQL URL" in result.stderr and "hunter2" not in result.stderr, result.stderr
    migrate = run(warden, "store", "migrate", "--from", "mysql://x/y", "--to", str(tmp_path / "b.db"))
    assert migrate.returncode == 2 and "--from: mysql:// is not a store Warden knows" in migrate.stderr


def test_an_unreachable_destination_exits_two_and_the_source_is_untouched(warden, filled_sqlite):
    before = listing(warden, filled_sqlite["db"])
    result = run(warden, "store", "migrate", "--from", filled_sqlite["db"],
                 "--to", "postgres://warden:hunter2@127.0.0.1:1/warden?sslmode=disable&connect_timeout=2&query_timeout=3")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot open the database postgres://warden@127.0.0.1:1/warden" in result.stderr and "hunter2" not in result.stderr
    assert listing(warden, filled_sqlite["db"]) == before
