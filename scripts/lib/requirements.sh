# Sourced by scripts/test and scripts/install: checks the system packages Warden's build and
# tests need, and installs the missing ones when running as root (CI), or names them and the
# command that installs them, and exits 2.
#
#   require_packages libsqlite3-dev python3-venv ...
#
# Package names are Debian's and Ubuntu's. Elsewhere than Linux with apt-get, nothing is checked.

# Prints each named package that is missing, one a line.
missing_packages() {
    local package
    for package in "$@"; do
        case "$package" in
            # SQLite's headers, for GRDB (Warden links the system's libsqlite3).
            libsqlite3-dev) [ -f /usr/include/sqlite3.h ] || echo "$package" ;;
            python3) command -v python3 > /dev/null 2>&1 || echo "$package" ;;
            # Python's venv module, for .venv with the MCP SDK and the test servers.
            python3-venv) python3 -c 'import venv, ensurepip' 2> /dev/null || echo "$package" ;;
            # git, for mcp-server-git's tests.
            git) command -v git > /dev/null 2>&1 || echo "$package" ;;
            # Headless Chromium and its driver, for the dashboard's browser test (Selenium).
            chromium) command -v chromium > /dev/null 2>&1 || command -v chromium-browser > /dev/null 2>&1 || echo "$package" ;;
            chromium-driver) command -v chromedriver > /dev/null 2>&1 || echo "$package" ;;
            # PostgreSQL 15's server (initdb, pg_ctl), for the throwaway cluster of the store's tests.
            postgresql-15) { [ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1; } || echo "$package" ;;
            nginx-light) command -v nginx > /dev/null 2>&1 || [ -x /usr/sbin/nginx ] || echo "$package" ;;  # nginx in front of two instances (e2e test_multi_instance)
            jq) command -v jq > /dev/null 2>&1 || echo "$package" ;;  # catalogue/build (scripts/test checks the embedded catalogue with it)
            *) echo "requirements.sh: unknown package $package" >&2; return 2 ;;
        esac
    done
}

# Installs the named packages that are missing (as root), or exits 2 naming them.
require_packages() {
    [ "$(uname -s)" = Linux ] && command -v apt-get > /dev/null 2>&1 || return 0
    local missing
    missing=$(missing_packages "$@") || exit 2
    [ -n "$missing" ] || return 0
    # shellcheck disable=SC2086 # one package name a word
    set -- $missing
    if [ "$(id -u)" -eq 0 ] && [ "${WARDEN_NO_APT:-}" != 1 ]; then
        echo "==> installing system packages: $*"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
    else
        echo "error: missing system packages: $*" >&2
        echo "Install them, then run this again:" >&2
        echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends $*" >&2
        exit 2
    fi
}
