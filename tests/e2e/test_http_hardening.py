"""`warden serve` under abuse and failure: connections that stall, too many connections, a
grant opening sessions without end, made-up tool names in the metrics, server names whose
aggregated tool names could be read two ways, a port in use, and a shutdown with things stuck."""

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import closing
from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest

from conftest import FIXTURES, TIMEOUT, audit, wait_for
from test_http_gateway import INITIALIZE, Gateway, bearer, gateway, http, open_session  # noqa: F401 (gateway: a fixture)


def address(gateway: Gateway) -> tuple[str, int]:
    parts = urlsplit(gateway.base)
    return parts.hostname, parts.port


def closed_after(connection: socket.socket, within: float) -> tuple[float | None, bytes]:
    """Reads until the peer closes; returns (seconds it took, or None if still open after
    `within` seconds, and what was received)."""
    connection.settimeout(within)
    started = time.monotonic()
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
        return time.monotonic() - started, received
    except ConnectionResetError:
        return time.monotonic() - started, received
    except socket.timeout:
        return None, received


def metrics(connection: HTTPConnection) -> str:
    """/metrics on a kept-alive connection (a new connection would count as one)."""
    connection.request("GET", "/metrics")
    return connection.getresponse().read().decode()


def test_stalled_connections_are_closed_before_any_authentication(warden, env, tmp_path):
    gateway = Gateway(warden, env, tmp_path, listen=", header_timeout: 1s, body_timeout: 1s, idle_timeout: 2s")
    try:
        host, port = address(gateway)
        silent = socket.create_connection((host, port))
        partial_head = socket.create_connection((host, port))
        partial_head.sendall(b"POST /mcp/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        partial_body = socket.create_connection((host, port))
        partial_body.sendall(b"POST /mcp/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 100\r\n\r\n{\"jsonrpc\"")
        kept_alive = socket.create_connection((host, port))
        kept_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

        results = {}

        def watch(name, connection):
            results[name] = closed_after(connection, 8)

        watchers = [threading.Thread(target=watch, args=item) for item in
                    [("silent", silent), ("partial head", partial_head), ("partial body", partial_body), ("idle", kept_alive)]]
        for watcher in watchers:
            watcher.start()
        for watcher in watchers:
            watcher.join()
        for name, bound in [("silent", 1), ("partial head", 1), ("partial body", 1), ("idle", 2)]:
            seconds, _ = results[name]
            assert seconds is not None, f"the {name} connection is still open"
            assert bound / 2 < seconds < bound + 2.5, (name, seconds)
        assert results["partial body"][1].startswith(b"HTTP/1.1 401"), "refused before its body, then closed when it stalled"
        assert results["idle"][1].startswith(b"HTTP/1.1 200"), "answered, kept alive, then closed when idle"

        with closing(HTTPConnection(host, port, timeout=TIMEOUT)) as operator:
            text = metrics(operator)
        assert 'warden_connections_timed_out_total{phase="header"} 2' in text
        assert 'warden_connections_timed_out_total{phase="body"} 1' in text
        assert 'warden_connections_timed_out_total{phase="idle"} 1' in text
    finally:
        gateway.stop()


def test_answers_in_progress_are_never_cut_by_the_timeouts(warden, env, tmp_path):
    """A slow answer and a session's event stream outlast every timeout: they are answers in
    progress, not stalled requests."""
    gateway = Gateway(warden, env, tmp_path, listen=", header_timeout: 1s, body_timeout: 1s, idle_timeout: 1s")
    try:
        token = gateway.grant("agent", "echo.yaml", "echo")
        session = open_session(gateway, "echo", token)
        headers = {**bearer(token), "mcp-session-id": session}
        host, port = address(gateway)
        stream = socket.create_connection((host, port))
        stream.sendall((f"GET /mcp/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                        f"Authorization: Bearer {token}\r\nMcp-Session-Id: {session}\r\n\r\n").encode())
        slow = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 3}}}
        status, _, body = http("POST", gateway.url("echo"), slow, headers)
        assert status == 200 and "result" in json.loads(body), body
        seconds, received = closed_after(stream, 1)
        assert seconds is None and received.startswith(b"HTTP/1.1 200"), "the event stream is still open after 4 s"
        # It still carries what the server sends.
        notify = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "notify", "arguments": {}}}
        assert http("POST", gateway.url("echo"), notify, headers)[0] == 200
        stream.settimeout(TIMEOUT)
        assert b"notifications/message" in stream.recv(65536)
        stream.close()
    finally:
        gateway.stop()


def test_a_held_calls_event_stream_outlasts_every_timeout(warden, env, tmp_path):
    from test_http_approvals import HELD_TIME, admin_token, api, wait_for_pending

    (tmp_path / "held_time.yaml").write_text(HELD_TIME)
    gateway = Gateway(warden, env, tmp_path, listen=", header_timeout: 1s, body_timeout: 1s, idle_timeout: 1s")
    try:
        agent = gateway.grant("agent", "held_time.yaml", "time")
        carol = admin_token(gateway, "carol", "approver")
        session = open_session(gateway, "time", agent)
        call = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "get_current_time", "arguments": {"timezone": "UTC"}}}
        answered = {}
        poster = threading.Thread(target=lambda: answered.update(
            reply=http("POST", gateway.url("time"), call, {**bearer(agent), "mcp-session-id": session})))
        poster.start()
        approval = wait_for_pending(gateway, carol)
        time.sleep(3)  # held three times as long as any connection timeout
        assert api(gateway, "POST", f"/admin/api/approvals/{approval['id']}/approve", carol)[0] == 200
        poster.join(TIMEOUT)
        status, headers, reply = answered["reply"]
        assert status == 200 and headers["content-type"] == "text/event-stream"
        events = [json.loads(line[len("data: "):]) for line in reply.decode().splitlines() if line.startswith("data: ")]
        assert events[-1]["id"] == 5 and events[-1]["result"]["isError"] is False
    finally:
        gateway.stop()


def test_connections_beyond_the_cap_are_refused_while_others_are_served(warden, env, tmp_path):
    gateway = Gateway(warden, env, tmp_path, listen=", max_connections: 4, header_timeout: 60s")
    try:
        host, port = address(gateway)
        with closing(HTTPConnection(host, port, timeout=TIMEOUT)) as operator:
            idle = [socket.create_connection((host, port)) for _ in range(3)]
            wait_for(lambda: "warden_open_connections 4" in metrics(operator))
            extra = socket.create_connection((host, port))
            seconds, received = closed_after(extra, TIMEOUT)
            assert seconds is not None and received.startswith(b"HTTP/1.1 503"), received
            assert b"max_connections" in received
            # The connections admitted are served all the same.
            text = metrics(operator)
            assert "warden_connections_refused_total 1" in text and "warden_open_connections 4" in text
            idle[0].close()
            wait_for(lambda: "warden_open_connections 3" in metrics(operator))
        assert http("GET", f"{gateway.base}/healthz")[0] == 200, "a connection is admitted again once one has closed"
        for connection in idle[1:]:
            connection.close()
    finally:
        gateway.stop()


def test_a_grant_opens_at_most_its_cap_of_sessions(warden, env, tmp_path):
    gateway = Gateway(warden, env, tmp_path, limits=", max_sessions_per_grant: 3")
    try:
        token = gateway.grant("agent", "echo.yaml", "echo", "time")
        other = gateway.grant("other", "echo.yaml", "echo")
        first = open_session(gateway, "echo", token)
        open_session(gateway, "time", token)
        assert http("POST", f"{gateway.base}/mcp", INITIALIZE, bearer(token))[0] == 200, "an aggregated session counts as one"

        status, _, body = http("POST", gateway.url("echo"), INITIALIZE, bearer(token))
        assert status == 429, body
        error = json.loads(body)["error"]
        assert "3 sessions open" in error["message"] and "max_sessions_per_grant" in error["message"]
        assert "DELETE" in error["message"], "says how to get under the cap"
        assert http("GET", f"{gateway.base}/sse/echo", headers={**bearer(token), "accept": "text/event-stream"})[0] == 429
        assert http("POST", f"{gateway.base}/mcp", INITIALIZE, bearer(token))[0] == 429
        assert http("POST", gateway.url("echo"), INITIALIZE, bearer(other))[0] == 200, "other grants are not held back"

        text = http("GET", f"{gateway.base}/metrics")[2].decode()
        counts = dict(re.findall(r'warden_grant_sessions\{grant="([^"]+)"\} (\S+)', text))
        assert sorted(float(count) for count in counts.values()) == [1.0, 3.0]
        refused = re.findall(r'warden_sessions_refused_total\{grant="([^"]+)"\} (\d+)', text)
        assert [int(count) for _, count in refused] == [3]

        # Ending a session makes room for one.
        assert http("DELETE", gateway.url("echo"), headers={**bearer(token), "mcp-session-id": first})[0] == 200
        assert http("POST", gateway.url("echo"), INITIALIZE, bearer(token))[0] == 200
    finally:
        gateway.stop()


def test_made_up_tool_names_do_not_grow_the_metrics(gateway):
    token = gateway.grant("agent", "echo.yaml", "echo", "time")
    session = open_session(gateway, "echo", token)
    headers = {**bearer(token), "mcp-session-id": session}
    batch = [{"jsonrpc": "2.0", "id": index, "method": "tools/call", "params": {"name": f"made-up-{index}", "arguments": {}}}
             for index in range(500)]
    batch.append({"jsonrpc": "2.0", "id": "real", "method": "tools/call", "params": {"name": "echo", "arguments": {}}})
    status, _, body = http("POST", gateway.url("echo"), batch, headers)
    assert status == 200 and len(json.loads(body)) == 501
    status, _, _ = http("POST", f"{gateway.base}/mcp", INITIALIZE, bearer(token))
    text = http("GET", f"{gateway.base}/metrics")[2].decode()
    series = [line for line in text.splitlines() if line.startswith("warden_decisions_total{")]
    assert 'warden_decisions_total{server="echo",tool="(unknown)",decision="unknown_tool"} 500' in series, series
    assert 'warden_decisions_total{server="echo",tool="echo",decision="allow"} 1' in series
    assert len(series) == 2, series
    assert len(text) < 20_000


def test_server_names_read_two_ways_are_refused_and_calls_route_by_the_whole_prefix(warden, env, tmp_path):
    (tmp_path / "echo.yaml").write_text('version: "1"\ndefault: allow\n')
    echo = f"[{sys.executable}, {FIXTURES / 'echo_server.py'}]"
    (tmp_path / "colliding.yaml").write_text(f"""
version: "1"
listen: {{host: 127.0.0.1, port: 0}}
store: {{sqlite: warden.db}}
servers:
  files: {{command: {echo}, policy: echo.yaml}}
  files_: {{command: {echo}, policy: echo.yaml}}
""")
    checked = subprocess.run([warden, "config", "check", str(tmp_path / "colliding.yaml")],
                             capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    said = checked.stdout + checked.stderr
    assert "the server names files and files_ collide" in said and "files___read_file" in said, said
    served = subprocess.run([warden, "serve", "--config", str(tmp_path / "colliding.yaml")],
                            capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert served.returncode == 2 and "files and files_ collide" in served.stderr, served.stderr

    # A name ending in the separator's character, alone, routes by its whole prefix.
    gateway = Gateway(warden, env, tmp_path, extra=f"""  files_:
    command: {echo}
    policy: echo.yaml
""")
    try:
        token = gateway.grant("agent", "echo.yaml", "files_", "echo")
        status, headers, _ = http("POST", f"{gateway.base}/mcp", INITIALIZE, bearer(token))
        session = {**bearer(token), "mcp-session-id": headers["mcp-session-id"]}
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "files___echo", "arguments": {}}}
        answer = json.loads(http("POST", f"{gateway.base}/mcp", call, session)[2])
        assert '\\"name\\": \\"echo\\"' in answer["result"]["content"][0]["text"] or '"name":"echo"' in answer["result"]["content"][0]["text"]
        wait_for(lambda: len(audit(gateway.warden, gateway.db)) == 1)
        assert [(r["server"], r["tool"]) for r in audit(gateway.warden, gateway.db)] == [("files_", "echo")]
    finally:
        gateway.stop()


def test_a_port_in_use_is_named_plainly(warden, env, tmp_path):
    (tmp_path / "echo.yaml").write_text('version: "1"\ndefault: allow\n')
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (tmp_path / "warden.yaml").write_text(f"""
version: "1"
listen: {{host: 127.0.0.1, port: {port}}}
store: {{sqlite: warden.db}}
servers:
  echo: {{command: [{sys.executable}, {FIXTURES / 'echo_server.py'}], policy: echo.yaml}}
""")
        result = subprocess.run([warden, "serve", "--config", str(tmp_path / "warden.yaml")],
                                capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert result.returncode == 2
    assert f"error: port {port} is in use; set listen.port or stop the other process" in result.stderr, result.stderr
    assert "shutting down" not in result.stderr and "errno" not in result.stderr, result.stderr


def test_shutdown_ends_within_its_bound_whatever_is_stuck(warden, env, tmp_path):
    """A call its server never answers, a connection that stalled in its body and an open
    event stream: SIGTERM still ends Warden within limits.shutdown_timeout, with the audit
    log flushed."""
    gateway = Gateway(warden, env, tmp_path, limits=", shutdown_timeout: 4s")
    token = gateway.grant("agent", "echo.yaml", "echo")
    session = open_session(gateway, "echo", token)
    headers = {**bearer(token), "mcp-session-id": session}
    done = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "echo", "arguments": {"n": 1}}}
    assert http("POST", gateway.url("echo"), done, headers)[0] == 200

    stuck_answer = []
    stuck = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 3600}}}
    caller = threading.Thread(target=lambda: stuck_answer.append(http("POST", gateway.url("echo"), stuck, headers)), daemon=True)
    caller.start()
    wait_for(lambda: "warden_decision_duration_seconds_count 2" in http("GET", f"{gateway.base}/metrics")[2].decode())
    host, port = address(gateway)
    stalled = socket.create_connection((host, port))
    stalled.sendall((f"POST /mcp/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                     f"Mcp-Session-Id: {session}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"jsonrpc\"").encode())
    stream = socket.create_connection((host, port))
    stream.sendall((f"GET /mcp/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                    f"Authorization: Bearer {token}\r\nMcp-Session-Id: {session}\r\n\r\n").encode())
    time.sleep(0.5)

    started = time.monotonic()
    gateway.process.send_signal(signal.SIGTERM)
    try:
        status = gateway.process.wait(timeout=4 + 10)
    except subprocess.TimeoutExpired:
        gateway.process.kill()
        pytest.fail("warden serve was still running 14 s after SIGTERM")
    elapsed = time.monotonic() - started
    assert status == 0 and elapsed < 4 + 2, (status, elapsed, "".join(gateway.stderr[-5:]))
    caller.join(TIMEOUT)
    assert stuck_answer and json.loads(stuck_answer[0][2])["error"]["code"] == -32603, "the stuck call got an error, not a hang"
    records = audit(gateway.warden, gateway.db)
    assert ("echo", "allow", "ok") in [(r["tool"], r["decision"], r.get("upstream_status")) for r in records], records
    assert "slow" in [r["tool"] for r in records], "the stuck call's record was flushed too"
    stalled.close()
    stream.close()
