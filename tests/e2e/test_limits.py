"""Limits counted in the SQLite store: shared between sessions, budgets, rollbacks."""

import threading

from conftest import audit, fresh_minute

DAY = 86400


def test_concurrent_sessions_share_one_exact_count(raw_client, warden, db):
    policy = """
version: "1"
default: allow
tools:
  echo:
    limits: [{counter: shared, window: day, max: 25, scope: identity}]
"""
    fresh_minute(60, DAY)
    # The first session creates the database; the others join it (see test_lifecycle for
    # several sessions creating it at once).
    clients = [raw_client(policy)]
    clients[0].initialize()
    clients += [raw_client(policy) for _ in range(3)]
    for client in clients[1:]:
        client.initialize()
    answers = {index: [] for index in range(len(clients))}

    def hammer(index, client):
        for number in range(20):
            client.call(number, "echo", {"n": number})
        answers[index] = [client.read() for _ in range(20)]

    threads = [threading.Thread(target=hammer, args=item) for item in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for client in clients:
        assert client.close() == 0

    results = [answer["result"] for replies in answers.values() for answer in replies]
    assert len(results) == 80
    assert sum(1 for result in results if not result["isError"]) == 25
    denials = [result for result in results if result["isError"]]
    assert len(denials) == 55
    assert all(d["_meta"]["warden/decision"]["rule"] == "/tools/echo/limits/0" for d in denials)
    decisions = [r["decision"] for r in audit(warden, db, "--limit", "1000")]
    assert decisions.count("allow") == 25 and decisions.count("deny") == 55


def test_a_budget_counts_the_amounts(raw_client, warden, db):
    client = raw_client("""
version: "1"
default: allow
tools:
  echo:
    limits: [{counter: budget, window: day, max: 100, scope: identity, increment_from: args.amount}]
""")
    fresh_minute(60, DAY)
    client.initialize()
    outcomes = []
    for number, amount in enumerate(["60", "50", "40", "0.5", "0"]):
        client.send(b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"echo","arguments":{"amount":%s}}}'
                    % (number, amount.encode()))
        outcomes.append(client.read()["result"]["isError"])
    assert outcomes == [False, True, False, True, False]
    assert client.close() == 0
    assert [r["decision"] for r in audit(warden, db)] == ["allow", "deny", "allow", "deny", "allow"]


def test_the_rate_limit_shorthand_counts_per_session(raw_client, warden, db):
    policy = """
version: "1"
default: allow
tools:
  echo: {rate_limit: {max: 2, window: minute}}
"""
    fresh_minute(10)
    first = raw_client(policy)
    first.initialize()
    replies = []
    for number in range(3):
        first.call(number, "echo")
        replies.append(first.read()["result"])
    assert [reply["isError"] for reply in replies] == [False, False, True]
    decision = replies[2]["_meta"]["warden/decision"]
    assert decision["decision"] == "deny" and decision["rule"] == "/tools/echo/rate_limit"
    assert 0 < decision["retryAfterSeconds"] <= 60
    assert replies[2]["content"][0]["text"].endswith("(rule /tools/echo/rate_limit)")
    assert first.close() == 0

    # A new `warden run` is a new session, with a count of its own.
    second = raw_client(policy)
    second.initialize()
    second.call(9, "echo")
    assert second.read()["result"]["isError"] is False
    assert second.close() == 0


def test_a_call_the_server_refuses_gives_its_count_back_before_the_client_can_retry(raw_client, warden, db):
    """A JSON-RPC error from the server gives the call's count back. A client that retries as
    soon as it reads the error must find the count given back already."""
    client = raw_client("""
version: "1"
default: allow
tools:
  rpcerror:
    limits: [{window: day, max: 1}]
""")
    fresh_minute(60, DAY)
    client.initialize()
    refused_by_the_limit = []
    for number in range(50):
        client.call(number, "rpcerror")
        answer = client.read()
        if "result" in answer:
            refused_by_the_limit.append((number, answer["result"]["content"][0]["text"]))
    assert client.close() == 0
    assert refused_by_the_limit == [], (
        f"{len(refused_by_the_limit)} of 50 immediate retries were refused by the limit; first: {refused_by_the_limit[0]}")
    assert [r["upstream_status"] for r in audit(warden, db, "--limit", "100")] == ["error -32001"] * 50
