#!/usr/bin/env bash
# Set up and run the platform on the embedded default (SQLite, in-memory channel layer, a Celery
# worker and beat on a folder broker, console e-mail) with the demo practice loaded, at
# http://localhost:8000 (passkeys need a host name, not an address).
set -euo pipefail
cd "$(dirname "$0")/.."
unset DATABASE_URL REDIS_URL DJANGO_ENV
scripts/bootstrap.sh

port="${PORT:-8000}"
export SITE_URL="${SITE_URL:-http://localhost:${port}}"
py=.venv/bin/python
data_dir="${DATA_DIR:-data}"
mkdir -p "$data_dir"
# The database's set-up and the demo's loading write to a log; on a failure its end is shown.
setup_log="$data_dir/setup.log"
echo "Setting up the database and the demo practice (details: $setup_log)..."
if ! { $py manage.py migrate --noinput && $py manage.py migrate --database psychotherapy --noinput \
  && $py manage.py seed_demo > "$data_dir/demo.txt"; } > "$setup_log" 2>&1; then
  tail -n 40 "$setup_log" >&2
  exit 1
fi

# The periodic work production runs on Celery beat (reminders, checkpoints, verification, the
# anomaly rules) runs here too: a real worker and beat, through a broker that is a folder under
# data/. Ctrl-C (or the end of this script) stops all three.
export CELERY_TASK_ALWAYS_EAGER=0
children=()
running() {
  local pid
  for pid in "${children[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then return 0; fi
  done
  return 1
}
stop() {
  trap - INT TERM EXIT
  local pid
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # A task the worker is running may finish first, for up to 10 s; what is still running then is
  # killed (the periodic work runs again on its next turn), so Ctrl-C always stops everything.
  for _ in $(seq 50); do
    running || break
    sleep 0.2
  done
  for pid in "${children[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "Process $pid did not stop within 10 s; killing it." >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT
# Their logs go to files under data/; what stays in the terminal is the logins, then the e-mails
# the platform sends (the console backend's) and anything that goes wrong.
.venv/bin/celery -A teletherapy --quiet worker -Q celery,backups --pool solo --loglevel INFO \
  --without-gossip --without-mingle --logfile "$data_dir/worker.log" 2>> "$data_dir/worker.log" &
children+=($!)
.venv/bin/celery -A teletherapy --quiet beat --loglevel INFO --schedule "$data_dir/celerybeat-schedule" \
  --logfile "$data_dir/beat.log" 2>> "$data_dir/beat.log" &
children+=($!)
.venv/bin/daphne -b 127.0.0.1 -p "$port" --access-log "$data_dir/access.log" teletherapy.asgi:application &
children+=($!)

# Once the server answers: the logins, last, so they are what the terminal shows.
until $py -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
  "http://127.0.0.1:${port}/healthz/live" 2>/dev/null; do
  running || break
  sleep 0.3
done
echo
cat "$data_dir/demo.txt"
echo
echo "Serving on ${SITE_URL}/  (Ctrl-C to stop)"
wait -n "${children[@]}"
echo "One of the platform's processes stopped; stopping the others (its log is under $data_dir/)." >&2
