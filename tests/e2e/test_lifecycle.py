"""The server's life: crashes, signals, end of input, exit statuses."""

import os
import json
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import FIXTURES, TIMEOUT, audit, wait_for

ALLOW_ALL = 'version: "1"\ndefault: allow\n'
ONE_CRASH_A_DAY = """
version: "1"
default: allow
tools:
  crash:
    limits: [{window: day, max: 1}]
"""


def test_a_crash_mid_call_answers_the_client_and_exits_with_the_servers_status(raw_client, warden, db):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    client.request({"jsonrpc": "2.0", "id": 41, "method": "tools/call", "params": {"name": "crash", "arguments": {}}})
    error = client.read()
    assert error["id"] == 41
    assert error["error"]["code"] == -32603
    assert "exited before answering" in error["error"]["message"]
    assert client.process.wait(timeout=TIMEOUT) == 3
    records = audit(warden, db, "--tool", "crash")
    assert [(r["decision"], r["upstream_status"]) for r in records] == [("allow", "no response")]


def test_every_call_waiting_for_a_crashed_server_gets_an_error_naming_it(raw_client, warden, db, tmp_path: Path):
    log = tmp_path / "server.log"
    client = raw_client(ALLOW_ALL, "--server", "fixture-server", extra_env={"ECHO_SERVER_LOG": str(log)})
    client.initialize()
    client.call("first", "crash", {"delay": 1.0})
    client.call("second", "echo", {"x": 1})
    errors = {}
    for _ in range(2):
        message = client.read()
        errors[message["id"]] = message["error"]
    assert errors == {
        "first": {"code": -32603, "message": "The server fixture-server exited before answering this request"},
        "second": {"code": -32603, "message": "The server fixture-server exited before answering this request"},
    }
    assert client.wait() == 3
    records = audit(warden, db)
    assert sorted((r["tool"], r["decision"], r["upstream_status"], r["server"]) for r in records) == [
        ("crash", "allow", "no response", "fixture-server"),
        ("echo", "allow", "no response", "fixture-server"),
    ]


def test_end_of_input_stops_the_server_and_warden(raw_client):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    started = time.monotonic()
    assert client.close() == 0
    assert time.monotonic() - started < 10


def test_warden_exits_with_the_status_the_server_chose(raw_client):
    client = raw_client(ALLOW_ALL, extra_env={"ECHO_SERVER_EXIT_STATUS": "5"})
    client.initialize()
    assert client.close() == 5


def test_end_of_input_lets_a_running_call_finish(raw_client, warden, db, tmp_path: Path):
    log = tmp_path / "server.log"
    client = raw_client(ALLOW_ALL, extra_env={"ECHO_SERVER_LOG": str(log)})
    client.initialize()
    client.call(1, "slow", {"seconds": 1})
    wait_for(lambda: b'"slow"' in log.read_bytes())
    client.process.stdin.close()
    answer = client.read()
    assert answer["id"] == 1 and answer["result"]["isError"] is False
    assert client.wait() == 0
    [record] = audit(warden, db)
    assert (record["tool"], record["upstream_status"]) == ("slow", "ok")
    assert record["latency_ms"] >= 500


def test_a_client_that_writes_all_its_requests_before_reading_gets_every_answer(warden, env, db, write_policy):
    """Warden's stdout never stops its event loop: answers the client has not read yet wait in
    Warden, which keeps reading the client's requests. (Written to a blocking stdout, the first
    100 kB answer filled the pipe, Warden stopped reading, and the client's writes stalled for
    good.)"""
    policy = write_policy(ALLOW_ALL)
    process = subprocess.Popen([warden, "run", "--policy", policy, "--db", db, "--", sys.executable, str(FIXTURES / "echo_server.py")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}}).encode() + b"\n")
        process.stdin.flush()
        assert json.loads(process.stdout.readline())["id"] == 0
        pad = "x" * 100_000
        lines = [{"jsonrpc": "2.0", "method": "notifications/initialized"}]
        lines += [{"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": "echo", "arguments": {"pad": pad}}}
                  for n in range(1, 21)]
        written = threading.Event()

        def write_everything():
            for line in lines:
                process.stdin.write((json.dumps(line) + "\n").encode())
            process.stdin.close()
            written.set()

        threading.Thread(target=write_everything, daemon=True).start()
        assert written.wait(TIMEOUT), "the client could not write its requests: Warden stopped reading them"
        # The server has ended by now (its input closed): Warden still delivers what waits.
        time.sleep(1)
        answers = [json.loads(line) for line in process.stdout]
        assert [answer["id"] for answer in answers] == list(range(1, 21))
        assert all(pad in answer["result"]["content"][0]["text"] for answer in answers)
        assert process.wait(TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(TIMEOUT)


def resident_bytes(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@contextmanager
def echo_session(warden, env, db, write_policy):
    """`warden run` in front of the echo server, initialized and warmed up by one call: the
    process, and a function that sends it a message. Warden must exit cleanly at the end of
    its input afterwards."""
    process = subprocess.Popen([warden, "run", "--policy", write_policy(ALLOW_ALL), "--db", db, "--", sys.executable, str(FIXTURES / "echo_server.py")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def send(message):
        process.stdin.write((json.dumps(message) + "\n").encode())
        process.stdin.flush()

    try:
        send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}})
        assert json.loads(process.stdout.readline())["id"] == 0
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        send({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {}}})
        assert json.loads(process.stdout.readline())["id"] == 1
        yield process, send
        process.stdin.close()
        assert process.wait(TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(TIMEOUT)


def test_requests_a_busy_server_cannot_take_wait_in_the_client_not_in_warden(warden, env, db, write_policy):
    """While the server does not read its input (a slow call), Warden reads the client's
    requests only until a few MiB of them wait: the client's writes then wait, and Warden's
    memory stays flat. Once the server reads again, every request is answered, in order."""
    with echo_session(warden, env, db, write_policy) as (process, send):
        before = resident_bytes(process.pid)
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 4}}})
        pad = "x" * 100_000
        count = 600  # 60 MB of requests
        written = threading.Event()

        def write_everything():
            for n in range(3, 3 + count):
                send({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": "echo", "arguments": {"pad": pad}}})
            written.set()

        threading.Thread(target=write_everything, daemon=True).start()
        time.sleep(2.5)  # the server sleeps for 4 s: what the client wrote meanwhile waits somewhere
        growth = resident_bytes(process.pid) - before
        assert not written.is_set(), "Warden took 60 MB of requests the server could not take"
        assert growth < 30_000_000, f"Warden grew by {growth} bytes while the server did not read"
        answers = [json.loads(process.stdout.readline()) for _ in range(count + 1)]
        assert [answer["id"] for answer in answers] == list(range(2, 3 + count))
        assert written.wait(TIMEOUT)


def test_requests_read_from_a_file_wait_in_the_file_while_the_server_is_busy(warden, env, db, write_policy, tmp_path: Path):
    """`warden run < requests.json` (stdin a regular file, read on a thread of its own): while
    the server is busy, Warden reads the file only as far as its queue has room. Compared with the
    same run over a file of three lines, Warden's memory grows by a few MiB, not by the 60 MB."""
    head = [
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "slow", "arguments": {"seconds": 4}}},
    ]
    pad = "x" * 100_000
    calls = [{"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": "echo", "arguments": {"pad": pad}}}
             for n in range(2, 602)]

    def resident_while_busy(messages, name):
        requests = tmp_path / name
        requests.write_text("".join(json.dumps(message) + "\n" for message in messages))
        with open(requests, "rb") as stdin:
            process = subprocess.Popen([warden, "run", "--policy", write_policy(ALLOW_ALL), "--db", db, "--", sys.executable,
                                        str(FIXTURES / "echo_server.py")], stdin=stdin, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, env=env)
        try:
            assert json.loads(process.stdout.readline())["id"] == 0
            time.sleep(2)  # the slow call keeps the server from reading for 4 s
            resident = resident_bytes(process.pid)
            answers = [json.loads(line) for line in process.stdout]
            assert process.wait(TIMEOUT) == 0
            return resident, [answer["id"] for answer in answers]
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(TIMEOUT)

    small, small_ids = resident_while_busy(head, "small.json")
    large, large_ids = resident_while_busy(head + calls, "large.json")
    assert small_ids == [1] and large_ids == list(range(1, 602))
    assert large - small < 30_000_000, f"Warden held {large - small} bytes more of a file the server could not take yet"


def test_answers_a_client_does_not_read_wait_in_the_server_not_in_warden(warden, env, db, write_policy):
    """A client that stops reading its answers: Warden keeps up to its limit of them, then stops
    relaying the server's messages and soon reading them, so the server waits in its own write
    and Warden's memory stays flat. Once the client reads, it gets every answer, in order."""
    with echo_session(warden, env, db, write_policy) as (process, send):
        before = resident_bytes(process.pid)
        count = 400  # 80 MB of answers
        for n in range(2, 2 + count):
            send({"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {"name": "big", "arguments": {"size": 200_000}}})
        time.sleep(3)  # the client reads nothing meanwhile
        growth = resident_bytes(process.pid) - before
        assert growth < 45_000_000, f"Warden grew by {growth} bytes while the client did not read"
        answers = [json.loads(process.stdout.readline()) for _ in range(count)]
        assert [answer["id"] for answer in answers] == list(range(2, 2 + count))
        assert all(len(answer["result"]["content"][0]["text"]) == 200_000 for answer in answers)


def test_sigterm_reaches_the_server_and_waiting_calls_are_answered(raw_client, warden, db, tmp_path: Path):
    log = tmp_path / "server.log"
    client = raw_client(ALLOW_ALL, extra_env={"ECHO_SERVER_LOG": str(log)})
    client.initialize()
    client.call(1, "slow", {"seconds": 60})
    wait_for(lambda: b'"slow"' in log.read_bytes())
    started = time.monotonic()
    client.process.send_signal(signal.SIGTERM)
    error = client.read()
    assert error["id"] == 1 and error["error"]["code"] == -32603
    assert client.wait() == 128 + signal.SIGTERM
    assert time.monotonic() - started < 10
    [record] = audit(warden, db)
    assert (record["tool"], record["upstream_status"]) == ("slow", "no response")


def test_a_server_killed_by_a_signal(raw_client, warden, db):
    client = raw_client(ALLOW_ALL)
    client.initialize()
    client.call(1, "kill")
    error = client.read()
    assert error["id"] == 1 and error["error"]["code"] == -32603
    assert client.wait() == 128 + signal.SIGKILL
    assert [r["upstream_status"] for r in audit(warden, db)] == ["no response"]


@pytest.fixture
def child_pid_file(tmp_path: Path):
    path = tmp_path / "child.pid"
    yield path
    if path.exists():
        try:
            os.kill(int(path.read_text()), signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_server_that_exits_while_its_child_keeps_its_output_open(raw_client, warden, db, child_pid_file: Path):
    """The server exits (status 4) mid-call, but a child it started still holds its stdout.
    The server is gone all the same: the waiting call gets -32603 and warden exits with 4."""
    client = raw_client(ALLOW_ALL, extra_env={"ECHO_SERVER_CHILD_PID": str(child_pid_file)})
    client.initialize()
    client.call(1, "orphan", {"seconds": 60})
    error = client.read(timeout=10)
    assert error["id"] == 1 and error["error"]["code"] == -32603
    assert client.wait(timeout=10) == 4


def test_a_rate_limited_call_that_fails_upstream_gives_its_count_back(raw_client, warden, db):
    client = raw_client(ONE_CRASH_A_DAY)
    client.initialize()
    client.request({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "crash", "arguments": {}}})
    assert client.read()["error"]["code"] == -32603
    assert client.process.wait(timeout=TIMEOUT) == 3
    # The crashed call never answered, so its reservation was rolled back: a new session may call again.
    second = raw_client(ONE_CRASH_A_DAY)
    second.initialize()
    second.request({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "crash", "arguments": {}}})
    assert second.read()["error"]["code"] == -32603
    assert [r["decision"] for r in audit(warden, db, "--tool", "crash")] == ["allow", "allow"]


def test_several_sessions_can_create_the_database_at_once(warden, env, write_policy, tmp_path: Path):
    """An agent often starts all its servers at once, each behind `warden run` on the same
    (default) database: when that database does not exist yet, every one of them must start."""
    policy = write_policy(ALLOW_ALL)
    failures = []
    for trial in range(15):
        db = str(tmp_path / f"fresh-{trial}.db")
        processes = [
            subprocess.Popen([warden, "run", "--policy", policy, "--db", db, "--", sys.executable, str(FIXTURES / "echo_server.py")],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            for _ in range(6)
        ]
        for process in processes:
            _, stderr = process.communicate(b"", timeout=TIMEOUT)
            if process.returncode != 0:
                failures.append((trial, process.returncode, stderr.decode().strip()))
    assert failures == [], f"{len(failures)} of 90 sessions failed to start; first: {failures[0]}"
