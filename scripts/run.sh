#!/usr/bin/env bash
# Set up and run the platform on the embedded default (SQLite, in-memory channel layer,
# eager Celery, console e-mail) with the demo practice loaded, at http://localhost:8000 (passkeys
# need a host name, not an address).
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL REDIS_URL DJANGO_ENV
scripts/bootstrap.sh

port="${PORT:-8000}"
export SITE_URL="${SITE_URL:-http://localhost:${port}}"
py=.venv/bin/python
$py manage.py migrate --noinput
$py manage.py migrate --database psychotherapy --noinput
$py manage.py seed_demo

echo
echo "Serving on ${SITE_URL}/  (Ctrl-C to stop)"
exec .venv/bin/daphne -b 127.0.0.1 -p "$port" teletherapy.asgi:application
