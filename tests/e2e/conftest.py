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


# --- Several `warden serve` instances behind nginx (tests/e2e/test_multi_instance*.py) ---

DEPLOY_NGINX = ROOT / "deploy" / "nginx" / "warden.conf"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for configurations that must name their port)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_serve(warden: str, config: Path, env: dict, stderr: list[str], stdout=subprocess.DEVNULL,
                arguments: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    """Starts `warden serve --config <config> <arguments>` and waits until it listens; its log lines go to
    `stderr` as they come. Returns the process and its base URL (`http://127.0.0.1:PORT`)."""
    import re

    process = subprocess.Popen([warden, "serve", "--config", str(config), "--log-level", "info", *arguments],
                               stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE, env=env, text=True)
    listening = threading.Event()

    def read_stderr():
        for line in process.stderr:
            stderr.append(line)
            if "listening on http://" in line:
                listening.set()
        listening.set()

    threading.Thread(target=read_stderr, daemon=True).start()
    assert listening.wait(TIMEOUT), f"warden serve --config {config} did not start"
    found = [re.search(r"listening on (http://\S+)", line) for line in stderr]
    found = [match.group(1) for match in found if match]
    assert found, "".join(stderr)
    return process, found[0]


class ServeInstance:
    """A `warden serve` started from the configuration text `config`, written to
    `<directory>/<name>.yaml` (so that relative paths, like a SQLite store, resolve in `directory`)."""

    def __init__(self, warden: str, env: dict, directory: Path, name: str, config: str):
        self.warden, self.env, self.directory, self.name = warden, env, directory, name
        self.config = directory / f"{name}.yaml"
        self.config.write_text(config)
        self.stderr: list[str] = []
        self.process, self.base = start_serve(warden, self.config, env, self.stderr)
        self.port = int(self.base.rsplit(":", 1)[1])

    def url(self, server: str) -> str:
        return f"{self.base}/mcp/{server}"

    def stop(self) -> int | None:
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(timeout=TIMEOUT)

    def kill(self) -> None:
        """SIGKILL: no drain, no flush."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=TIMEOUT)


class Nginx:
    """Debian's nginx, in the foreground, serving deploy/nginx/warden.conf with its two example
    instances (ports 8081 and 8082, names derived from those addresses) replaced by `ports`,
    listening on 127.0.0.1:`port`. Temp files and the pid file stay in `directory`."""

    def __init__(self, directory: Path, ports: list[int], port: int | None = None):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(nginx, os.X_OK):
            pytest.skip("nginx is not installed (apt-get install nginx-light)")
        assert len(ports) == 2, "deploy/nginx/warden.conf names two instances"
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        shipped = DEPLOY_NGINX.read_text()
        site = (shipped.replace("8081", "@FIRST@").replace("8082", "@SECOND@")
                .replace("@FIRST@", str(ports[0])).replace("@SECOND@", str(ports[1]))
                .replace("listen 127.0.0.1:8940;", f"listen 127.0.0.1:{self.port};"))
        assert f"listen 127.0.0.1:{self.port};" in site
        root = directory / "nginx"
        root.mkdir(exist_ok=True)
        (root / "warden.conf").write_text(site)
        (root / "nginx.conf").write_text(f"""
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    include {root}/warden.conf;
}}
""")
        self.process = subprocess.Popen([nginx, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", "stderr"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: self._listening() or self.process.poll() is not None)
        assert self.process.poll() is None, f"nginx did not start: {self.process.stderr.read()}"

    def _listening(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def url(self, server: str) -> str:
        return f"{self.base}/mcp/{server}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=TIMEOUT)


class PostgresCluster:
    """A throwaway PostgreSQL 15 cluster in a temporary folder, on a free port of 127.0.0.1, with the
    `postgres` superuser trusted. Run as root, initdb and the server run as the `postgres`
    user. `stop()` and `start()` may be called mid-test (a store that goes away and comes back)."""

    BIN = Path(os.environ.get("WARDEN_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))

    def __init__(self):
        if not (self.BIN / "initdb").exists():
            missing = f"PostgreSQL 15 is not installed ({self.BIN}); apt-get install postgresql-15"
            if os.environ.get("WARDEN_REQUIRE_POSTGRES") == "1":
                pytest.fail(missing)
            pytest.skip(missing)
        import tempfile

        # A folder of its own under the system's temp folder: pytest's are private to root,
        # and the server runs as `postgres`.
        self.directory = Path(tempfile.mkdtemp(prefix="warden-pg-", dir=os.environ.get("TMPDIR", "/tmp")))
        self.data = self.directory / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
            self.prefix = ["runuser", "-u", "postgres", "--"]
        else:
            self.prefix = []
        self._run(str(self.BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.start()

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.prefix, *command], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{' '.join(command)}: {result.stdout}{result.stderr}"
        return result

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off -c max_connections=200"
        self._run(str(self.BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
                                 "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True, timeout=TIMEOUT)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")
        except AssertionError:
            pass  # stopped already
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL for the session's tests, each of which makes a database of its own:
    the server scripts/test started ($WARDEN_TEST_POSTGRES_URL, a superuser URL), or a
    throwaway cluster of this session's own."""
    url = os.environ.get("WARDEN_TEST_POSTGRES_URL")
    if url:
        yield _ExternalPostgres(url)
        return
    cluster = PostgresCluster()
    yield cluster
    cluster.close()


class _ExternalPostgres:
    """A server someone else runs, reached by its superuser URL: databases are made there."""

    def __init__(self, url: str):
        from urllib.parse import urlsplit, urlunsplit

        self._split = urlsplit(url)
        self._urlunsplit = urlunsplit

    def url(self, database: str = "postgres") -> str:
        return self._urlunsplit(self._split._replace(path=f"/{database}"))

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(["psql", self.url(database), "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                capture_output=True, text=True, timeout=TIMEOUT)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture
def postgres_database(postgres_server, request) -> str:
    """The URL of a new, empty database for this test."""
    import uuid

    return postgres_server.create_database(f"warden_{uuid.uuid4().hex[:12]}")
