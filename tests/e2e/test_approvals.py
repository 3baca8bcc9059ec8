"""`require_approval` through `warden run`: the SDK's client calls mcp-server-time, the call is
held, and `warden approvals` (another process, on the same database) decides it."""

import json
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest
from mcp import types

from conftest import TIMEOUT, audit, verify, wait_for, warden_run_session

pytestmark = pytest.mark.anyio

POLICY = """
version: "1"
default: deny
tools:
  get_current_time:
    action: require_approval
    reason: time lookups need a person
    approval: {timeout: %s, approvers: [%s], redact: [args.timezone]}
    limits:
      - {counter: held_time, window: hour, max: %d, scope: identity}
"""


def policy_text(timeout: str = "1m", approvers: str = "", max_calls: int = 100) -> str:
    return POLICY % (timeout, approvers, max_calls)


def approvals(warden: str, db: str, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([warden, "approvals", *arguments, "--db", db], capture_output=True, text=True, timeout=TIMEOUT)


def listed(warden: str, db: str, status: str = "pending") -> list[dict]:
    result = approvals(warden, db, "list", "--status", status, "--format", "json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]  # one object per line


def first_pending(warden: str, db: str) -> dict:
    found: list[dict] = []

    def pending() -> bool:
        found[:] = listed(warden, db)
        return bool(found)

    wait_for(pending)
    return found[0]


def text_of(result) -> str:
    return " ".join(getattr(item, "text", "") for item in result.content)


def session(warden, env, policy, db, **kwargs):
    return warden_run_session(
        warden, env, ["run", "--policy", policy, "--db", db, "--identity", "agent-1", "--", "mcp-server-time"], **kwargs)


async def decide_in_background(warden: str, db: str, *arguments: str) -> subprocess.CompletedProcess:
    """Waits for the held approval, then runs `warden approvals <verb> ID <arguments>`."""
    pending = await anyio.to_thread.run_sync(first_pending, warden, db)
    verb, *rest = arguments
    return await anyio.to_thread.run_sync(lambda: approvals(warden, db, verb, pending["id"], *rest))


async def test_an_approved_call_reaches_the_server_and_the_client_hears_progress(warden, env, db, write_policy):
    policy = write_policy(policy_text())
    progress: list[str] = []

    async def on_progress(value, total, message):
        progress.append(message or "")

    async with session(warden, env, policy, db) as client:
        async with anyio.create_task_group() as group:
            decision: list[subprocess.CompletedProcess] = []

            async def approve():
                decision.append(await decide_in_background(warden, db, "approve", "--reason", "looks fine", "--as", "alice"))

            group.start_soon(approve)
            result = await client.call_tool("get_current_time", {"timezone": "Europe/Oslo"}, progress_callback=on_progress)
        assert decision[0].returncode == 0, decision[0].stderr
        assert not result.is_error, text_of(result)
        assert result.structured_content["timezone"] == "Europe/Oslo"
        assert progress and progress[0].startswith("waiting for approval a_")

    [approval] = listed(warden, db, "approved")
    assert approval["decided_by"] == "alice" and approval["reason"] == "looks fine"
    assert approval["tool"] == "get_current_time" and approval["identity"] == "agent-1"
    assert approval["arguments"] == {"timezone": "[redacted]"}, "the policy redacts args.timezone for approvers"
    records = [record for record in audit(warden, db) if record.get("tool") == "get_current_time"]
    assert [record["decision"] for record in records] == ["approval_required", "approved"]
    assert all(record["approval"] == approval["id"] for record in records)
    assert records[1]["upstream_status"] == "ok" and "approved by alice: looks fine" in records[1]["message"]
    assert verify(warden, db).returncode == 0


async def test_a_denied_call_gets_the_reason_and_its_count_back(warden, env, db, write_policy):
    policy = write_policy(policy_text(max_calls=1))
    async with session(warden, env, policy, db) as client:
        for _ in range(2):  # the second call is held too: the first one's count was given back
            async with anyio.create_task_group() as group:
                decision: list[subprocess.CompletedProcess] = []

                async def deny():
                    decision.append(await decide_in_background(warden, db, "deny", "--reason", "not now", "--as", "bob"))

                group.start_soon(deny)
                result = await client.call_tool("get_current_time", {"timezone": "UTC"})
            assert decision[0].returncode == 0, decision[0].stderr
            assert result.is_error
            assert text_of(result).startswith("[POLICY DENIED] denied by bob: not now (approval a_")
            assert "(rule /tools/get_current_time/approval)" in text_of(result)
    decisions = [record["decision"] for record in audit(warden, db) if record.get("tool") == "get_current_time"]
    assert decisions == ["approval_required", "approval_denied"] * 2


async def test_nobody_deciding_in_time_denies_the_call(warden, env, db, write_policy):
    policy = write_policy(policy_text(timeout="2s"))
    async with session(warden, env, policy, db) as client:
        result = await client.call_tool("get_current_time", {"timezone": "UTC"})
    assert result.is_error
    assert "[POLICY DENIED] not approved: nobody decided within 2s" in text_of(result)
    [approval] = listed(warden, db, "expired")
    assert approval["decided_by"] is None if "decided_by" in approval else True
    late = approvals(warden, db, "approve", approval["id"])
    assert late.returncode == 1 and "already expired" in late.stderr


async def test_only_named_approvers_may_decide(warden, env, db, write_policy):
    policy = write_policy(policy_text(approvers="alice"))
    async with session(warden, env, policy, db) as client:
        async with anyio.create_task_group() as group:
            outcomes: list[subprocess.CompletedProcess] = []

            async def decide():
                pending = await anyio.to_thread.run_sync(first_pending, warden, db)
                outcomes.append(await anyio.to_thread.run_sync(lambda: approvals(warden, db, "approve", pending["id"], "--as", "mallory")))
                outcomes.append(await anyio.to_thread.run_sync(lambda: approvals(warden, db, "approve", pending["id"], "--as", "alice")))

            group.start_soon(decide)
            result = await client.call_tool("get_current_time", {"timezone": "UTC"})
    assert outcomes[0].returncode == 1 and "mallory may not decide" in outcomes[0].stderr
    assert outcomes[1].returncode == 0, outcomes[1].stderr
    assert not result.is_error


async def test_concurrent_decisions_of_one_approval_exactly_one_wins(warden, env, db, write_policy):
    policy = write_policy(policy_text())
    async with session(warden, env, policy, db) as client:
        async with anyio.create_task_group() as group:
            outcomes: list[subprocess.CompletedProcess] = []

            async def race():
                pending = await anyio.to_thread.run_sync(first_pending, warden, db)

                def attempt(index: int) -> subprocess.CompletedProcess:
                    verb = "approve" if index % 2 == 0 else "deny"
                    return approvals(warden, db, verb, pending["id"], "--as", f"approver-{index}")

                with ThreadPoolExecutor(max_workers=8) as pool:
                    outcomes.extend(await anyio.to_thread.run_sync(lambda: list(pool.map(attempt, range(8)))))

            group.start_soon(race)
            result = await client.call_tool("get_current_time", {"timezone": "UTC"})
    winners = [index for index, outcome in enumerate(outcomes) if outcome.returncode == 0]
    assert len(winners) == 1, [outcome.stderr for outcome in outcomes]
    assert all(outcome.returncode == 1 and "already" in outcome.stderr for outcome in outcomes if outcome.returncode != 0)
    [approval] = listed(warden, db, "all")
    assert approval["decided_by"] == f"approver-{winners[0]}"
    assert result.is_error == (approval["status"] == "denied")


async def test_the_caller_approves_through_elicitation(warden, env, db, write_policy):
    policy = write_policy(policy_text(approvers="user"))
    questions: list[str] = []

    async def answer(context, params):
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": len(questions) == 1, "reason": "" if len(questions) == 1 else "no"})

    async with session(warden, env, policy, db, elicitation_callback=answer) as client:
        approved = await client.call_tool("get_current_time", {"timezone": "UTC"})
        refused = await client.call_tool("get_current_time", {"timezone": "UTC"})
    assert not approved.is_error, text_of(approved)
    assert refused.is_error and "denied by user: no" in text_of(refused)
    assert "get_current_time" in questions[0] and "[redacted]" in questions[0]
    statuses = sorted(approval["status"] for approval in listed(warden, db, "all"))
    assert statuses == ["approved", "denied"]


def test_a_gateway_stopped_while_a_call_is_held_answers_it_and_closes_the_approval(raw_client, warden, db):
    client = raw_client(policy_text().replace("get_current_time", "echo"))
    client.initialize()
    client.call(7, "echo", {"timezone": "UTC"})
    pending = first_pending(warden, db)
    client.process.send_signal(signal.SIGTERM)
    answer = client.read()
    assert answer["id"] == 7 and answer["result"]["isError"] is True
    text = answer["result"]["content"][0]["text"]
    assert text.startswith("[POLICY DENIED] not approved: the server ") and "exited" in text
    client.wait()
    [closed] = listed(warden, db, "all")
    assert closed["id"] == pending["id"] and closed["status"] == "cancelled"
    assert closed["reason"].startswith("the server "), "closed by the stopping gateway itself"


def test_a_killed_gateway_leaves_no_approval_pending(raw_client, warden, db):
    client = raw_client(policy_text().replace("get_current_time", "echo"))
    client.initialize()
    client.call(8, "echo", {})
    pending = first_pending(warden, db)
    client.process.kill()
    client.wait()
    # The next look at the approvals (any warden command on this database) closes it.
    assert listed(warden, db) == []
    [closed] = listed(warden, db, "cancelled")
    assert closed["id"] == pending["id"] and closed["reason"] == "the gateway holding the call stopped"


def test_a_call_the_client_cancels_stops_waiting_and_is_not_answered(raw_client, warden, db):
    client = raw_client(policy_text().replace("get_current_time", "echo"))
    client.initialize()
    client.call(9, "echo", {})
    first_pending(warden, db)
    client.request({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9, "reason": "user gave up"}})
    wait_for(lambda: listed(warden, db, "cancelled") != [])
    assert client.nothing_more(within=0.5)
    client.call(10, "missing")
    assert client.read()["id"] == 10, "the session goes on"
    assert client.close() == 0


async def test_a_dismissed_question_leaves_the_decision_to_the_other_approvers(warden, env, db, write_policy):
    policy = write_policy(policy_text(approvers="alice, user"))
    asked: list[str] = []

    async def dismiss(context, params):
        asked.append(params.message)
        return types.ElicitResult(action="cancel")

    async with session(warden, env, policy, db, elicitation_callback=dismiss) as client:
        async with anyio.create_task_group() as group:
            decision: list[subprocess.CompletedProcess] = []

            async def approve():
                decision.append(await decide_in_background(warden, db, "approve", "--as", "alice"))

            group.start_soon(approve)
            result = await client.call_tool("get_current_time", {"timezone": "UTC"})
    assert asked, "the caller was asked"
    assert decision[0].returncode == 0, decision[0].stderr
    assert not result.is_error
    [approval] = listed(warden, db, "approved")
    assert approval["decided_by"] == "alice"


def test_a_rule_only_the_caller_may_decide_is_refused_at_once_when_the_client_cannot_be_asked(raw_client, warden, db):
    client = raw_client(policy_text(approvers="user").replace("get_current_time", "echo"))
    client.initialize()  # no elicitation capability
    client.call(3, "echo", {})
    answer = client.read()
    assert answer["id"] == 3 and answer["result"]["isError"] is True
    assert "only the caller may approve it, and this client cannot be asked" in answer["result"]["content"][0]["text"]
    assert listed(warden, db, "all") == []
    assert client.close() == 0
