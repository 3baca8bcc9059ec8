"""Shared fixtures: the built warden binary, a fresh database, policies, a raw client."""

import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TIMEOUT = 20


@pytest.fixture(scope="session")
def warden() -> str:
    path = ROOT / ".build" / "debug" / "warden"
    # A build in progress may replace the binary: give it a little time to reappear.
    deadline = time.monotonic() + 120
    while not os.access(path, os.X_OK) and time.monotonic() < deadline:
        time.sleep(2)
    assert os.access(path, os.X_OK), "build warden first: swift build"
    return str(path)


@pytest.fixture
def env() -> dict:
    """The environment for warden and its servers: the venv's bin first, so `mcp-server-time`
    and `mcp-server-git` resolve however pytest was started."""
    environment = dict(os.environ)
    first = [str(ROOT / ".venv" / "bin"), str(Path(sys.executable).parent)]
    environment["PATH"] = os.pathsep.join([*dict.fromkeys(first), environment.get("PATH", "")])
    return environment


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "warden.db")


@pytest.fixture
def write_policy(tmp_path: Path):
    def write(text: str, name: str = "policy.yaml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def wait_for(predicate, timeout: float = TIMEOUT, interval: float = 0.05) -> None:
    """Polls `predicate` until it holds, failing the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not reached within {timeout} s")
        time.sleep(interval)


def fresh_minute(needed_seconds: float = 20, window_seconds: int = 60) -> None:
    """Waits, if need be, so that the next `needed_seconds` fall in one UTC window (a minute
    by default): limit windows are aligned to UTC, and a test counting calls must not
    straddle two."""
    into = time.time() % window_seconds
    if into > window_seconds - needed_seconds:
        time.sleep(window_seconds - into + 0.2)


def verify(warden: str, db: str) -> subprocess.CompletedProcess:
    return subprocess.run([warden, "audit", "verify", "--db", db], capture_output=True, text=True, timeout=TIMEOUT)


def audit(warden: str, db: str, *arguments: str) -> list[dict]:
    output = subprocess.run(
        [warden, "audit", "query", "--db", db, "--format", "json", *arguments],
        capture_output=True, text=True, timeout=TIMEOUT, check=True,
    ).stdout
    return [json.loads(line) for line in output.splitlines()]


class RawClient:
    """Drives `warden run` over raw pipes, reading lines with timeouts."""

    def __init__(self, command: list[str], env: dict):
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        self.lines: queue.Queue = queue.Queue()
        self.stderr: list[bytes] = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip(b"\n"))
        self.lines.put(None)

    def _drain_stderr(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line)

    def send(self, raw: bytes) -> None:
        self.process.stdin.write(raw + b"\n")
        self.process.stdin.flush()

    def request(self, message: dict) -> None:
        self.send(json.dumps(message).encode())

    def read_line(self, timeout: float = TIMEOUT) -> bytes:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"warden sent nothing to the client within {timeout} s")
        assert line is not None, "warden closed its output"
        return line

    def read(self, timeout: float = TIMEOUT) -> dict:
        return json.loads(self.read_line(timeout))

    def nothing_more(self, within: float) -> bool:
        """True if warden writes nothing to the client for `within` seconds."""
        try:
            line = self.lines.get(timeout=within)
        except queue.Empty:
            return True
        self.lines.put(line)
        return False

    def call(self, request_id, name: str, arguments: dict | None = None) -> None:
        self.request({"jsonrpc": "2.0", "id": request_id, "method": "tools/call",
                      "params": {"name": name, "arguments": arguments or {}}})

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.process.wait(timeout=timeout)

    def initialize(self) -> None:
        self.request({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                      "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}})
        assert self.read()["id"] == 0
        self.request({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def close(self, timeout: float = TIMEOUT) -> int:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        return self.process.wait(timeout=timeout)


@pytest.fixture
def raw_client(warden, env, db, write_policy):
    clients = []

    def start(policy_text: str, *options: str, server: list[str] | None = None, extra_env: dict | None = None) -> RawClient:
        policy = write_policy(policy_text)
        command = server or [sys.executable, str(FIXTURES / "echo_server.py")]
        client = RawClient([warden, "run", "--policy", policy, "--db", db, *options, "--", *command], {**env, **(extra_env or {})})
        clients.append(client)
        return client

    yield start
    for client in clients:
        if client.process.poll() is None:
            client.process.kill()
            client.process.wait(timeout=TIMEOUT)


def git_repository(path: Path) -> Path:
    path.mkdir()
    for command in (["git", "init", "-q"], ["git", "config", "user.email", "e2e@example.com"], ["git", "config", "user.name", "e2e"]):
        subprocess.run(command, cwd=path, check=True)
    (path / "README.md").write_text("hello\n")
    subprocess.run(["git", "add", "README.md"], cwd=path, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "first"], cwd=path, check=True)
    return path


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is needed for the mcp-server-git tests")
    return git_repository(tmp_path / "repo")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def warden_run_session(warden: str, env: dict, arguments: list[str], **session_options):
    """An initialized SDK client session with `warden <arguments>` (a `warden run` command
    line); `session_options` go to `ClientSession` (callbacks)."""
    from mcp import ClientSession, StdioServerParameters, stdio_client

    server = StdioServerParameters(command=warden, args=arguments, env=env)
    with anyio.fail_after(TIMEOUT):
        async with stdio_client(server) as (read, write):
            async with ClientSession(read, write, **session_options) as session:
                await session.initialize()
                yield session
