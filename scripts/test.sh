#!/usr/bin/env bash
# Set up and run the whole test suite. Uses PostgreSQL and Redis at their standard local ports
# when they answer (the production configuration), then runs the embedded-default smoke tests
# on SQLite. Extra arguments go to the main pytest run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's chromium for the browser tests, coturn for the TURN relay tests, rsyslog with its TLS
# driver as the audit trail's off-host witness, nftables to make a call's link lossy, and npm for
# the pinned axe-core the browser tests check accessibility with and Lighthouse, which scores the
# main pages (both drive Debian's Chromium: no browser is downloaded), ClamAV's daemon to scan
# uploads (with a test signature database the tests write: nothing is downloaded), HAProxy
# for the scale-out tests, on the deployment's own configuration, and Prometheus (with promtool)
# to scrape the metrics and check the shipped alert rules, and Janus, the group sessions' media
# server, on the shipped configuration (deploy/janus/).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v turnserver >/dev/null 2>&1 || missing+=(coturn)
command -v rsyslogd >/dev/null 2>&1 || missing+=(rsyslog)
dpkg -s rsyslog-gnutls >/dev/null 2>&1 || missing+=(rsyslog-gnutls)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v clamd >/dev/null 2>&1 || missing+=(clamav-daemon)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v janus >/dev/null 2>&1 || missing+=(janus)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "==> Installing Debian's ${missing[*]} for the tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "${missing[*]} missing and this user cannot install them (run: apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
fi

scripts/bootstrap.sh dev
py=.venv/bin/python
# axe-core and Lighthouse for the browser tests, at the versions package-lock.json pins.
lock="$(sha256sum package-lock.json | cut -c1-16)"
if [ "$(cat node_modules/.installed-from 2>/dev/null)" != "$lock" ]; then
  echo "==> Installing the browser tests' axe-core and Lighthouse (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock" > node_modules/.installed-from
fi

answers() { "$py" - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

unset DJANGO_ENV
if answers 127.0.0.1 5432; then
  # Two roles, as in production: the owner creates, migrates and drops the test databases; the
  # suite runs as the runtime role, which owns nothing and may only read and add to the
  # append-only tables (teletherapy/dbroles.py).
  psql -q -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'teletherapy_owner') THEN
    CREATE ROLE teletherapy_owner LOGIN CREATEDB;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'teletherapy_app') THEN
    CREATE ROLE teletherapy_app LOGIN;
  END IF;
END $$;
ALTER ROLE teletherapy_app NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
ALTER ROLE teletherapy_owner NOSUPERUSER CREATEDB NOCREATEROLE NOBYPASSRLS;
SQL
  # Test databases left by an interrupted run of another owner are dropped first.
  for stale in test_teletherapy test_teletherapy_psychotherapy; do
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $stale WITH (FORCE)"
  done
  export DATABASE_URL="postgres://teletherapy_app@127.0.0.1:5432/teletherapy"
  export MIGRATION_DATABASE_URL="postgres://teletherapy_owner@127.0.0.1:5432/teletherapy"
  echo "==> Database: PostgreSQL at 127.0.0.1:5432 (runtime role teletherapy_app, owner teletherapy_owner)"
else
  unset DATABASE_URL
  echo "==> Database: SQLite (PostgreSQL did not answer at 127.0.0.1:5432)"
fi
if answers 127.0.0.1 6379; then
  export REDIS_URL="redis://127.0.0.1:6379/15"
  echo "==> Channel layer, cache, broker: Redis at 127.0.0.1:6379"
else
  unset REDIS_URL
  echo "==> Channel layer, cache, broker: in memory (Redis did not answer at 127.0.0.1:6379)"
fi
export CHROMIUM_PATH="${CHROMIUM_PATH:-$(command -v chromium)}"

echo "==> Lint"
.venv/bin/ruff check .
echo "==> Migrations are complete"
env -u DATABASE_URL -u MIGRATION_DATABASE_URL -u REDIS_URL DATA_DIR="$(mktemp -d)" "$py" manage.py makemigrations --check --dry-run
echo "==> Type check"
.venv/bin/mypy .
echo "==> Spelling (codespell)"
.venv/bin/codespell .
echo "==> Layers (import-linter: an upward import or an import circle fails the run)"
.venv/bin/lint-imports

# On PostgreSQL, the embedded default's smoke tests (SQLite, in-memory layer, eager Celery) run
# beside the main suite, each in a process of its own with nothing shared (databases, ports,
# Chromium and clamd are each one's own); their report follows the main one.
embedded_pid=""
if [ -n "${DATABASE_URL:-}" ]; then
  embedded_log="$(mktemp)"
  # At a lower priority: the main suite's browser and network scenarios keep their pace, and
  # these fill the time the main suite spends waiting.
  env -u DATABASE_URL -u MIGRATION_DATABASE_URL -u REDIS_URL nice -n 5 .venv/bin/pytest \
    -m "embedded and not postgres and not redis" -p no:cacheprovider >"$embedded_log" 2>&1 &
  embedded_pid=$!
fi

echo "==> Test suite"
main_rc=0
# The slowest tests are listed, to keep the run inside its time.
.venv/bin/pytest --durations=40 "$@" || main_rc=$?

embedded_rc=0
if [ -n "$embedded_pid" ]; then
  wait "$embedded_pid" || embedded_rc=$?
  echo "==> Embedded-default smoke tests (SQLite, in-memory layer, eager Celery), run beside it"
  cat "$embedded_log"
  rm -f "$embedded_log"
fi
if [ "$main_rc" -ne 0 ] || [ "$embedded_rc" -ne 0 ]; then
  echo "==> Failed: main suite exit $main_rc, embedded smoke tests exit $embedded_rc" >&2
  exit 1
fi
