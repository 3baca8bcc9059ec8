#!/usr/bin/env bash
# Scale-out benchmark: limited tools/call decisions per second with two `warden serve`
# instances on one PostgreSQL, against one instance on SQLite, in the same run.
#
#   bench/scaleout/run.sh [seconds per run (default 10)] [sessions per instance (default 16)]
#
# With SHARED=1 each instance runs one echo server for all its sessions (`shared: true`) instead
# of one per session, so the machine's two cores go less to the upstream's pipes and processes.
#
# With UNLIMITED=1 the calls count against no limit (every call then writes its call intent,
# the audit's write-ahead record, in a statement of its own rather than in its reservation's);
# the exactness checks then have nothing to count.
#
# Every call counts against a per-grant limit, so each decision is a reservation in the
# shared store. Clients: N MCP sessions per instance, each with its own connection (wrk -t N
# -c N), both instances loaded at once. SQLite and PostgreSQL runs alternate, ROUNDS times
# (default 3); figures are medians of the rounds. Then:
#  - exactness: the PostgreSQL counter must equal the calls that were allowed, and a second
#    grant with `max: EXACT_MAX` (default 2000), loaded on both instances at once, must have
#    exactly EXACT_MAX calls allowed;
#  - PostgreSQL's cost per call: statements and transactions (pg_stat_statements and
#    pg_stat_database), over one more run.
#
# PostgreSQL runs with its defaults (fsync on), a throwaway cluster in a temporary folder.
# Needs release builds: swift build -c release --product warden; swift build -c release --product warden-bench
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECONDS_PER_RUN=${1:-10}
SESSIONS=${2:-16}
ROUNDS=${ROUNDS:-3}
EXACT_MAX=${EXACT_MAX:-2000}
WARDEN=${WARDEN:-$ROOT/.build/release/warden}
BENCH=${BENCH:-$ROOT/.build/release/warden-bench}
for binary in "$WARDEN" "$BENCH"; do
  [[ -x $binary ]] || { echo "missing $binary: swift build -c release --product warden; swift build -c release --product warden-bench" >&2; exit 2; }
done
command -v wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk > /dev/null; }
source bench/lib/mcp_http.sh
source scripts/lib/postgres.sh

WORK=$(mktemp -d)
chmod 755 "$WORK"
PIDS=()
PG_DATA=$WORK/pg
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
  [[ -d $PG_DATA ]] && as_postgres_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop > /dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A PostgreSQL cluster with its default durability, counting statements.
PG_BIN=$(postgres_bin_dir)
[[ -n $PG_BIN ]] || { echo "PostgreSQL's server is not installed: apt-get install postgresql-15" >&2; exit 2; }
[[ $(id -u) -ne 0 ]] || chown postgres: "$WORK"
as_postgres_owner "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust > "$WORK/initdb.log" 2>&1
PG_PORT=$(free_port)
as_postgres_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$WORK/pg.log" -w \
  -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $WORK -c max_connections=200 -c shared_preload_libraries=pg_stat_statements ${PG_OPTIONS:-}" start > /dev/null
psql_warden() { psql -X -q -t -A -h 127.0.0.1 -p "$PG_PORT" -U postgres -d warden -c "$1"; }
psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c 'CREATE DATABASE warden'
psql_warden 'CREATE EXTENSION pg_stat_statements'
PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/warden?sslmode=disable"

policy() {  # policy FILE MAX: every echo call counts against one per-grant limit (none with UNLIMITED=1)
  cat > "$1" << POLICY
version: "1"
default: deny
tools:
  echo:
    args: {type: object, properties: {text: {type: string, maxLength: 100}}}
POLICY
  [[ ${UNLIMITED:-0} == 1 ]] || echo "    limits: [{window: day, max: $2, scope: grant}]" >> "$1"
}
policy "$WORK/policy.yaml" 1000000000
policy "$WORK/exact.yaml" "$EXACT_MAX"
config() {  # config FILE STORE-LINE
  cat > "$1" << CONFIG
version: "1"
listen: {host: 127.0.0.1, port: 0}
$2
limits: {max_sessions_per_grant: 4096}
servers:
  echo: {command: [$BENCH, echo-server], policy: policy.yaml, shared: $([[ ${SHARED:-0} == 1 ]] && echo true || echo false)}
CONFIG
}
config "$WORK/sqlite.yaml" "store: {sqlite: warden.db}"
config "$WORK/postgres.yaml" "store: {postgres: \"$PG_URL\"}"

token() {  # token DB POLICY
  "$WARDEN" grants create --db "$1" --label bench --server echo --policy "$2" --format json | sed 's/.*"token":"\([^"]*\)".*/\1/'
}
SQLITE_TOKEN=$(token "$WORK/warden.db" "$WORK/policy.yaml")
PG_TOKEN=$(token "$PG_URL" "$WORK/policy.yaml")
EXACT_TOKEN=$(token "$PG_URL" "$WORK/exact.yaml")

serve() {  # serve NAME CONFIG PORT: starts an instance, waits until it listens
  "$WARDEN" serve --config "$2" --port "$3" 2> "$WORK/$1.log" &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    (exec 3<> "/dev/tcp/127.0.0.1/$3") 2> /dev/null && return 0
    kill -0 "$!" 2> /dev/null || break
    sleep 0.1
  done
  echo "warden serve ($1) did not start:" >&2; cat "$WORK/$1.log" >&2; exit 1
}
PORT_SQLITE=$(free_port); PORT_A=$(free_port); PORT_B=$(free_port)
serve sqlite "$WORK/sqlite.yaml" "$PORT_SQLITE"
serve a "$WORK/postgres.yaml" "$PORT_A"
serve b "$WORK/postgres.yaml" "$PORT_B"

declare -a SESSIONS_OF

# run TOKEN URL...: prints "calls/s p50_us p99_us allowed attempted" over all URLs loaded at once
run() {
  local token=$1; shift
  local index=0 url
  for url in "$@"; do SESSIONS_OF[$index]=$(open_sessions "$url" "$token" "$SESSIONS"); index=$((index + 1)); done
  local loads=()
  for ((i = 0; i < index; i++)); do
    wrk_result "${@:i+1:1}" "${SESSIONS_OF[$i]}" "$token" "$SESSIONS" "$SESSIONS" "$SECONDS_PER_RUN" > "$WORK/wrk-$i" &
    loads+=($!)
  done
  wait "${loads[@]}"
  for ((i = 0; i < index; i++)); do cat "$WORK/wrk-$i"; echo; done | awk '
    NF > 0 { for (f = 1; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
      requests += v["requests"]; failed += v["failed"]; rate += v["requests"] / v["seconds"]
      p50 += v["p50_us"]; if (v["p99_us"] > p99) p99 = v["p99_us"]; n++ }
    END { printf "%.0f %.0f %.0f %d %d\n", rate, p50 / n, p99, requests - failed, requests }'
}

echo "Limited decisions (a per-grant limit counted in the store) through warden serve; ${SESSIONS} sessions per"
echo "instance, each its own connection; upstream warden-bench echo-server (stdio, $([[ ${SHARED:-0} == 1 ]] && echo "one process per instance" || echo "one process per session")); $ROUNDS rounds of ${SECONDS_PER_RUN} s, medians"
echo
: > "$WORK/sqlite.rounds"; : > "$WORK/postgres.rounds"
PG_ALLOWED=0
for _ in $(seq 1 "$ROUNDS"); do
  run "$SQLITE_TOKEN" "http://127.0.0.1:$PORT_SQLITE/mcp/echo" >> "$WORK/sqlite.rounds"
  run "$PG_TOKEN" "http://127.0.0.1:$PORT_A/mcp/echo" "http://127.0.0.1:$PORT_B/mcp/echo" >> "$WORK/postgres.rounds"
  PG_ALLOWED=$((PG_ALLOWED + $(tail -1 "$WORK/postgres.rounds" | awk '{print $4}')))
done
column() { awk -v c="$1" '{print $c}' "$2" | median; }
added() { paste "$WORK/postgres.rounds" "$WORK/sqlite.rounds" | awk -v c="$1" '{print $c - $(c + 5)}' | median | xargs printf '%+.0f'; }
echo "| store | instances | sessions | decisions/s | p50 µs | p99 µs | p50 added | p99 added |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
printf '| SQLite | 1 | %d | %.0f | %.0f | %.0f | - | - |\n' "$SESSIONS" "$(column 1 "$WORK/sqlite.rounds")" \
  "$(column 2 "$WORK/sqlite.rounds")" "$(column 3 "$WORK/sqlite.rounds")"
printf '| PostgreSQL | 2 | %d | %.0f | %.0f | %.0f | %s | %s |\n' "$((2 * SESSIONS))" "$(column 1 "$WORK/postgres.rounds")" \
  "$(column 2 "$WORK/postgres.rounds")" "$(column 3 "$WORK/postgres.rounds")" "$(added 2)" "$(added 3)"

echo
sleep 1  # the audit writers flush in the background
COUNTED=$(psql_warden "SELECT coalesce(sum(amount), 0) FROM warden_counter")
AUDITED=$(psql_warden "SELECT count(*) FROM warden_audit WHERE decision = 'allow'")
echo "Exactness: the PostgreSQL counter reads $COUNTED; the audit log has $AUDITED allowed calls; wrk saw $PG_ALLOWED"
echo "answers (calls still in flight when wrk stops are counted and audited, but not seen by wrk)."
read -r _ _ _ allowed attempted < <(run "$EXACT_TOKEN" "http://127.0.0.1:$PORT_A/mcp/echo" "http://127.0.0.1:$PORT_B/mcp/echo")
echo "A grant with max: $EXACT_MAX, loaded on both instances at once: $allowed allowed of $attempted attempted."

# cpu_ticks USER|PIDS...: the CPU time (user + system, in clock ticks) of a user's processes or of the given pids
cpu_ticks() {
  local pids
  if [[ $1 == postgres ]]; then pids=$(pgrep -u postgres || true); else pids="$*"; fi
  for pid in $pids; do awk '{ print $14 + $15 }' "/proc/$pid/stat" 2> /dev/null || true; done | awk '{ s += $1 } END { print s + 0 }'
}
psql_warden "SELECT pg_stat_statements_reset()" > /dev/null
servers_of() { pgrep -P "${PIDS[1]}" | tr '\n' ' '; pgrep -P "${PIDS[2]}" | tr '\n' ' '; }
pg_cpu_before=$(cpu_ticks postgres); warden_cpu_before=$(cpu_ticks "${PIDS[1]}" "${PIDS[2]}"); server_cpu_before=$(cpu_ticks $(servers_of))
read -r commits_before < <(psql_warden "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'warden'")
read -r _ _ _ allowed _ < <(run "$PG_TOKEN" "http://127.0.0.1:$PORT_A/mcp/echo" "http://127.0.0.1:$PORT_B/mcp/echo")
sleep 1  # the audit writer flushes in the background
read -r commits_after < <(psql_warden "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'warden'")
pg_cpu=$(( $(cpu_ticks postgres) - pg_cpu_before )); warden_cpu=$(( $(cpu_ticks "${PIDS[1]}" "${PIDS[2]}") - warden_cpu_before ))
# The sessions' server processes: those of earlier runs' sessions (still open) and this run's.
server_cpu=$(( $(cpu_ticks $(servers_of)) - server_cpu_before ))
echo
echo "PostgreSQL's cost per allowed call (over $allowed calls), by statement:"
echo
echo "| statement | per call | µs per call (in PostgreSQL) |"
echo "| --- | --- | --- |"
psql_warden "SELECT calls, round(total_exec_time::numeric * 1000), left(regexp_replace(query, '\s+', ' ', 'g'), 90) FROM pg_stat_statements
             WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'warden') AND query NOT LIKE '%pg_stat%'
             ORDER BY calls DESC LIMIT 12" | awk -F'|' -v n="$allowed" '{ printf "| `%s` | %.3f | %.1f |\n", $3, $1 / n, $2 / n }'
echo
echo "Transactions per call: $(echo "($commits_after - $commits_before) / $allowed" | bc -l | xargs printf '%.3f')"
ticks=$(getconf CLK_TCK)
echo "CPU per call over that run (user + system): PostgreSQL's processes $(echo "$pg_cpu * 1000000 / $ticks / $allowed" | bc) µs," \
  "the two Warden instances $(echo "$warden_cpu * 1000000 / $ticks / $allowed" | bc) µs, the echo servers of their" \
  "sessions $(echo "$server_cpu * 1000000 / $ticks / $allowed" | bc) µs."
