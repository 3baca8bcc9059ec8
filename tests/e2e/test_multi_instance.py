"""Two `warden serve` instances sharing one store, behind Debian's nginx with the shipped
deploy/nginx/warden.conf: sessions are sticky to the instance that opened them, a session id
sent to the wrong instance gets 404 naming its owner, a stateless retry on the wrong instance
gets a clear refusal, approvals and revocations made on one instance reach the other within
a second. The store is PostgreSQL, and for approvals and revocation also one SQLite file both
processes open (several processes on one host). tests/e2e/test_multi_instance_postgres.py has
the exact counts under load and the faults."""

import json
import subprocess
import sys
import time

import anyio
import pytest

from conftest import FIXTURES, TIMEOUT, Nginx, ServeInstance, free_port, wait_for
from test_http_gateway import INITIALIZE, bearer, http, mcp_session, text_of

POLICY = """
version: "1"
default: allow
tools:
  slow:
    action: require_approval
    reason: slow calls need a person
    approval: {timeout: 1m, approvers: [ops]}
  notify:
    action: require_approval
    reason: the caller approves
    approval: {timeout: 1m, approvers: [user]}
"""

STATELESS_META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}}


def instance_config(port: int, store: str = "store: {sqlite: warden.db}", extra: str = "") -> str:
    return f"""
version: "1"
listen: {{host: 127.0.0.1, port: {port}}}
{store}
limits: {{upstream_timeout: 10s, max_sessions_per_grant: 64}}
servers:
  echo:
    command: [{sys.executable}, {FIXTURES / "echo_server.py"}]
    policy: policy.yaml
{extra}"""


class Pair:
    """Two instances over one store, the grants and admin tokens made for them."""

    def __init__(self, warden: str, env: dict, directory, store: str = "store: {sqlite: warden.db}", db: str | None = None,
                 policy: str = POLICY):
        self.warden, self.env, self.directory = warden, env, directory
        self.db = db or str(directory / "warden.db")
        (directory / "policy.yaml").write_text(policy)
        self.instances: list[ServeInstance] = []
        for name in ("a", "b"):
            self.instances.append(ServeInstance(warden, env, directory, name, instance_config(free_port(), store)))

    @property
    def a(self) -> ServeInstance:
        return self.instances[0]

    @property
    def b(self) -> ServeInstance:
        return self.instances[1]

    def cli(self, *arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.warden, *arguments, "--db", self.db], capture_output=True, text=True,
                              env=self.env, timeout=TIMEOUT)

    def grant(self, label: str) -> tuple[str, str]:
        result = self.cli("grants", "create", "--label", label, "--policy", str(self.directory / "policy.yaml"),
                          "--server", "echo", "--format", "json")
        assert result.returncode == 0, result.stderr
        issued = json.loads(result.stdout)
        return issued["grant"]["id"] if "grant" in issued else issued["id"], issued["token"]

    def admin(self, name: str, role: str = "approver") -> str:
        result = self.cli("admins", "create", "--name", name, "--role", role, "--format", "json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["token"]

    def stop(self) -> None:
        for instance in self.instances:
            instance.stop()


@pytest.fixture(params=["postgres"])
def pair(request, warden, env, tmp_path):
    """Two instances on one PostgreSQL database; tests where a shared SQLite file (several
    processes on one host) adds something run on both (`@pytest.mark.parametrize("pair", …, indirect=True)`)."""
    if request.param == "sqlite":
        running = Pair(warden, env, tmp_path)
    else:
        url = request.getfixturevalue("postgres_database")
        running = Pair(warden, env, tmp_path, store=f'store: {{postgres: "{url}"}}', db=url)
    yield running
    running.stop()


both_stores = pytest.mark.parametrize("pair", ["postgres", "sqlite"], indirect=True)


@pytest.fixture
def nginx(pair, tmp_path):
    proxy = Nginx(tmp_path, [pair.a.port, pair.b.port])
    yield proxy
    proxy.stop()


def owner(session_id: str) -> str:
    return session_id.split(".", 1)[0]


def name_of(instance: ServeInstance) -> str:
    """The name an instance on 127.0.0.1:<port> derives for itself."""
    return f"127-0-0-1-{instance.port}"


def initialize(url: str, token: str) -> str:
    status, headers, body = http("POST", url, INITIALIZE, bearer(token))
    assert status == 200, body
    session = headers["mcp-session-id"]
    status, _, _ = http("POST", url, {"jsonrpc": "2.0", "method": "notifications/initialized"},
                        {**bearer(token), "mcp-session-id": session})
    assert status == 202
    return session


def call(url: str, token: str, session: str, tool: str = "echo", id: int = 2):
    return http("POST", url, {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {}}},
                {**bearer(token), "mcp-session-id": session})


@pytest.mark.anyio
async def test_sessions_through_nginx_stay_on_the_instance_that_opened_them(pair, nginx):
    """Sixteen callers (hashed by token onto the two instances) each open a session through
    nginx with the SDK, list tools and call twice; every request after initialize reaches the
    session's owner. A session id sent straight to the other instance gets 404 naming its owner."""
    grants = [pair.grant(f"agent-{n}")[1] for n in range(16)]
    owners: list[str] = []

    async def one(token: str):
        async with mcp_session(nginx.url("echo"), token) as session:
            tools = [tool.name for tool in (await session.list_tools()).tools]
            assert tools == ["echo", "crash"]  # the first page
            for _ in range(2):
                result = await session.call_tool("echo", {"n": 1})
                assert not result.is_error, text_of(result)
                assert '"name":"echo"' in text_of(result)

    with anyio.fail_after(TIMEOUT * 2):
        async with anyio.create_task_group() as group:
            for token in grants:
                group.start_soon(one, token)

    # The same, raw, to see the ids: they name both instances, and each works only at its owner.
    names = {name_of(pair.a): pair.a, name_of(pair.b): pair.b}
    for token in grants:
        session = initialize(nginx.url("echo"), token)
        owners.append(owner(session))
        assert owner(session) in names, session
        status, _, body = call(nginx.url("echo"), token, session)
        assert status == 200, body
        assert "result" in json.loads(body)
        other = pair.b if names[owner(session)] is pair.a else pair.a
        status, _, body = call(other.url("echo"), token, session)
        assert status == 404, body
        message = json.loads(body)["error"]["message"]
        assert f"belongs to the Warden instance {owner(session)}" in message and f"reached {name_of(other)}" in message
        status, _, body = call(names[owner(session)].url("echo"), token, session)
        assert status == 200, body
    assert set(owners) == set(names), f"sixteen tokens all hashed onto one instance: {owners}"
    assert "warden_foreign_session_requests_total" in http("GET", f"{pair.a.base}/metrics")[2].decode()


def test_nginx_routes_by_the_session_id_not_by_the_caller(pair, nginx):
    """Sessions opened straight on each instance, then used through nginx with the same token:
    whichever instance nginx would pick for the token, each request reaches the session's
    owner (Streamable HTTP by `Mcp-Session-Id`, legacy SSE by `?session_id=`)."""
    import urllib.request

    _, token = pair.grant("agent")
    for instance in pair.instances:
        session = initialize(instance.url("echo"), token)
        assert owner(session) == name_of(instance)
        for n in range(3):
            status, _, body = call(nginx.url("echo"), token, session, id=10 + n)
            assert status == 200, body
            assert "result" in json.loads(body)

        request = urllib.request.Request(f"{instance.base}/sse/echo", headers={**bearer(token), "accept": "text/event-stream"})
        with urllib.request.urlopen(request, timeout=TIMEOUT) as stream:
            lines = iter(stream)
            endpoint = next(line for line in lines if line.startswith(b"data: "))[6:].decode().strip()
            assert endpoint.startswith("/messages/echo?session_id=" + name_of(instance) + "."), endpoint
            status, _, body = http("POST", nginx.base + endpoint, INITIALIZE, bearer(token))
            assert status == 202, body
            answer = next(line for line in lines if line.startswith(b"data: "))
            assert json.loads(answer[6:])["id"] == 1
            other = pair.b if instance is pair.a else pair.a
            status, _, body = http("POST", other.base + endpoint, INITIALIZE, bearer(token))
            assert status == 404 and f"belongs to the Warden instance {name_of(instance)}" in json.loads(body)["error"]["message"]


def test_a_session_whose_instance_is_gone_gets_404_through_nginx(pair, nginx):
    """The owner stopped: nginx answers 404 (start a new session), and a new initialize works
    on the instance still up."""
    _, token = pair.grant("agent")
    session = initialize(nginx.url("echo"), token)
    gone = pair.a if owner(session) == name_of(pair.a) else pair.b
    gone.stop()
    status, _, body = call(nginx.url("echo"), token, session)
    assert status == 404, body
    assert "start a new session" in json.loads(body)["error"]["message"]
    again = initialize(nginx.url("echo"), token)
    assert owner(again) != owner(session)
    status, _, body = call(nginx.url("echo"), token, again)
    assert status == 200, body


def test_stateless_requests_and_their_retries_go_through_nginx(pair, nginx):
    _, token = pair.grant("agent")
    request = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
               "params": {"name": "echo", "arguments": {}, "_meta": STATELESS_META}}
    headers = {**bearer(token), "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "echo"}
    for _ in range(3):
        status, response_headers, body = http("POST", nginx.url("echo"), request, headers)
        assert status == 200, body
        assert response_headers.get("mcp-session-id") is None
        assert json.loads(body)["result"]["resultType"] == "complete"

    # An input_required round through nginx: the retry reaches the instance that asked (the
    # caller's requests hash to one instance), and the call completes.
    for n in range(4):
        _, caller = pair.grant(f"asker-{n}")
        asking = {**headers, **bearer(caller), "mcp-name": "notify"}
        held = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "notify", "arguments": {}, "_meta": STATELESS_META}}
        status, _, body = http("POST", nginx.url("echo"), held, asking)
        assert status == 200, body
        result = json.loads(body)["result"]
        assert result["resultType"] == "input_required", result
        held["params"]["requestState"] = result["requestState"]
        held["params"]["inputResponses"] = {"approve": {"action": "accept", "content": {"approve": True}}}
        status, _, body = http("POST", nginx.url("echo"), held, asking)
        assert status == 200, body
        assert json.loads(body)["result"]["resultType"] == "complete", body


def test_a_stateless_retry_that_reaches_the_wrong_instance_is_refused_clearly(pair):
    """An `input_required` round starts on A; its retry sent to B is refused with -32602
    naming both instances and what to do, at once, and nothing reaches the server. The same
    retry on A then completes the call."""
    _, token = pair.grant("agent")
    request = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
               "params": {"name": "notify", "arguments": {}, "_meta": STATELESS_META}}
    headers = {**bearer(token), "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "notify"}
    status, _, body = http("POST", pair.a.url("echo"), request, headers)
    assert status == 200, body
    result = json.loads(body)["result"]
    assert result["resultType"] == "input_required", result
    state = result["requestState"]
    assert owner(state) == name_of(pair.a)

    retry = json.loads(json.dumps(request))
    retry["params"]["requestState"] = state
    retry["params"]["inputResponses"] = {"approve": {"action": "accept", "content": {"approve": True}}}
    started = time.monotonic()
    status, _, body = http("POST", pair.b.url("echo"), retry, headers)
    assert time.monotonic() - started < 5
    assert status == 400, body
    error = json.loads(body)["error"]
    assert error["code"] == -32602
    assert f"issued by the Warden instance {name_of(pair.a)}" in error["message"]
    assert f"reached {name_of(pair.b)}" in error["message"]
    assert "Send the original call again without requestState" in error["message"]

    status, _, body = http("POST", pair.a.url("echo"), retry, headers)
    assert status == 200, body
    answered = json.loads(body)["result"]
    assert answered.get("resultType") == "complete" and not answered.get("isError"), answered


async def held_and_decided(url: str, token: str, tool: str, decide, arguments: dict | None = None) -> tuple:
    """Calls `tool` through an SDK session at `url`; while it is held, runs `decide()` in a
    thread (it returns once the decision is made). Returns the call's result and how long
    after the decision its answer came, in seconds."""
    outcome: dict = {}
    async with mcp_session(url, token) as session:
        async def held_call():
            outcome["result"] = await session.call_tool(tool, arguments or {})
            outcome["answered"] = time.monotonic()

        async with anyio.create_task_group() as group:
            group.start_soon(held_call)
            await anyio.to_thread.run_sync(decide)
            decided = time.monotonic()
    return outcome["result"], outcome["answered"] - decided


def pending_approvals(instance: ServeInstance, admin: str) -> list[dict]:
    status, _, body = http("GET", f"{instance.base}/admin/api/approvals?status=pending", headers=bearer(admin))
    assert status == 200, body
    return json.loads(body)["approvals"]


def approve_through_the_api(instance: ServeInstance, admin: str, tool: str):
    """A decision for `held_and_decided`: waits for the one pending approval, approves it on `instance`."""
    def decide():
        wait_for(lambda: pending_approvals(instance, admin) != [])
        [approval] = pending_approvals(instance, admin)
        assert approval["tool"] == tool
        status, _, body = http("POST", f"{instance.base}/admin/api/approvals/{approval['id']}/approve", {}, bearer(admin))
        assert status == 200, body
    return decide


@both_stores
@pytest.mark.anyio
async def test_a_call_held_on_a_is_approved_on_b_and_answered_within_a_second(pair):
    _, token = pair.grant("agent")
    ops = pair.admin("ops")
    result, delay = await held_and_decided(
        pair.a.url("echo"), token, "slow", approve_through_the_api(pair.b, ops, "slow"), arguments={"seconds": 0})
    assert not result.is_error, text_of(result)
    assert '"name":"slow"' in text_of(result)
    assert delay < 1.0, f"answered {delay:.2f} s after the approval"


@both_stores
def test_a_revoked_grant_is_refused_on_every_instance_within_a_second(pair):
    """Sessions opened on both instances before the revocation: within a second of
    `warden grants revoke` returning, every request with the token gets 401 on both."""
    grant_id, token = pair.grant("agent")
    sessions = {instance.name: initialize(instance.url("echo"), token) for instance in pair.instances}
    for instance in pair.instances:
        assert call(instance.url("echo"), token, sessions[instance.name])[0] == 200
    result = pair.cli("grants", "revoke", grant_id)
    assert result.returncode == 0, result.stderr
    revoked = time.monotonic()
    for instance in pair.instances:
        status, headers, body = call(instance.url("echo"), token, sessions[instance.name])
        assert status == 401, body
        assert "invalid_token" in headers.get("www-authenticate", "")
        assert http("POST", instance.url("echo"), INITIALIZE, bearer(token))[0] == 401
    assert time.monotonic() - revoked < 1.0


@both_stores
def test_a_rotated_token_is_refused_on_every_instance_and_the_new_one_works(pair):
    grant_id, token = pair.grant("agent")
    sessions = {instance.name: initialize(instance.url("echo"), token) for instance in pair.instances}
    result = pair.cli("grants", "rotate", grant_id, "--format", "json")
    assert result.returncode == 0, result.stderr
    rotated = time.monotonic()
    fresh = json.loads(result.stdout)["token"]
    for instance in pair.instances:
        assert call(instance.url("echo"), token, sessions[instance.name])[0] == 401
    assert time.monotonic() - rotated < 1.0
    for instance in pair.instances:
        assert call(instance.url("echo"), fresh, initialize(instance.url("echo"), fresh))[0] == 200
