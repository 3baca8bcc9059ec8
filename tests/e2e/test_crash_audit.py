"""A gateway on SQLite SIGKILLed mid-call (`warden run`, one `warden serve`): started again,
it audits the call it left in flight as `interrupted`, and the count it took stays taken.
`warden audit recover` audits what an instance that never comes back left."""

import json
import subprocess
import sys

from conftest import FIXTURES, TIMEOUT, RawClient, ServeInstance, audit, free_port, verify, wait_for
from test_multi_instance import initialize, instance_config
from test_multi_instance_postgres import call_in_background, end_servers_logging_to, outcome, tool_call

POLICY = """
version: "1"
default: allow
tools:
  slow:
    limits: [{counter: slow_calls, window: day, max: 5, scope: global}]
"""


def recover(warden: str, env: dict, db: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([warden, "audit", "recover", "--db", db, *arguments], capture_output=True, text=True,
                          timeout=TIMEOUT, env=env)


def intents(warden: str, env: dict, db: str) -> list[dict]:
    listed = recover(warden, env, db, "--older-than", "0s", "--dry-run", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_warden_run_killed_mid_call_audits_the_call_as_interrupted_when_it_runs_again(warden, env, db, write_policy, tmp_path):
    log = tmp_path / "server.log"
    command = [warden, "run", "--policy", write_policy(POLICY), "--db", db, "--", sys.executable, str(FIXTURES / "echo_server.py")]
    first = RawClient(command, {**env, "ECHO_SERVER_LOG": str(log)})
    first.initialize()
    first.call(1, "slow", {"seconds": 30})
    wait_for(lambda: log.exists() and b'"slow"' in log.read_bytes())
    first.process.kill()
    first.process.wait(timeout=TIMEOUT)
    end_servers_logging_to(log)
    assert audit(warden, db, "--tool", "slow") == [], "the call in flight had no record yet"
    [left] = intents(warden, env, db)
    assert left["record"]["tool"] == "slow" and "instance" not in left

    second = RawClient(command, env)
    second.initialize()
    wait_for(lambda: audit(warden, db, "--tool", "slow") != [])
    [record] = audit(warden, db, "--tool", "slow")
    assert record["decision"] == "allow" and record["upstream_status"] == "interrupted", record
    assert "interrupted: Warden (process " in record["message"] and "latency_ms" not in record
    assert intents(warden, env, db) == []
    # What the killed call counted stays counted: 4 of the limit's 5 are left.
    for n in range(6):
        second.call(10 + n, "slow", {"seconds": 0})
    answers = [second.read() for _ in range(6)]
    refused = [answer for answer in answers if answer["result"].get("isError")]
    assert len(refused) == 2, answers
    assert second.close() == 0
    assert verify(warden, db).returncode == 0


def serve(warden: str, env: dict, directory, config: str) -> ServeInstance:
    return ServeInstance(warden, env, directory, "gateway", config)


def grant(warden: str, env: dict, db: str, policy: str) -> str:
    issued = subprocess.run([warden, "grants", "create", "--label", "agent", "--policy", policy, "--server", "echo",
                             "--db", db, "--format", "json"], capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert issued.returncode == 0, issued.stderr
    return json.loads(issued.stdout)["token"]


def test_warden_serve_on_sqlite_killed_mid_call_audits_the_call_as_interrupted_when_it_starts_again(warden, env, tmp_path):
    log = tmp_path / "server.log"
    (tmp_path / "policy.yaml").write_text(POLICY)
    db = str(tmp_path / "warden.db")
    config = instance_config(free_port())
    token = grant(warden, env, db, str(tmp_path / "policy.yaml"))
    gateway = serve(warden, {**env, "ECHO_SERVER_LOG": str(log)}, tmp_path, config)
    try:
        session = initialize(gateway.url("echo"), token)
        call_in_background(lambda: tool_call(gateway.url("echo"), token, session, "slow", {"seconds": 30}, id=1))
        wait_for(lambda: log.exists() and b'"slow"' in log.read_bytes())
        gateway.kill()
        end_servers_logging_to(log)
        [left] = intents(warden, env, db)
        assert left["instance"] == f"127-0-0-1-{gateway.port}"

        gateway = serve(warden, env, tmp_path, config)
        wait_for(lambda: audit(warden, db, "--tool", "slow") != [])
        [record] = audit(warden, db, "--tool", "slow")
        assert record["decision"] == "allow" and record["upstream_status"] == "interrupted", record
        assert f"interrupted: Warden (instance 127-0-0-1-{gateway.port}, process " in record["message"]
        session = initialize(gateway.url("echo"), token)
        results = [outcome(*tool_call(gateway.url("echo"), token, session, "slow", {"seconds": 0}, id=10 + n)) for n in range(6)]
        assert results.count("allowed") == 4 and results.count("limit") == 2, results
    finally:
        gateway.stop()
    assert intents(warden, env, db) == []
    assert verify(warden, db).returncode == 0


def test_warden_audit_recover_audits_what_an_instance_that_never_comes_back_left(warden, env, tmp_path):
    log = tmp_path / "server.log"
    (tmp_path / "policy.yaml").write_text(POLICY)
    db = str(tmp_path / "warden.db")
    config = instance_config(free_port()).replace("listen: {", "listen: {instance: gone, ")
    token = grant(warden, env, db, str(tmp_path / "policy.yaml"))
    gateway = serve(warden, {**env, "ECHO_SERVER_LOG": str(log)}, tmp_path, config)
    session = initialize(gateway.url("echo"), token)
    assert session.startswith("gone.")
    call_in_background(lambda: tool_call(gateway.url("echo"), token, session, "slow", {"seconds": 30}, id=1))
    wait_for(lambda: log.exists() and b'"slow"' in log.read_bytes())
    gateway.kill()
    end_servers_logging_to(log)

    listed = recover(warden, env, db, "--instance", "gone", "--dry-run")
    assert listed.returncode == 0 and "gone" in listed.stdout and "slow" in listed.stdout, listed.stdout + listed.stderr
    assert "no call to recover" in recover(warden, env, db, "--instance", "another").stdout
    assert audit(warden, db, "--tool", "slow") == [], "a dry run changes nothing"
    recovered = recover(warden, env, db, "--instance", "gone", "--format", "json")
    assert recovered.returncode == 0, recovered.stderr
    assert json.loads(recovered.stdout)["recovered"] == 1
    [record] = audit(warden, db, "--tool", "slow")
    assert record["upstream_status"] == "interrupted" and "instance gone" in record["message"]
    assert intents(warden, env, db) == []
    assert verify(warden, db).returncode == 0
    missing = recover(warden, env, db)
    assert missing.returncode != 0 and "--instance NAME, --older-than DURATION, or --stopped-here" in missing.stderr
