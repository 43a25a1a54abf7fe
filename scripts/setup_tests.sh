#!/usr/bin/env sh
# Installs what the test suite drives as a user would, when it is missing: the stores' own
# clients and servers (tests start throwaway servers when none is reachable) and a headless
# browser for the HTML report. As root with apt-get it installs the Debian packages; otherwise it
# prints what to install and the tests that need them fail with a clear message.
# Usage: sh scripts/setup_tests.sh   (run by `deno task test`; DSYNC_SKIP_SETUP=1 skips it)
[ "${DSYNC_SKIP_SETUP:-}" = 1 ] && exit 0

missing=""
need() { # need PACKAGE CHECK-COMMAND...
  package=$1
  shift
  "$@" >/dev/null 2>&1 || missing="$missing $package"
}
has() { command -v "$1"; }
has_any() { for c in "$@"; do command -v "$c" && return 0; done; return 1; }
has_initdb() { ls /usr/lib/postgresql/*/bin/initdb || command -v initdb; }

need sqlite3 has sqlite3
need postgresql has_initdb
need libreoffice-calc-nogui has soffice
need mariadb-server has_any mariadbd mysqld
need redis-server has redis-server
need nats-server has nats-server
need clickhouse-server has_any clickhouse-server clickhouse /usr/sbin/clickhouse-server
need clickhouse-client has clickhouse-client
need chromium has_any chromium chromium-browser google-chrome

[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "setup: installing$missing (apt-get)" >&2
  if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } \
    >/dev/null 2>&1; then
    exit 0
  fi
  echo "setup: apt-get could not install$missing" >&2
fi
echo "setup: the tests need these programs; install them (Debian/Ubuntu package names):" >&2
echo "  sudo apt-get install$missing" >&2
echo "  (the tests that use a missing one fail and name it; the others run)" >&2
exit 0
