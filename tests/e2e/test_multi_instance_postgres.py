"""Two `warden serve` instances on one PostgreSQL: exact limits under 1,000 parallel calls,
approvals announced with LISTEN/NOTIFY across instances (the held call, the dashboard's
stream, `warden approvals --url`), an instance SIGKILLed mid-call, both SIGKILLed with calls
in flight (none unaudited after a restart), and PostgreSQL stopped mid-load (fail closed, `/readyz` 503, recovery without a restart). Sticky sessions behind
nginx, revocation and the approval API are in test_multi_instance.py."""

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import TIMEOUT, PostgresCluster, ServeInstance, wait_for
from test_http_gateway import bearer, http, text_of
from test_multi_instance import Pair, held_and_decided, initialize, pending_approvals

COUNTED = """
version: "1"
default: allow
tools:
  echo:
    limits:
      - {counter: echo_calls, window: day, max: 100, scope: global}
  big:
    limits:
      - {counter: spend, window: day, max: 100, scope: global, increment_from: args.amount}
  route:
    limits:
      - {counter: all_routes, window: day, max: 100, scope: global}
      - {counter: grant_routes, window: day, max: 70, scope: grant}
  weird:
    action: require_approval
    reason: weird calls need a person
    approval: {timeout: 1m, approvers: [ops]}
  slow:
    limits:
      - {counter: slow_calls, window: day, max: 50, scope: global}
"""


def postgres_store(url: str) -> str:
    return f'store: {{postgres: "{url}"}}'


@pytest.fixture
def pg_pair(warden, env, tmp_path, postgres_database):
    running = Pair(warden, env, tmp_path, store=postgres_store(postgres_database), db=postgres_database, policy=COUNTED)
    yield running
    running.stop()


def tool_call(url: str, token: str, session: str, tool: str, arguments: dict, id: int):
    """One tools/call on a session, raw; returns (status, parsed body or text)."""
    status, _, body = http("POST", url, {"jsonrpc": "2.0", "id": id, "method": "tools/call",
                                         "params": {"name": tool, "arguments": arguments}},
                           {**bearer(token), "mcp-session-id": session})
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode(errors="replace")


def outcome(status: int, body) -> str:
    """allowed | limit | store (refused: the store is unavailable) | other:<what>."""
    if status == 200 and isinstance(body, dict) and "result" in body:
        result = body["result"]
        text = " ".join(item.get("text", "") for item in result.get("content", []))
        if not result.get("isError"):
            return "allowed"
        if text.startswith("[POLICY DENIED] state store unavailable"):
            return "store"
        if "[POLICY DENIED]" in text and "/limits/" in text:
            return "limit"
        return f"other:{text[:200]}"
    message = body.get("error", {}).get("message", "") if isinstance(body, dict) else str(body)
    if message.startswith("[POLICY DENIED] state store unavailable"):
        return "store"
    return f"other:{status}:{message[:200]}"


def burst(pair: Pair, tokens: list[str], tool: str, arguments: dict, total: int, sessions_per_instance: int = 4) -> list[str]:
    """`total` calls of `tool` in parallel, spread over both instances and several sessions
    on each (round robin over `tokens`); their outcomes."""
    sessions = []
    for instance in pair.instances:
        for n in range(sessions_per_instance):
            token = tokens[n % len(tokens)]
            sessions.append((instance, token, initialize(instance.url("echo"), token)))
    jobs = [sessions[n % len(sessions)] for n in range(total)]

    def one(n: int) -> str:
        instance, token, session = jobs[n]
        return outcome(*tool_call(instance.url("echo"), token, session, tool, arguments, id=n + 10))

    with ThreadPoolExecutor(max_workers=48) as pool:
        return list(pool.map(one, range(total)))


def test_a_limit_of_100_allows_exactly_100_of_1000_parallel_calls_over_two_instances(pg_pair):
    _, token = pg_pair.grant("agent")
    started = time.monotonic()
    outcomes = burst(pg_pair, [token], "echo", {}, 1000)
    assert outcomes.count("allowed") == 100, {o: outcomes.count(o) for o in set(outcomes)}
    assert outcomes.count("limit") == 900, {o: outcomes.count(o) for o in set(outcomes)}
    assert time.monotonic() - started < 60


def test_a_value_budget_is_exact_over_two_instances(pg_pair):
    """A budget of 100 spent 3 at a time: exactly 33 calls fit."""
    _, token = pg_pair.grant("agent")
    outcomes = burst(pg_pair, [token], "big", {"amount": 3, "size": 1}, 1000)
    assert outcomes.count("allowed") == 33, {o: outcomes.count(o) for o in set(outcomes)}
    assert outcomes.count("limit") == 967


def test_a_call_counting_against_two_limits_is_exact_over_two_instances(pg_pair):
    """100 at most in all, 70 at most per grant, two grants calling: exactly 100 allowed, no
    grant above 70; refused calls gave back what they reserved on the other limit."""
    _, first = pg_pair.grant("first")
    _, second = pg_pair.grant("second")
    sessions = []
    for instance in pg_pair.instances:
        for token in (first, second):
            for _ in range(2):
                sessions.append((instance, token, initialize(instance.url("echo"), token)))
    jobs = [sessions[n % len(sessions)] for n in range(1000)]

    def one(n: int) -> tuple[str, str]:
        instance, token, session = jobs[n]
        return token, outcome(*tool_call(instance.url("echo"), token, session, "route", {}, id=n + 10))

    with ThreadPoolExecutor(max_workers=48) as pool:
        results = list(pool.map(one, range(1000)))
    allowed = [token for token, result in results if result == "allowed"]
    assert len(allowed) == 100, {o: [r for _, r in results].count(o) for o in {r for _, r in results}}
    assert allowed.count(first) <= 70 and allowed.count(second) <= 70
    assert all(result in ("allowed", "limit") for _, result in results)


@pytest.mark.anyio
async def test_bs_dashboard_stream_announces_a_call_held_on_a_and_approving_it_answers_within_a_second(pg_pair):
    """B's dashboard stream (/admin/api/approvals/changes) announces the call held on A;
    approved through B's admin API, A hears of it by LISTEN/NOTIFY (its poll, the safety
    net, is every 5 s with PostgreSQL) and answers its caller within a second."""
    _, token = pg_pair.grant("agent")
    ops = pg_pair.admin("ops")
    announced: list[str] = []
    stream_open = threading.Event()

    def listen_on_b():
        request = urllib.request.Request(f"{pg_pair.b.base}/admin/api/approvals/changes", headers=bearer(ops))
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            stream_open.set()
            for line in response:
                if line.startswith(b"data: "):
                    announced.append(line[6:].decode().strip())
                    return

    listener = threading.Thread(target=listen_on_b, daemon=True)
    listener.start()
    assert stream_open.wait(TIMEOUT)

    def decide():
        listener.join(TIMEOUT)
        assert announced, "B's dashboard stream announced nothing"
        assert pending_approvals(pg_pair.b, ops)[0]["id"] == announced[0]
        status, _, body = http("POST", f"{pg_pair.b.base}/admin/api/approvals/{announced[0]}/approve", {}, bearer(ops))
        assert status == 200, body

    result, delay = await held_and_decided(pg_pair.a.url("echo"), token, "weird", decide)
    assert not result.is_error, text_of(result)
    assert delay < 1.0, f"answered {delay:.2f} s after the approval"


@pytest.mark.anyio
async def test_warden_approvals_url_b_decides_a_call_held_on_a(pg_pair):
    _, token = pg_pair.grant("agent")
    ops = pg_pair.admin("ops")

    def decide():
        wait_for(lambda: pending_approvals(pg_pair.b, ops) != [])
        [approval] = pending_approvals(pg_pair.b, ops)
        decided = subprocess.run(
            [pg_pair.warden, "approvals", "deny", approval["id"], "--reason", "not now", "--url", pg_pair.b.base],
            capture_output=True, text=True, timeout=TIMEOUT, env={**pg_pair.env, "WARDEN_ADMIN_TOKEN": ops})
        assert decided.returncode == 0, decided.stderr

    result, delay = await held_and_decided(pg_pair.a.url("echo"), token, "weird", decide)
    assert result.is_error and "denied by ops: not now" in text_of(result), text_of(result)
    assert delay < 1.0


@pytest.fixture
def logged_pg_pair(warden, env, tmp_path, postgres_database):
    """pg_pair, its echo servers appending every line they read to one log."""
    log = tmp_path / "server.log"
    running = Pair(warden, {**env, "ECHO_SERVER_LOG": str(log)}, tmp_path, store=postgres_store(postgres_database),
                   db=postgres_database, policy=COUNTED)
    running.server_log = log
    yield running
    running.stop()


def call_in_background(call) -> None:
    """Runs `call` in a thread of its own; its instance is about to be killed, so its
    connection's end is expected."""
    def run():
        try:
            call()
        except OSError:
            pass

    threading.Thread(target=run, daemon=True).start()


def audited(pair: Pair, tool: str) -> list[dict]:
    result = subprocess.run([pair.warden, "audit", "query", "--db", pair.db, "--tool", tool, "--format", "json"],
                            capture_output=True, text=True, timeout=TIMEOUT, env=pair.env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_an_instance_killed_mid_call_keeps_what_it_counted_and_the_audit_still_verifies(logged_pg_pair):
    """A allows 3 calls of `slow` (50 at most), then is SIGKILLed while a fourth is at the
    server: that one stays counted, so B allows 46 more, not 47. The audit chain verifies,
    and every call that was answered has its record."""
    pair = logged_pg_pair
    _, token = pair.grant("agent")
    session_a = initialize(pair.a.url("echo"), token)
    for n in range(3):
        assert outcome(*tool_call(pair.a.url("echo"), token, session_a, "slow", {"seconds": 0}, id=200 + n)) == "allowed"
    # Answered calls are audited within the writer's 50 ms flush; a kill inside that window
    # leaves their intents, recovered only when an instance starts (see the test below), so
    # this test kills A only after their records are in.
    wait_for(lambda: len(audited(pair, "slow")) == 3)
    call_in_background(lambda: tool_call(pair.a.url("echo"), token, session_a, "slow", {"seconds": 30}, id=300))
    wait_for(lambda: pair.server_log.exists() and b'"seconds": 30' in pair.server_log.read_bytes())
    pair.a.kill()

    session_b = initialize(pair.b.url("echo"), token)
    results = [outcome(*tool_call(pair.b.url("echo"), token, session_b, "slow", {"seconds": 0}, id=400 + n)) for n in range(50)]
    assert results.count("allowed") == 46, {o: results.count(o) for o in set(results)}
    assert results.count("limit") == 4
    pair.b.stop()
    verified = subprocess.run([pair.warden, "audit", "verify", "--db", pair.db], capture_output=True, text=True,
                              timeout=TIMEOUT, env=pair.env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    records = audited(pair, "slow")
    assert len([r for r in records if r["decision"] == "allow"]) >= 49, [r["decision"] for r in records]


def test_sigterm_flushes_every_answered_call_into_postgresql_before_the_pool_closes(pg_pair):
    """SIGTERM straight after a burst of calls: the audit writer's last flush still reaches
    PostgreSQL (the pool is a service that stops after the gateway), so every answered call
    has its record, no intent is left for recovery, the chain verifies and A exits 0."""
    pair = pg_pair
    _, token = pair.grant("agent")
    sessions = [initialize(pair.a.url("echo"), token) for _ in range(4)]

    def one(n: int) -> str:
        return outcome(*tool_call(pair.a.url("echo"), token, sessions[n % 4], "echo", {"text": f"t{n}"}, id=500 + n))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(60)))
    assert results.count("allowed") == 60, {o: results.count(o) for o in set(results)}
    assert pair.a.stop() == 0, "".join(pair.a.stderr)
    assert "closing the store failed" not in "".join(pair.a.stderr)
    assert len([r for r in audited(pair, "echo") if r["decision"] == "allow"]) == 60
    assert pending_intents(pair) == []
    verified = subprocess.run([pair.warden, "audit", "verify", "--db", pair.db], capture_output=True, text=True,
                              timeout=TIMEOUT, env=pair.env)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def canonical_hash(arguments: dict) -> str:
    """Warden's `arguments_hash`: SHA-256 of the compact JSON with sorted keys."""
    return hashlib.sha256(json.dumps(arguments, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def calls_the_server_saw(log: Path) -> list[dict]:
    """The arguments of every tools/call the fixture servers read."""
    calls = []
    for line in log.read_bytes().splitlines():
        message = json.loads(line)
        if isinstance(message, dict) and message.get("method") == "tools/call":
            calls.append({"name": message["params"]["name"], **(message["params"].get("arguments") or {})})
    return calls


def end_servers_logging_to(log: Path) -> None:
    """SIGKILLs the fixture servers whose log is `log`: those of a killed gateway outlive it
    while they sleep through a `slow` call."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"ECHO_SERVER_LOG={log}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                pass


def pending_intents(pair: Pair) -> list[dict]:
    """The call intents in the store (calls forwarded whose record is not written yet)."""
    listed = subprocess.run([pair.warden, "audit", "recover", "--db", pair.db, "--older-than", "0s", "--dry-run",
                             "--format", "json"], capture_output=True, text=True, timeout=TIMEOUT, env=pair.env)
    assert listed.returncode == 0, listed.stderr
    return [json.loads(line) for line in listed.stdout.splitlines()]


def test_both_instances_killed_with_calls_in_flight_leave_no_allowed_call_unaudited_and_no_count_lost(logged_pg_pair):
    """Both instances are SIGKILLed while each has long calls at the server, short calls
    streaming (some decided, some at the server, some answered with their records still in
    the audit writer's queue), limited (`echo`: the intent rides on the reservation) and not
    (`fail`, which the server answers with a tool error: an intent of its own). Restarted, they append what they left in flight as
    `interrupted` records: every call the server saw is in the verified audit log, and the
    limit counts exactly the calls audited as allowed."""
    pair = logged_pg_pair
    _, token = pair.grant("agent")
    configs = [(instance.name, instance.config.read_text()) for instance in pair.instances]
    for n, instance in enumerate(pair.instances * 2):
        session = initialize(instance.url("echo"), token)
        call_in_background(lambda instance=instance, session=session, n=n: tool_call(
            instance.url("echo"), token, session, "slow", {"seconds": 30, "n": n}, id=1))
    wait_for(lambda: pair.server_log.exists() and len([c for c in calls_the_server_saw(pair.server_log) if c["name"] == "slow"]) == 4)
    stop = threading.Event()
    answered = []

    def stream(instance: ServeInstance, worker: int) -> None:
        session = initialize(instance.url("echo"), token)
        for n in range(100_000):
            if stop.is_set():
                return
            tool = "echo" if n % 2 else "fail"
            try:
                result = outcome(*tool_call(instance.url("echo"), token, session, tool, {"n": worker * 100_000 + n}, id=n + 10))
            except OSError:
                return
            answered.append(result)
            time.sleep(0.005)

    streams = [threading.Thread(target=stream, args=(instance, worker), daemon=True)
               for worker, instance in enumerate(pair.instances * 2)]
    for thread in streams:
        thread.start()
    wait_for(lambda: answered.count("allowed") >= 20)
    for instance in pair.instances:
        instance.kill()
    end_servers_logging_to(pair.server_log)
    stop.set()
    for thread in streams:
        thread.join(TIMEOUT)
    assert len(pending_intents(pair)) >= 4, "the calls in flight left their intents"

    # Restarted on the same addresses (the same instance names), they recover what they left.
    pair.instances = [ServeInstance(pair.warden, pair.env, pair.directory, name, config) for name, config in configs]
    wait_for(lambda: pending_intents(pair) == [])
    seen = calls_the_server_saw(pair.server_log)
    entries = [json.loads(line) for line in subprocess.run(
        [pair.warden, "audit", "export", "--db", pair.db], capture_output=True, text=True, timeout=TIMEOUT,
        env=pair.env, check=True).stdout.splitlines()]
    allowed = [entry for entry in entries if entry["decision"] == "allow"]
    audited = {entry["arguments_hash"] for entry in allowed}
    unaudited = [call for call in seen if canonical_hash({k: v for k, v in call.items() if k != "name"}) not in audited]
    assert unaudited == [], f"{len(unaudited)} of {len(seen)} calls the server saw are not audited"
    interrupted = [entry for entry in allowed if entry.get("upstream_status") == "interrupted"]
    assert {entry["tool"] for entry in interrupted} >= {"slow"}
    assert len([entry for entry in interrupted if entry["tool"] == "slow"]) == 4
    assert all(entry["message"].count("interrupted: Warden (instance 127-0-0-1-") == 1 for entry in interrupted)

    # No count lost: `echo` (100 a day) allows exactly what its audited calls left.
    counted = len([entry for entry in allowed if entry["tool"] == "echo"])
    assert counted < 100, "the test must leave room under the limit"
    session = initialize(pair.a.url("echo"), token)
    rest = [outcome(*tool_call(pair.a.url("echo"), token, session, "echo", {"after": n}, id=n + 10)) for n in range(100 - counted + 3)]
    assert rest.count("allowed") == 100 - counted, (counted, {o: rest.count(o) for o in set(rest)})
    assert rest[-3:] == ["limit"] * 3
    pair.stop()
    verified = subprocess.run([pair.warden, "audit", "verify", "--db", pair.db], capture_output=True, text=True,
                              timeout=TIMEOUT, env=pair.env)
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.fixture
def own_cluster():
    """A cluster of this test's own, which it may stop and start."""
    cluster = PostgresCluster()
    yield cluster
    cluster.close()


def ready(instance: ServeInstance) -> int:
    return http("GET", f"{instance.base}/readyz")[0]


def test_postgres_stopped_mid_load_fails_closed_and_recovers_without_a_restart(warden, env, tmp_path, own_cluster):
    url = own_cluster.create_database("warden")
    pair = Pair(warden, env, tmp_path, store=postgres_store(url + "?query_timeout=2&connect_timeout=2"), db=url, policy=COUNTED)
    try:
        _, token = pair.grant("agent")
        sessions = [(instance, initialize(instance.url("echo"), token)) for instance in pair.instances for _ in range(2)]
        outcomes: list[tuple[str, float]] = []
        stop = threading.Event()

        def load(index: int):
            n = 0
            while not stop.is_set() and n < 2000:
                instance, session = sessions[index % len(sessions)]
                started = time.monotonic()
                result = outcome(*tool_call(instance.url("echo"), token, session, "echo", {}, id=1000 * index + n))
                outcomes.append((result, time.monotonic() - started))
                n += 1
                time.sleep(0.02)

        workers = [threading.Thread(target=load, args=(index,), daemon=True) for index in range(4)]
        for worker in workers:
            worker.start()
        wait_for(lambda: sum(1 for result, _ in outcomes if result == "allowed") >= 10)
        own_cluster.stop("fast")
        stopped_at = len(outcomes)
        wait_for(lambda: all(ready(instance) == 503 for instance in pair.instances), timeout=15)
        wait_for(lambda: sum(1 for result, _ in outcomes[stopped_at:] if result == "store") >= 8, timeout=30)
        during = outcomes[stopped_at:]
        assert "allowed" not in [result for result, _ in during[4:]], "a call was served while the store was down"
        assert all(result in ("allowed", "store", "limit") for result, _ in during), {r for r, _ in during}

        own_cluster.start()
        wait_for(lambda: all(ready(instance) == 200 for instance in pair.instances), timeout=30)
        back = len(outcomes)
        wait_for(lambda: any(result == "allowed" for result, _ in outcomes[back:]), timeout=30)
        stop.set()
        for worker in workers:
            worker.join(TIMEOUT)
        assert max(duration for _, duration in outcomes) < 10, "a call hung past the store's query timeout"

        # Nothing counted wrongly: the limit of 100 allows exactly what is left of it.
        allowed = sum(1 for result, _ in outcomes if result == "allowed")
        assert allowed <= 100
        instance, session = sessions[0]
        rest = [outcome(*tool_call(instance.url("echo"), token, session, "echo", {}, id=90000 + n)) for n in range(100 - allowed + 5)]
        assert rest.count("allowed") == 100 - allowed, (allowed, {o: rest.count(o) for o in set(rest)})
        assert rest[-5:] == ["limit"] * 5
    finally:
        pair.stop()
