#!/usr/bin/env python3
"""What one tools/call costs Warden: instructions (callgrind) or CPU time, per call.

Runs Warden in front of the stdio echo server (`warden-bench echo-server`), or of the Python
SDK's Streamable HTTP echo server (bench/http/echo_http_server.py), sends N sequential
tools/call requests as a client would, and reports Warden's own cost per call:

- `--count instructions` runs Warden under valgrind's callgrind twice, with 0 and with N
  calls, and prints (total(N) - total(0)) / N: startup and shutdown cancel out. (Debian 12's
  valgrind 3.19 cannot run the release binary as built; `prepare` below makes a copy it can,
  without changing Warden's own work.) Repeatable to a few
  thousand instructions; background timers (the audit writer's flush) run more often per call
  when the machine is loaded, so compare two binaries in one sitting, alternating.
- `--count cpu` runs Warden directly and prints the user+system CPU time it spent during the
  N calls (from /proc), per call, and the wall time per call.

Usage:
  bench/calls/per_call.py --warden .build/release/warden --bench .build/release/warden-bench \\
      --path run|http|remote|http-health|http-ping --limit none|session|grant [--calls N] [--count instructions|cpu] [--store URL]

`--path run` is `warden run` (stdio); `http` is `warden serve`, HTTP to a stdio server; `remote`
is `warden serve`, HTTP to a remote Streamable HTTP server (needs the project's .venv, with the
`mcp` SDK). Two paths measure `http`'s parts instead of a call: `http-health` sends
`GET /healthz` (the HTTP server's own handling of a request: no token, no session, no policy)
and `http-ping` a JSON-RPC `ping` through the session (the transport without a policy decision
or audit record). The policy is the stdio benchmark's: an argument schema, and a limit of the given
scope (`grant` is counted in the store, `session` in memory). `--store postgres://…` puts
`warden serve`'s state in that PostgreSQL database instead of a SQLite file.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REMOTE_PORT = 18957


def policy(limit: str) -> str:
    rule = "" if limit == "none" else f"\n    limits: [{{window: day, max: 100000000, scope: {limit}}}]"
    return f'version: "1"\ndefault: deny\ntools:\n  echo:\n    args: {{type: object, properties: {{text: {{type: string, maxLength: 100}}}}}}{rule}\n'


def call(number: int) -> dict:
    return {"jsonrpc": "2.0", "id": number + 2, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hello", "n": number}}}


INITIALIZE = {"jsonrpc": "2.0", "id": 0, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of `pid` so far, in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    if os.environ.get("PER_CALL_SPLIT"):
        print(f"  user {int(fields[11])} sys {int(fields[12])} ticks", file=sys.stderr)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Counted:
    """Warden started as `command`, under callgrind when `callgrind` names an output file."""

    def __init__(self, command: list[str], callgrind: str | None, prepared: str | None, **popen):
        if callgrind:
            command = ["valgrind", "--tool=callgrind", "--trace-children=no", f"--callgrind-out-file={callgrind}",
                       os.path.join(prepared, "warden")] + command[1:]
            popen["env"] = dict(os.environ, LD_PRELOAD=os.path.join(prepared, "shim.so"))
        self.callgrind = callgrind
        self.process = subprocess.Popen(command, **popen)

    def instructions(self) -> int:
        for line in open(self.callgrind):
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
        raise RuntimeError("callgrind wrote no totals")


def run_stdio(args, calls: int, folder: str, callgrind: str | None):
    warden = Counted([args.warden, "run", "--policy", f"{folder}/policy.yaml", "--db", f"{folder}/warden.db", "--", args.bench, "echo-server"],
                     callgrind, args.prepared, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    process = warden.process

    def send(message):
        process.stdin.write((json.dumps(message) + "\n").encode())
        process.stdin.flush()

    send(INITIALIZE)
    process.stdout.readline()
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    process.stdout.readline()

    def one(number):
        send(call(number))
        line = process.stdout.readline()
        assert b'"isError":false' in line, line

    measured = measure(process.pid, calls, one, warm=0 if callgrind else 200)
    process.stdin.close()
    process.wait()
    return warden, measured


def run_http(args, calls: int, folder: str, callgrind: str | None):
    upstream = "remote" if args.path == "remote" else "echo"
    open(f"{folder}/warden.yaml", "w").write(
        f'version: "1"\nlisten: {{host: 127.0.0.1, port: 0}}\nstore: {{{store_key(args)}}}\nservers:\n'
        f'  echo: {{command: [{args.bench}, echo-server], policy: policy.yaml}}\n'
        f'  remote: {{url: "http://127.0.0.1:{REMOTE_PORT}/mcp", policy: policy.yaml}}\n')
    remote = None
    if upstream == "remote":
        remote = subprocess.Popen([os.path.join(ROOT, ".venv/bin/python"), os.path.join(ROOT, "bench/http/echo_http_server.py"), str(REMOTE_PORT)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(REMOTE_PORT)
    created = subprocess.run([args.warden, "grants", "create", "--db", args.store or f"{folder}/warden.db", "--label", "bench", "--server", "echo",
                              "--server", "remote", "--policy", f"{folder}/policy.yaml", "--format", "json"],
                             capture_output=True, text=True, check=True)
    token = json.loads(created.stdout)["token"]
    log = open(f"{folder}/warden.log", "w")
    warden = Counted([args.warden, "serve", "--config", f"{folder}/warden.yaml"], callgrind, args.prepared, stdout=log, stderr=log, cwd=folder)
    port = None
    for _ in range(1200):
        found = re.search(r"http://127\.0\.0\.1:(\d+)", open(f"{folder}/warden.log").read())
        if found:
            port = int(found.group(1))
            break
        time.sleep(0.05)
    connection = HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

    def post(message, session=None):
        sent = dict(headers)
        if session:
            sent.update({"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"})
        connection.request("POST", f"/mcp/{upstream}", json.dumps(message), sent)
        response = connection.getresponse()
        return response, response.read()

    response, _ = post(INITIALIZE)
    session = response.getheader("Mcp-Session-Id")
    post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, session)

    def one(number):
        if args.path == "http-health":
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            assert response.read() == b"ok\n"
            return
        if args.path == "http-ping":
            _, body = post({"jsonrpc": "2.0", "id": number + 2, "method": "ping"}, session)
            assert b'"result"' in body, body
            return
        _, body = post(call(number), session)
        assert b'"isError":false' in body, body

    measured = measure(warden.process.pid, calls, one, warm=0 if callgrind else 200)
    connection.close()
    warden.process.send_signal(signal.SIGTERM)
    warden.process.wait()
    if remote:
        remote.kill()
    return warden, measured


def store_key(args) -> str:
    """The configuration's store: the folder's SQLite file, or `--store`'s PostgreSQL."""
    return f'postgres: "{args.store}"' if args.store else "sqlite: warden.db"


def measure(pid: int, calls: int, one, warm: int):
    for number in range(warm):
        one(number)
    time.sleep(0.3)
    before, started = cpu_seconds(pid), time.monotonic()
    for number in range(calls):
        one(number)
    elapsed = time.monotonic() - started
    time.sleep(0.3)
    return cpu_seconds(pid) - before, elapsed


def wait_for_port(port: int):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on port {port}")


# Two functions valgrind 3.19 trips over, run in Warden's process under it: it writes into the
# mask given to sigsuspend, which libdispatch passes read-only (so a copy is passed on); and
# Foundation's Process asks posix_spawn to close every descriptor, valgrind's own (above the
# process's limit) included, which glibc refuses (so those are left alone).
SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) { sigset_t copy = *mask; return (int)syscall(SYS_rt_sigsuspend, &copy, 8); }
int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t *actions, int fd) {
    static int (*next)(posix_spawn_file_actions_t *, int);
    struct rlimit limit;
    if (!next) next = (int (*)(posix_spawn_file_actions_t *, int))dlsym(RTLD_NEXT, "posix_spawn_file_actions_addclose");
    if (fd >= 0 && getrlimit(RLIMIT_NOFILE, &limit) == 0 && (rlim_t)fd >= limit.rlim_cur) return 0;
    return next(actions, fd);
}
"""


def prepare(warden: str, folder: str):
    """A copy of `warden` valgrind can read (debug sections stripped, symbols kept) and the shim."""
    subprocess.run(["objcopy", "--strip-debug", warden, os.path.join(folder, "warden")], check=True)
    open(os.path.join(folder, "shim.c"), "w").write(SHIM)
    subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-O2", "-o", os.path.join(folder, "shim.so"),
                    os.path.join(folder, "shim.c"), "-ldl"], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warden", default=os.path.join(ROOT, ".build/release/warden"))
    parser.add_argument("--bench", default=os.path.join(ROOT, ".build/release/warden-bench"))
    parser.add_argument("--path", choices=["run", "http", "remote", "http-health", "http-ping"], default="run")
    parser.add_argument("--limit", choices=["none", "session", "grant"], default="grant")
    parser.add_argument("--calls", type=int, default=None, help="default: 1000 (instructions), 3000 (cpu)")
    parser.add_argument("--count", choices=["instructions", "cpu"], default="instructions")
    parser.add_argument("--store", metavar="URL", help="a postgres:// URL for warden serve's store (the HTTP paths); default: SQLite")
    parser.add_argument("--profile", metavar="FILE", help="keep the callgrind output of the N-call run here (and of the 0-call run in FILE.zero), for callgrind_annotate")
    args = parser.parse_args()
    run = run_stdio if args.path == "run" else run_http
    if args.count == "cpu":
        calls = args.calls or 3000
        folder = tempfile.mkdtemp()
        open(f"{folder}/policy.yaml", "w").write(policy(args.limit))
        args.prepared = None
        _, (cpu, wall) = run(args, calls, folder, None)
        print(f"{args.path} {args.limit}: {cpu / calls * 1e6:.0f} µs CPU, {wall / calls * 1e6:.0f} µs wall per call ({calls} calls)")
        return
    calls = args.calls or 1000
    args.prepared = tempfile.mkdtemp()
    prepare(args.warden, args.prepared)
    totals = []
    for count in (0, calls):
        folder = tempfile.mkdtemp()
        open(f"{folder}/policy.yaml", "w").write(policy(args.limit))
        warden, _ = run(args, count, folder, f"{folder}/callgrind.out")
        totals.append(warden.instructions())
        if args.profile:
            shutil.copyfile(f"{folder}/callgrind.out", args.profile if count else args.profile + ".zero")
    print(f"{args.path} {args.limit}: {(totals[1] - totals[0]) / calls / 1000:.1f}k instructions per call "
          f"({totals[0]:,} with 0 calls, {totals[1]:,} with {calls})")


if __name__ == "__main__":
    main()
