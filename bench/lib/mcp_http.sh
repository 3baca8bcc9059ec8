# Sourced by the HTTP benchmarks (bench/http/run.sh, bench/scaleout/run.sh): MCP sessions over
# Streamable HTTP with curl, tools/call load with wrk (bench/http/call.lua), medians.

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

open_sessions() {  # open_sessions URL TOKEN N: N sessions; prints their ids, space-separated
  local ids=()
  for _ in $(seq 1 "$3"); do ids+=("$(open_session "$1" "$2")"); done
  echo "${ids[*]}"
}

wrk_result() {  # wrk_result URL "SESSIONS" TOKEN THREADS CONNECTIONS SECONDS: the RESULT line's fields, as shell assignments
  local line
  line=$(MCP_SESSIONS=$2 MCP_TOKEN=$3 wrk -t"$4" -c"$5" -d"${6}s" -s "$BENCH_LIB/../http/call.lua" "$1" | grep '^RESULT')
  echo "${line#RESULT }"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

rss_mib() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

BENCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
