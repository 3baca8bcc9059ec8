# Sourced by scripts/test: a throwaway PostgreSQL cluster for the tests, in a fresh temporary
# folder, on a free port of 127.0.0.1, trusting local connections.
#
#   start_test_postgres        # sets WARDEN_TEST_POSTGRES_URL, WARDEN_TEST_POSTGRES_DIR, ..._BIN, ..._PORT
#   stop_test_postgres         # stops it and deletes its folder (safe to call twice)
#   pause_test_postgres        # stops the server, keeping its folder and port (outage tests)
#   resume_test_postgres       # starts it again on the same port
#   freeze_test_postgres       # SIGSTOPs the server and its backends: a hung database, or a partition
#   thaw_test_postgres         # SIGCONTs them
#
# As root (CI), initdb and the server run as the `postgres` user (runuser), since initdb
# refuses root. The binaries are PostgreSQL 15's (/usr/lib/postgresql/15/bin), or the newest
# installed, or those on PATH.

# The folder of PostgreSQL's server binaries (initdb, pg_ctl), or nothing.
postgres_bin_dir() {
    local dir
    for dir in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V -r); do
        [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
    done
    command -v initdb > /dev/null 2>&1 && dirname "$(command -v initdb)"
}

# A TCP port nobody listens on at 127.0.0.1 now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
as_postgres_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_test_postgres() {
    WARDEN_TEST_POSTGRES_BIN=$(postgres_bin_dir)
    if [ -z "$WARDEN_TEST_POSTGRES_BIN" ]; then
        echo "error: PostgreSQL's server (initdb, pg_ctl) is not installed; install postgresql-15" >&2
        return 2
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres > /dev/null 2>&1; then
        echo "error: running as root, but there is no postgres user to run PostgreSQL as" >&2
        return 2
    fi
    WARDEN_TEST_POSTGRES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/warden-test-postgres.XXXXXX")
    chmod 755 "$WARDEN_TEST_POSTGRES_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$WARDEN_TEST_POSTGRES_DIR"
    local log="$WARDEN_TEST_POSTGRES_DIR/server.log"
    if ! as_postgres_owner "$WARDEN_TEST_POSTGRES_BIN/initdb" -D "$WARDEN_TEST_POSTGRES_DIR/data" -U postgres \
        --auth=trust --encoding=UTF8 --locale=C.UTF-8 > "$WARDEN_TEST_POSTGRES_DIR/initdb.log" 2>&1; then
        echo "error: initdb failed:" >&2
        cat "$WARDEN_TEST_POSTGRES_DIR/initdb.log" >&2
        return 1
    fi
    local attempt
    for attempt in 1 2 3 4 5; do
        WARDEN_TEST_POSTGRES_PORT=$(free_port)
        if start_test_postgres_server; then
            export WARDEN_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$WARDEN_TEST_POSTGRES_PORT/postgres"
            export WARDEN_TEST_POSTGRES_DIR WARDEN_TEST_POSTGRES_BIN WARDEN_TEST_POSTGRES_PORT
            echo "==> PostgreSQL $("$WARDEN_TEST_POSTGRES_BIN/pg_ctl" --version | awk '{print $3}') for the tests at $WARDEN_TEST_POSTGRES_URL"
            return 0
        fi
        # The port may have been taken meanwhile: try another.
    done
    echo "error: PostgreSQL did not start; its log:" >&2
    cat "$log" >&2
    return 1
}

# Starts the server of $WARDEN_TEST_POSTGRES_DIR on $WARDEN_TEST_POSTGRES_PORT.
start_test_postgres_server() {
    as_postgres_owner "$WARDEN_TEST_POSTGRES_BIN/pg_ctl" -D "$WARDEN_TEST_POSTGRES_DIR/data" -l "$WARDEN_TEST_POSTGRES_DIR/server.log" -w -t 60 \
        -o "-p $WARDEN_TEST_POSTGRES_PORT -c listen_addresses=127.0.0.1 -k $WARDEN_TEST_POSTGRES_DIR -c max_connections=600 -c fsync=off" \
        start > /dev/null
}

pause_test_postgres() {
    as_postgres_owner "$WARDEN_TEST_POSTGRES_BIN/pg_ctl" -D "$WARDEN_TEST_POSTGRES_DIR/data" -m immediate -w stop > /dev/null
}

resume_test_postgres() {
    start_test_postgres_server
}

# The server's process and its children (backends, background workers).
test_postgres_pids() {
    local postmaster
    postmaster=$(head -1 "$WARDEN_TEST_POSTGRES_DIR/data/postmaster.pid")
    echo "$postmaster" $(pgrep -P "$postmaster")
}

freeze_test_postgres() {
    # shellcheck disable=SC2046 # one pid a word
    kill -STOP $(test_postgres_pids)
}

thaw_test_postgres() {
    # shellcheck disable=SC2046 # one pid a word
    kill -CONT $(test_postgres_pids)
}

stop_test_postgres() {
    [ -n "${WARDEN_TEST_POSTGRES_DIR:-}" ] && [ -d "$WARDEN_TEST_POSTGRES_DIR" ] || return 0
    thaw_test_postgres 2> /dev/null || true
    as_postgres_owner "$WARDEN_TEST_POSTGRES_BIN/pg_ctl" -D "$WARDEN_TEST_POSTGRES_DIR/data" -m immediate -w stop > /dev/null 2>&1 || true
    rm -rf "$WARDEN_TEST_POSTGRES_DIR"
    unset WARDEN_TEST_POSTGRES_DIR WARDEN_TEST_POSTGRES_URL
}
