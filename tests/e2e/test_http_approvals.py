"""`require_approval` through `warden serve`: the SDK's Streamable HTTP client calls
mcp-server-time, the call is held, a webhook hears of it, and the admin API (with its roles)
or `warden approvals --url` decides it."""

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import pytest
from mcp import types

from conftest import TIMEOUT, audit, wait_for
from test_http_gateway import INITIALIZE, Gateway, bearer, http, mcp_session, open_session, text_of

HELD_TIME = """
version: "1"
default: deny
tools:
  get_current_time:
    action: require_approval
    reason: time lookups need a person
    approval: {timeout: 1m, approvers: [alice, carol]}
  convert_time: {}
"""


class Webhook:
    """A receiver for the approvals webhook that fails its first delivery (to see the retry)."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.attempts = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                hook.attempts += 1
                if hook.attempts == 1:
                    self.send_response(500)
                else:
                    hook.bodies.append({"body": json.loads(body), "secret": self.headers.get("x-hook-secret")})
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *arguments):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def webhook():
    receiver = Webhook()
    yield receiver
    receiver.close()


def start_held_gateway(warden, env, tmp_path, webhook: Webhook) -> Gateway:
    """`warden serve` in front of mcp-server-time, with HELD_TIME for grants and the webhook."""
    (tmp_path / "held_time.yaml").write_text(HELD_TIME)
    env = {**env, "HOOK_SECRET": "s3cret"}
    return Gateway(warden, env, tmp_path, extra=f"""
approvals:
  webhook: {{url: "{webhook.url}", headers: {{X-Hook-Secret: "${{HOOK_SECRET}}"}}}}
""")


@pytest.fixture
def held_gateway(warden, env, tmp_path, webhook):
    running = start_held_gateway(warden, env, tmp_path, webhook)
    yield running
    running.stop()


def json_lines(text: str) -> list[dict]:
    """The objects `warden ... list --format json` prints, one a line."""
    return [json.loads(line) for line in text.splitlines()]


def admin_token(gateway: Gateway, name: str, role: str) -> str:
    result = subprocess.run(
        [gateway.warden, "admins", "create", "--db", gateway.db, "--name", name, "--role", role, "--format", "json"],
        capture_output=True, text=True, env=gateway.env, timeout=TIMEOUT, check=True)
    return json.loads(result.stdout)["token"]


def api(gateway: Gateway, method: str, path: str, token: str | None, body=None):
    status, _, raw = http(method, gateway.base + path, body, bearer(token) if token else {})
    return status, json.loads(raw) if raw else None


def pending(gateway: Gateway, token: str) -> list[dict]:
    status, body = api(gateway, "GET", "/admin/api/approvals?status=pending", token)
    assert status == 200, body
    return body["approvals"]


def wait_for_pending(gateway: Gateway, token: str) -> dict:
    wait_for(lambda: pending(gateway, token) != [])
    return pending(gateway, token)[0]


@pytest.mark.anyio
async def test_a_held_call_is_announced_and_decided_through_the_admin_api_with_roles(held_gateway, webhook):
    gateway = held_gateway
    agent = gateway.grant("agent", "held_time.yaml", "time")
    viewer = admin_token(gateway, "victor", "viewer")
    bob = admin_token(gateway, "bob", "approver")
    alice = admin_token(gateway, "alice", "approver")
    outcomes: dict = {}

    def decide():
        approval = wait_for_pending(gateway, viewer)
        outcomes["approval"] = approval
        outcomes["anonymous"] = api(gateway, "POST", f"/admin/api/approvals/{approval['id']}/approve", None)[0]
        outcomes["viewer"] = api(gateway, "POST", f"/admin/api/approvals/{approval['id']}/approve", viewer)
        outcomes["unnamed"] = api(gateway, "POST", f"/admin/api/approvals/{approval['id']}/approve", bob)
        outcomes["alice"] = api(gateway, "POST", f"/admin/api/approvals/{approval['id']}/approve", alice, {"reason": "fine"})
        outcomes["again"] = api(gateway, "POST", f"/admin/api/approvals/{approval['id']}/deny", alice)

    async with mcp_session(gateway.url("time"), agent) as session:
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, decide)
            result = await session.call_tool("get_current_time", {"timezone": "Asia/Tokyo"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["timezone"] == "Asia/Tokyo"
    assert outcomes["anonymous"] == 401
    assert outcomes["viewer"][0] == 403 and "needs the approver role" in outcomes["viewer"][1]["error"]
    assert outcomes["unnamed"][0] == 403 and "bob may not decide" in outcomes["unnamed"][1]["error"]
    assert outcomes["alice"][0] == 200 and outcomes["alice"][1]["status"] == "approved"
    assert outcomes["alice"][1]["decided_by"] == "alice" and outcomes["alice"][1]["reason"] == "fine"
    assert outcomes["again"][0] == 409
    approval = outcomes["approval"]
    assert approval["tool"] == "get_current_time" and approval["server"] == "time" and approval["identity"] == "agent"
    assert approval["arguments"] == {"timezone": "Asia/Tokyo"}

    wait_for(lambda: webhook.bodies != [])
    assert webhook.attempts == 2, "the failed first delivery was retried"
    [delivery] = webhook.bodies
    assert delivery["secret"] == "s3cret"
    assert delivery["body"]["event"] == "approval.created" and delivery["body"]["approval"]["id"] == approval["id"]
    assert delivery["body"]["url"] == f"{gateway.base}/admin/approvals/{approval['id']}"

    def decisions() -> list[str]:  # records are written in the background
        return [record["decision"] for record in audit(gateway.warden, gateway.db) if record.get("tool") == "get_current_time"]

    wait_for(lambda: len(decisions()) == 2)
    assert decisions() == ["approval_required", "approved"]


@pytest.mark.anyio
async def test_warden_approvals_decides_through_a_remote_gateway(held_gateway):
    gateway = held_gateway
    agent = gateway.grant("agent", "held_time.yaml", "time")
    carol = admin_token(gateway, "carol", "approver")
    outcomes: dict = {}

    def cli(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([gateway.warden, "approvals", *arguments, "--url", gateway.base, "--format", "json"],
                              capture_output=True, text=True, timeout=TIMEOUT, env={**gateway.env, "WARDEN_ADMIN_TOKEN": carol})

    def decide():
        wait_for(lambda: cli("list").stdout.strip() != "")
        [approval] = json_lines(cli("list").stdout)
        outcomes["show"] = cli("show", approval["id"])
        outcomes["deny"] = cli("deny", approval["id"], "--reason", "not today")
        outcomes["again"] = cli("approve", approval["id"])
        outcomes["unknown"] = cli("show", "a_nothing")

    async with mcp_session(gateway.url("time"), agent) as session:
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, decide)
            result = await session.call_tool("get_current_time", {"timezone": "UTC"})
    assert result.is_error and "denied by carol: not today" in text_of(result)
    assert json.loads(outcomes["show"].stdout)["status"] == "pending"
    assert outcomes["deny"].returncode == 0 and json.loads(outcomes["deny"].stdout)["status"] == "denied"
    assert outcomes["again"].returncode == 1 and "already denied" in outcomes["again"].stderr
    assert outcomes["unknown"].returncode == 2


@pytest.mark.anyio
async def test_a_gateway_shut_down_while_a_call_is_held_answers_it_and_closes_the_approval(held_gateway):
    gateway = held_gateway
    agent = gateway.grant("agent", "held_time.yaml", "time")
    viewer = admin_token(gateway, "victor", "viewer")

    def stop_when_held():
        wait_for_pending(gateway, viewer)
        gateway.stop()

    async with mcp_session(gateway.url("time"), agent) as session:
        async with anyio.create_task_group() as group:
            group.start_soon(anyio.to_thread.run_sync, stop_when_held)
            result = await session.call_tool("get_current_time", {"timezone": "UTC"})
    assert result.is_error and "not approved: the gateway is shutting down" in text_of(result)
    listed = subprocess.run([gateway.warden, "approvals", "list", "--status", "all", "--db", gateway.db, "--format", "json"],
                            capture_output=True, text=True, timeout=TIMEOUT, check=True)
    [closed] = json_lines(listed.stdout)
    assert closed["status"] == "cancelled" and closed["reason"] == "the gateway is shutting down"


def test_the_admin_api_shows_the_audit_log_grants_and_servers_and_guards_changes(held_gateway):
    gateway = held_gateway
    agent = gateway.grant("agent", "held_time.yaml", "time")
    viewer = admin_token(gateway, "victor", "viewer")
    admin = admin_token(gateway, "ada", "admin")
    session_status, _, _ = http("POST", gateway.url("time"), {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}, bearer(agent))
    assert session_status == 200

    assert api(gateway, "GET", "/admin/api/grants", None)[0] == 401
    assert api(gateway, "GET", "/admin/api/grants", agent)[0] == 401, "a grant token is not an admin token"
    status, grants = api(gateway, "GET", "/admin/api/grants", viewer)
    assert status == 200 and [grant["label"] for grant in grants["grants"]] == ["agent"]
    grant_id = grants["grants"][0]["id"]

    status, servers = api(gateway, "GET", "/admin/api/servers", viewer)
    assert status == 200
    time_server = next(server for server in servers["servers"] if server["name"] == "time")
    default, granted = time_server["policies"]
    assert default["used_by"] == ["server default"] and granted["used_by"] == ["grant agent"]
    tools = {tool["name"]: tool for tool in granted["tools"]}
    assert tools["get_current_time"]["effect"] == "approval"
    assert tools["get_current_time"]["rule"] == "/tools/get_current_time/approval"
    assert tools["convert_time"]["effect"] == "allow"
    assert {tool["name"]: tool["effect"] for tool in default["tools"]}["get_current_time"] == "allow", "all_time.yaml allows it"

    status, entries = api(gateway, "GET", "/admin/api/audit?limit=5", viewer)
    assert status == 200 and isinstance(entries["entries"], list)
    assert api(gateway, "GET", "/admin/api/audit?since=yesterday", viewer)[0] == 400

    assert api(gateway, "POST", f"/admin/api/grants/{grant_id}/revoke", viewer)[0] == 403
    assert api(gateway, "POST", "/admin/api/policies/reload", viewer)[0] == 403
    assert api(gateway, "POST", "/admin/api/policies/reload", admin) == (200, {"reloaded": True})
    assert api(gateway, "POST", f"/admin/api/grants/{grant_id}/revoke", admin)[0] == 200
    request = {"label": "second", "servers": ["time"], "policy": str(gateway.directory / "held_time.yaml")}
    assert api(gateway, "POST", "/admin/api/grants", viewer, request)[0] == 403
    status, created = api(gateway, "POST", "/admin/api/grants", admin, request)
    assert status == 201 and created["token"].startswith("wdn_") and created["label"] == "second"
    assert open_session(gateway, "time", created["token"])
    assert api(gateway, "POST", "/admin/api/grants", admin, {**request, "servers": ["nope"]})[0] == 400
    assert api(gateway, "POST", "/admin/api/grants", admin, {**request, "policy": "/no/such.yaml"})[0] == 400
    assert http("POST", gateway.url("time"), {"jsonrpc": "2.0", "id": 2, "method": "ping"}, bearer(agent))[0] == 401
    assert api(gateway, "POST", "/admin/api/grants/g_nothing/revoke", admin)[0] == 404


def grant_for_the_callers_approval(gateway) -> str:
    """A grant whose policy holds time lookups for the caller's own approval (`approvers: [user]`)."""
    (gateway.directory / "ask_user.yaml").write_text(HELD_TIME.replace("approvers: [alice, carol]", "approvers: [user]"))
    return gateway.grant("agent", "ask_user.yaml", "time")


@pytest.mark.anyio
@pytest.mark.parametrize("aggregated", [False, True], ids=["server", "aggregated"])
async def test_over_http_the_caller_is_asked_by_elicitation_and_hears_progress(held_gateway, aggregated):
    """The held call's POST streams its progress and the approval question (with the
    aggregated endpoint's prefixed id, which the client's answer carries back), then its answer."""
    gateway = held_gateway
    agent = grant_for_the_callers_approval(gateway)
    questions: list[str] = []
    progress: list[str] = []

    async def answer(context, params):
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    async def on_progress(value, total, message):
        progress.append(message or "")

    url, tool = (f"{gateway.base}/mcp", "time__get_current_time") if aggregated else (gateway.url("time"), "get_current_time")
    async with mcp_session(url, agent, elicitation_callback=answer) as session:
        result = await session.call_tool(tool, {"timezone": "UTC"}, progress_callback=on_progress)
    assert not result.is_error, text_of(result)
    assert questions and "get_current_time on time" in questions[0]
    assert progress and progress[0].startswith("waiting for approval a_")
    listed = subprocess.run([gateway.warden, "approvals", "list", "--status", "approved", "--db", gateway.db, "--format", "json"],
                            capture_output=True, text=True, timeout=TIMEOUT, check=True)
    assert json_lines(listed.stdout)[0]["decided_by"] == "user"


def streamed_while_approved(gateway: Gateway, url: str, body, headers: dict, approver: str) -> list[dict]:
    """POSTs `body`, approves the call it holds as `approver` meanwhile, and returns the
    messages of the event stream that answered the POST."""
    answered: dict = {}
    poster = threading.Thread(target=lambda: answered.update(reply=http("POST", url, body, headers)))
    poster.start()
    approval = wait_for_pending(gateway, approver)
    assert api(gateway, "POST", f"/admin/api/approvals/{approval['id']}/approve", approver)[0] == 200
    poster.join(TIMEOUT)
    status, reply_headers, reply = answered["reply"]
    assert status == 200 and reply_headers["content-type"] == "text/event-stream"
    return [json.loads(line[len("data: "):]) for line in reply.decode().splitlines() if line.startswith("data: ")]


@pytest.mark.parametrize("aggregated", [False, True], ids=["server", "aggregated"])
def test_a_held_call_is_answered_on_its_own_event_stream_with_progress_first(held_gateway, aggregated):
    gateway = held_gateway
    agent = gateway.grant("agent", "held_time.yaml", "time")
    carol = admin_token(gateway, "carol", "approver")
    url = f"{gateway.base}/mcp" if aggregated else gateway.url("time")
    status, headers, _ = http("POST", url, INITIALIZE, bearer(agent))
    session = headers["mcp-session-id"]
    assert http("POST", url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, {**bearer(agent), "mcp-session-id": session})[0] == 202
    tool = "time__get_current_time" if aggregated else "get_current_time"
    call = {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": tool, "arguments": {"timezone": "UTC"}, "_meta": {"progressToken": "p-5"}}}
    events = streamed_while_approved(gateway, url, call, {**bearer(agent), "mcp-session-id": session}, carol)
    assert events[0]["method"] == "notifications/progress" and events[0]["params"]["progressToken"] == "p-5"
    assert events[-1]["id"] == 5 and events[-1]["result"]["isError"] is False
    # An ordinary call on the same session is still answered with plain JSON.
    status, headers, _ = http("POST", url, {"jsonrpc": "2.0", "id": 6, "method": "tools/call",
                                            "params": {"name": tool.replace("get_current_time", "convert_time"), "arguments": {}}},
                              {**bearer(agent), "mcp-session-id": session})
    assert headers["content-type"] == "application/json"


def test_a_held_call_in_a_batch_is_streamed_on_the_batchs_post_after_the_other_answers(held_gateway):
    gateway = held_gateway
    agent = gateway.grant("agent", "held_time.yaml", "time")
    carol = admin_token(gateway, "carol", "approver")
    session = open_session(gateway, "time", agent)
    batch = [
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
         "params": {"name": "get_current_time", "arguments": {"timezone": "UTC"}, "_meta": {"progressToken": "p-7"}}},
        {"jsonrpc": "2.0", "id": 8, "method": "tools/call",
         "params": {"name": "convert_time", "arguments": {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}}},
    ]
    events = streamed_while_approved(gateway, gateway.url("time"), batch, {**bearer(agent), "mcp-session-id": session}, carol)
    assert [event["id"] for event in events if "method" not in event] == [8, 7], "the held call is answered last"
    progress = [event for event in events if event.get("method") == "notifications/progress"]
    assert progress and all(event["params"]["progressToken"] == "p-7" for event in progress)
    assert events[-1]["id"] == 7 and events[-1]["result"]["isError"] is False
    assert "Tokyo" in json.dumps(events[0]) and events[0]["result"]["isError"] is False
    # Without a held call, a batch is still answered with one JSON array.
    status, headers, body = http("POST", gateway.url("time"), [batch[1] | {"id": 9}], {**bearer(agent), "mcp-session-id": session})
    assert headers["content-type"] == "application/json" and [answer["id"] for answer in json.loads(body)] == [9]


@pytest.mark.anyio
async def test_a_gateway_killed_while_a_call_is_held_closes_the_approval_when_it_restarts(warden, env, tmp_path, webhook):
    gateway = start_held_gateway(warden, env, tmp_path, webhook)
    agent = gateway.grant("agent", "held_time.yaml", "time")
    viewer = admin_token(gateway, "victor", "viewer")

    def kill_when_held():
        wait_for_pending(gateway, viewer)
        gateway.process.kill()
        gateway.process.wait(TIMEOUT)

    with pytest.raises(Exception) as failure:
        async with mcp_session(gateway.url("time"), agent) as session:
            async with anyio.create_task_group() as group:
                group.start_soon(anyio.to_thread.run_sync, kill_when_held)
                await session.call_tool("get_current_time", {"timezone": "UTC"})
    assert not failure.group_contains(TimeoutError) if isinstance(failure.value, BaseExceptionGroup) else not isinstance(
        failure.value, TimeoutError), "the client gets an error at once, not a hang"
    restarted = start_held_gateway(warden, env, tmp_path, webhook)
    try:
        wait_for(lambda: api(restarted, "GET", "/admin/api/approvals?status=cancelled", viewer)[1]["approvals"] != [])
        [closed] = api(restarted, "GET", "/admin/api/approvals?status=all", viewer)[1]["approvals"]
        assert closed["reason"] == "the gateway holding the call stopped"
    finally:
        restarted.stop()


def test_a_held_call_the_client_cancels_lets_its_post_go(held_gateway):
    gateway = held_gateway
    agent = gateway.grant("agent", "held_time.yaml", "time")
    viewer = admin_token(gateway, "victor", "viewer")
    session = open_session(gateway, "time", agent)
    headers = {**bearer(agent), "mcp-session-id": session, "accept": "application/json"}
    call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "get_current_time", "arguments": {"timezone": "UTC"}}}
    answered: dict = {}
    poster = threading.Thread(target=lambda: answered.update(reply=http("POST", gateway.url("time"), call, headers)))
    poster.start()
    wait_for_pending(gateway, viewer)
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9, "reason": "gave up"}}
    assert http("POST", gateway.url("time"), cancel, headers)[0] == 202
    poster.join(TIMEOUT)
    status, _, body = answered["reply"]
    assert status == 200 and json.loads(body)["error"]["code"] == -32800
    wait_for(lambda: api(gateway, "GET", "/admin/api/approvals?status=cancelled", viewer)[1]["approvals"] != [])


@pytest.mark.anyio
async def test_a_stateless_caller_approves_through_an_input_required_round(held_gateway):
    """The SDK's high-level client speaks 2026-07-28 (no session): a held call whose policy
    names `user` comes back as `input_required` with the approval form; the client's
    elicitation callback answers, its retry carries the answer, and the call completes."""
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    gateway = held_gateway
    agent = grant_for_the_callers_approval(gateway)
    questions: list[str] = []

    async def answer(context, params):
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": len(questions) == 1, "reason": "" if len(questions) == 1 else "no"})

    with anyio.fail_after(TIMEOUT):
        async with create_mcp_http_client(headers=bearer(agent)) as http_client:
            async with Client(streamable_http_client(gateway.url("time"), http_client=http_client), elicitation_callback=answer) as client:
                approved = await client.call_tool("get_current_time", {"timezone": "UTC"})
                refused = await client.call_tool("get_current_time", {"timezone": "UTC"})
                assert "warden_active_sessions 0" in http("GET", f"{gateway.base}/metrics")[2].decode(), "stateless: no session"
    assert not approved.is_error, text_of(approved)
    assert refused.is_error and "denied by user: no" in text_of(refused)
    assert len(questions) == 2 and "get_current_time on time" in questions[0]
    listed = subprocess.run([gateway.warden, "approvals", "list", "--status", "all", "--db", gateway.db, "--format", "json"],
                            capture_output=True, text=True, timeout=TIMEOUT, check=True)
    assert sorted(approval["status"] for approval in json_lines(listed.stdout)) == ["approved", "denied"]


@pytest.mark.anyio
async def test_a_stateless_caller_on_the_aggregated_endpoint_approves_its_own_held_call(held_gateway):
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    gateway = held_gateway
    agent = grant_for_the_callers_approval(gateway)
    questions: list[str] = []

    async def answer(context, params):
        questions.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    with anyio.fail_after(TIMEOUT):
        async with create_mcp_http_client(headers=bearer(agent)) as http_client:
            async with Client(streamable_http_client(f"{gateway.base}/mcp", http_client=http_client), elicitation_callback=answer) as client:
                approved = await client.call_tool("time__get_current_time", {"timezone": "UTC"})
    assert not approved.is_error, text_of(approved)
    assert len(questions) == 1 and "get_current_time on time" in questions[0]


def test_a_stateless_caller_that_cannot_be_asked_is_refused_a_call_only_it_may_approve(held_gateway):
    gateway = held_gateway
    agent = grant_for_the_callers_approval(gateway)
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    call = {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
            "params": {"name": "get_current_time", "arguments": {"timezone": "UTC"}, "_meta": meta}}
    headers = {**bearer(agent), "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "get_current_time"}
    status, _, body = http("POST", gateway.url("time"), call, headers)
    answer = json.loads(body)
    assert status == 200 and answer["id"] == 4 and answer["result"]["isError"] is True
    assert "only the caller may approve it, and this client cannot be asked" in answer["result"]["content"][0]["text"]
