#!/usr/bin/env bash
# HTTP overhead benchmark: tools/call over Streamable HTTP, one MCP session, at several
# concurrencies (wrk). Two upstreams, two tables:
#  1. a fast stdio echo server (`warden-bench echo-server`) through Warden (`warden serve`),
#     mcp-proxy and fastmcp's proxy;
#  2. a remote Streamable HTTP server (the Python SDK's MCPServer), called directly, through
#     Warden and through fastmcp's proxy: what each proxy adds over direct. The upstream's
#     own latency drifts from run to run by more than Warden adds, so direct and Warden are
#     measured in alternation, ROUNDS times (default 5), and each figure is the median of
#     its rounds; "added" is the median of the rounds' differences.
#
#   bench/http/run.sh [seconds per run (default 10)] [concurrencies (default "1 16 64")]
#
# 3. MODE=sessions runs only a third table: many clients, each with its own MCP session and
#    its own connection (wrk -t N -c N, call.lua with MCP_SESSIONS), against the remote server, directly and
#    through Warden (whose every session then also holds a GET stream to the server):
#
#   MODE=sessions bench/http/run.sh [seconds per run (default 10)] [client counts (default "16 64")]
#
# Needs release builds: swift build -c release --product warden; swift build -c release --product warden-bench
# (one --product per build: swift build builds only the last one named).
# Installs wrk (apt-get) and the Python proxies (bench/.venv-*) when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MODE=${MODE:-all}
SECONDS_PER_RUN=${1:-10}
if [[ $MODE == sessions ]]; then CONCURRENCIES=${2:-"16 64"}; else CONCURRENCIES=${2:-"1 16 64"}; fi
ROUNDS=${ROUNDS:-5}
WARDEN=${WARDEN:-$ROOT/.build/release/warden}
BENCH=${BENCH:-$ROOT/.build/release/warden-bench}
for binary in "$WARDEN" $([[ $MODE == sessions ]] || echo "$BENCH"); do
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
if [[ $MODE == sessions && -x $ROOT/.venv/bin/python ]]; then
  SERVER_PYTHON=$ROOT/.venv/bin/python  # the project's own Python MCP SDK serves the remote server
else
  FASTMCP_VENV=$(venv fastmcp fastmcp==4.2.3)
  MCP_PROXY_VENV=$(venv mcp-proxy mcp-proxy==0.13.0 mcp==1.30.0)
  SERVER_PYTHON=$FASTMCP_VENV/bin/python
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

source bench/lib/mcp_http.sh

run_wrk() {  # run_wrk URL "SESSIONS" TOKEN CONCURRENCY: prints "p50 p99 calls/s failed"
  # One session: every connection uses it. One per client: each client a wrk thread of its own,
  # with its own session and connection.
  local sessions=($2) threads
  if (( ${#sessions[@]} > 1 )); then threads=$4; else threads=$(( $4 < 2 ? 1 : 2 )); fi
  eval "$(wrk_result "$1" "$2" "$3" "$threads" "$4" "$SECONDS_PER_RUN")"
  echo "$p50_us $p99_us $(echo "$requests / $seconds" | bc -l) $failed"
}

measure() {  # measure NAME URL PID [TOKEN]  (PID empty: no RSS)
  local name=$1 url=$2 pid=$3 token=${4:-}
  for concurrency in $CONCURRENCIES; do
    local p50 p99 rate failed
    read -r p50 p99 rate failed < <(run_wrk "$url" "$(open_session "$url" "$token")" "$token" "$concurrency")
    printf '| %s | %d | %s | %s | %.0f | %d | %s |\n' "$name" "$concurrency" "$p50" "$p99" "$rate" "$failed" \
      "$([[ -n $pid ]] && rss_mib "$pid" || echo -)"
  done
}


column() { awk -v c="$1" '{print $c}' "$2" | median; }  # column N FILE: the median of FILE's Nth column

added() {  # added N FILE DIRECT-FILE: what FILE adds to DIRECT-FILE in column N (paired rounds: the median difference)
  if [[ $(wc -l < "$2") == $(wc -l < "$3") ]]; then
    paste "$2" "$3" | awk -v c="$1" '{print $c - $(c + 4)}' | median
  else
    echo "$(column "$1" "$2") - $(column "$1" "$3")" | bc -l
  fi | xargs printf '%+.0f'
}

row() {  # row NAME CONCURRENCY FILE [DIRECT-FILE] [PID]: medians of FILE's rounds ("p50 p99 calls/s failed" lines)
  local added50=- added99=-
  if [[ -n ${4:-} ]]; then added50=$(added 1 "$3" "$4"); added99=$(added 2 "$3" "$4"); fi
  printf '| %s | %d | %.0f | %.0f | %s | %s | %.0f | %d | %s |\n' "$1" "$2" "$(column 1 "$3")" "$(column 2 "$3")" \
    "$added50" "$added99" "$(column 3 "$3")" "$(awk '{s += $4} END {print s}' "$3")" "$([[ -n ${5:-} ]] && rss_mib "$5" || echo -)"
}

measure_against_direct() {  # measure_against_direct DIRECT-URL NAME URL PID TOKEN: alternating rounds, then the rows
  # (MODE=sessions: each client with a session of its own; otherwise one session for all)
  local direct_url=$1 name=$2 url=$3 pid=$4 token=$5
  for concurrency in $CONCURRENCIES; do
    local direct_sessions warden_sessions count=1
    [[ $MODE == sessions ]] && count=$concurrency
    direct_sessions=$(open_sessions "$direct_url" "" "$count")
    warden_sessions=$(open_sessions "$url" "$token" "$count")
    : > "$WORK/direct-$concurrency"; : > "$WORK/proxied-$concurrency"
    for _ in $(seq 1 "$ROUNDS"); do
      run_wrk "$direct_url" "$direct_sessions" "" "$concurrency" >> "$WORK/direct-$concurrency"
      run_wrk "$url" "$warden_sessions" "$token" "$concurrency" >> "$WORK/proxied-$concurrency"
    done
  done
  for concurrency in $CONCURRENCIES; do row direct "$concurrency" "$WORK/direct-$concurrency"; done
  for concurrency in $CONCURRENCIES; do row "$name" "$concurrency" "$WORK/proxied-$concurrency" "$WORK/direct-$concurrency" "$pid"; done
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
limits: {max_sessions_per_grant: 1024}
servers:
  echo: {command: [$BENCH, echo-server], policy: policy.yaml}
  remote: {url: "http://127.0.0.1:18944/mcp", policy: policy.yaml}
CONFIG
TOKEN=$("$WARDEN" grants create --db "$WORK/warden.db" --label bench --server echo --server remote --policy "$WORK/policy.yaml" --format json | sed 's/.*"token":"\([^"]*\)".*/\1/')
"$WARDEN" serve --config "$WORK/warden.yaml" 2> "$WORK/warden.log" &
PIDS+=($!); WARDEN_PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/warden.log" && break; sleep 0.1; done
WARDEN_BASE=$(grep -o 'http://[0-9.:]*' "$WORK/warden.log" | head -1)

if [[ $MODE == sessions ]]; then
  # 3. Many clients, each with its own session and connection, to the remote server.
  "$SERVER_PYTHON" bench/http/echo_http_server.py 18944 > "$WORK/remote.log" 2>&1 &
  PIDS+=($!)
  wait_port 18944
  echo "Remote upstream: the Python SDK's MCPServer over Streamable HTTP (JSON answers); N clients, each its own"
  echo "session and connection (wrk -t N -c N); direct and Warden alternated, $ROUNDS rounds of ${SECONDS_PER_RUN} s each, medians"
  echo
  echo "| path | clients | p50 µs | p99 µs | p50 added | p99 added | calls/s | failed | peak RSS MiB |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  measure_against_direct "http://127.0.0.1:18944/mcp" "warden serve" "$WARDEN_BASE/mcp/remote" "$WARDEN_PID" "$TOKEN"
  exit 0
fi

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
"$SERVER_PYTHON" bench/http/echo_http_server.py 18944 > "$WORK/remote.log" 2>&1 &
PIDS+=($!)
"$FASTMCP_VENV/bin/python" bench/http/fastmcp_proxy.py 18945 http://127.0.0.1:18944/mcp > "$WORK/fastmcp-remote.log" 2>&1 &
PIDS+=($!); FASTMCP_REMOTE_PID=$!
wait_port 18944; wait_port 18945
echo
echo "Remote upstream: the Python SDK's MCPServer over Streamable HTTP (JSON answers); direct and Warden"
echo "alternated, $ROUNDS rounds of ${SECONDS_PER_RUN} s each, medians; fastmcp one round"
echo
echo "| path | concurrency | p50 µs | p99 µs | p50 added | p99 added | calls/s | failed | peak RSS MiB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
measure_against_direct "http://127.0.0.1:18944/mcp" "warden serve" "$WARDEN_BASE/mcp/remote" "$WARDEN_PID" "$TOKEN"
for concurrency in $CONCURRENCIES; do
  run_wrk "http://127.0.0.1:18945/mcp" "$(open_session "http://127.0.0.1:18945/mcp")" "" "$concurrency" > "$WORK/fastmcp-$concurrency"
  row fastmcp "$concurrency" "$WORK/fastmcp-$concurrency" "$WORK/direct-$concurrency" "$FASTMCP_REMOTE_PID"
done
