#!/usr/bin/env bash
# HTTP overhead benchmark: tools/call over Streamable HTTP, one MCP session, at several
# concurrencies (wrk). Two upstreams, two tables:
#  1. a fast stdio echo server (`warden-bench echo-server`) through Warden (`warden serve`),
#     mcp-proxy and fastmcp's proxy;
#  2. a remote Streamable HTTP server (the Python SDK's MCPServer), called directly, through
#     Warden and through fastmcp's proxy: what each proxy adds over direct.
#
#   bench/http/run.sh [seconds per run (default 10)] [concurrencies (default "1 16 64")]
#
# Needs release builds: swift build -c release --product warden; swift build -c release --product warden-bench
# (one --product per build: swift build builds only the last one named).
# Installs wrk (apt-get) and the Python proxies (bench/.venv-*) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECONDS_PER_RUN=${1:-10}
CONCURRENCIES=${2:-"1 16 64"}
WARDEN=${WARDEN:-$ROOT/.build/release/warden}
BENCH=${BENCH:-$ROOT/.build/release/warden-bench}
for binary in "$WARDEN" "$BENCH"; do
  [[ -x $binary ]] || { echo "missing $binary: swift build -c release --product warden; swift build -c release --product warden-bench" >&2; exit 2; }
done
command -v wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk > /dev/null; }

venv() {  # venv NAME PACKAGES...: a virtualenv of its own per proxy (their `mcp` versions differ)
  local path=$ROOT/bench/.venv-$1; shift
  if [[ ! -x $path/bin/python ]]; then
    python3 -m venv "$path"
    "$path/bin/pip" install -q "$@"
  fi
  echo "$path"
}
FASTMCP_VENV=$(venv fastmcp fastmcp==4.2.3)
MCP_PROXY_VENV=$(venv mcp-proxy mcp-proxy==0.13.0 mcp==1.30.0)

WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

wait_port() {  # wait_port PORT: until something listens there
  for _ in $(seq 1 200); do
    (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2; exit 1
}

open_session() {  # open_session URL [TOKEN]: initialize; prints the Mcp-Session-Id
  local auth=()
  [[ -n ${2:-} ]] && auth=(-H "Authorization: Bearer $2")
  local session
  session=$(curl -s -D - -o /dev/null "${auth[@]}" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}' \
    "$1" | awk 'tolower($1) == "mcp-session-id:" {print $2}' | tr -d '\r')
  curl -s -o /dev/null "${auth[@]}" -H "Mcp-Session-Id: $session" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    -H 'MCP-Protocol-Version: 2025-06-18' -d '{"jsonrpc":"2.0","method":"notifications/initialized"}' "$1"
  echo "$session"
}

rss_mib() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

measure() {  # measure NAME URL PID [TOKEN]  (PID empty: no RSS)
  local name=$1 url=$2 pid=$3 token=${4:-}
  for concurrency in $CONCURRENCIES; do
    local session threads=$(( concurrency < 2 ? 1 : 2 ))
    session=$(open_session "$url" "$token")
    local line
    line=$(MCP_SESSION=$session MCP_TOKEN=$token wrk -t"$threads" -c"$concurrency" -d"${SECONDS_PER_RUN}s" -s bench/http/call.lua "$url" | grep '^RESULT')
    eval "${line#RESULT }"
    printf '| %s | %d | %s | %s | %.0f | %d | %s |\n' "$name" "$concurrency" "$p50_us" "$p99_us" \
      "$(echo "$requests / $seconds" | bc -l)" "$failed" "$([[ -n $pid ]] && rss_mib "$pid" || echo -)"
  done
}

cat > "$WORK/policy.yaml" << 'POLICY'
version: "1"
default: deny
tools:
  echo:
    args: {type: object, properties: {text: {type: string, maxLength: 100}}}
    limits: [{window: day, max: 100000000, scope: session}]
POLICY
cat > "$WORK/warden.yaml" << CONFIG
version: "1"
listen: {host: 127.0.0.1, port: 0}
store: {sqlite: warden.db}
servers:
  echo: {command: [$BENCH, echo-server], policy: policy.yaml}
  remote: {url: "http://127.0.0.1:18944/mcp", policy: policy.yaml}
CONFIG
TOKEN=$("$WARDEN" grants create --db "$WORK/warden.db" --label bench --server echo --server remote --policy "$WORK/policy.yaml" --format json | sed 's/.*"token":"\([^"]*\)".*/\1/')
"$WARDEN" serve --config "$WORK/warden.yaml" 2> "$WORK/warden.log" &
PIDS+=($!); WARDEN_PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/warden.log" && break; sleep 0.1; done
WARDEN_BASE=$(grep -o 'http://[0-9.:]*' "$WORK/warden.log" | head -1)

"$MCP_PROXY_VENV/bin/mcp-proxy" --port 18942 "$BENCH" echo-server > "$WORK/mcp-proxy.log" 2>&1 &
PIDS+=($!); MCP_PROXY_PID=$!
"$FASTMCP_VENV/bin/python" bench/http/fastmcp_proxy.py 18943 "$BENCH" echo-server > "$WORK/fastmcp.log" 2>&1 &
PIDS+=($!); FASTMCP_PID=$!
wait_port 18942; wait_port 18943

echo "HTTP: tools/call over Streamable HTTP, one session, ${SECONDS_PER_RUN} s per run, wrk; upstream: warden-bench echo-server (stdio)"
echo
echo "| proxy | concurrency | p50 µs | p99 µs | calls/s | failed | peak RSS MiB |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
measure "warden serve" "$WARDEN_BASE/mcp/echo" "$WARDEN_PID" "$TOKEN"
measure "mcp-proxy $("$MCP_PROXY_VENV/bin/pip" show mcp-proxy | awk '/^Version/ {print $2}')" "http://127.0.0.1:18942/mcp" "$MCP_PROXY_PID"
measure "fastmcp $("$FASTMCP_VENV/bin/pip" show fastmcp | awk '/^Version/ {print $2}')" "http://127.0.0.1:18943/mcp" "$FASTMCP_PID"

# 2. A remote upstream: the same calls directly, through Warden, and through fastmcp's proxy.
"$FASTMCP_VENV/bin/python" bench/http/echo_http_server.py 18944 > "$WORK/remote.log" 2>&1 &
PIDS+=($!)
"$FASTMCP_VENV/bin/python" bench/http/fastmcp_proxy.py 18945 http://127.0.0.1:18944/mcp > "$WORK/fastmcp-remote.log" 2>&1 &
PIDS+=($!); FASTMCP_REMOTE_PID=$!
wait_port 18944; wait_port 18945
echo
echo "Remote upstream: the Python SDK's MCPServer over Streamable HTTP (JSON answers)"
echo
echo "| path | concurrency | p50 µs | p99 µs | calls/s | failed | peak RSS MiB |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
measure "direct" "http://127.0.0.1:18944/mcp" ""
measure "warden serve" "$WARDEN_BASE/mcp/remote" "$WARDEN_PID" "$TOKEN"
measure "fastmcp" "http://127.0.0.1:18945/mcp" "$FASTMCP_REMOTE_PID"
