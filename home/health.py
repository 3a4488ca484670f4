"""Whether this process is ready for traffic: ``/healthz/ready`` asks each part it needs to serve
a request (both databases, Redis, the task broker, clamd where uploads are scanned) and says how
each answered and how long it took, as JSON, 200 when all answer and 503 when one does not. The
off-host witness is reported but never makes the process unready: while it is away the audit table
keeps the backlog (docs/decisions/0004-off-host-witness.md).

``/healthz/live`` (and ``/healthz``) only says the process answers, touching nothing else, so a
database outage never restarts a healthy process. Nothing in either answer names a host, a
version or an error: an outsider learns only which part is failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connections

from audit.models import WitnessOutage
from audit.witness import configured_witness
from teletherapy import scanner
from teletherapy.celery import app as celery_app

TIMEOUT_SECONDS = 2


def _database(alias: str) -> Callable[[], bool]:
    def check() -> bool:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)

    return check


def _redis() -> bool:
    client = redis.Redis.from_url(
        str(settings.REDIS_URL), socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
    try:
        return bool(client.ping())
    finally:
        client.close()


def _broker() -> bool:
    with celery_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
        return bool(connection.connected)


def _witness_current() -> bool:
    return not WitnessOutage.objects.filter(ended_at__isnull=True).exists()


def checks() -> list[tuple[str, Callable[[], bool], bool]]:
    """(name, check, whether readiness needs it) for what this deployment has configured."""
    found: list[tuple[str, Callable[[], bool], bool]] = [("database", _database("default"), True)]
    if "psychotherapy" in settings.DATABASES:
        found.append(("psychotherapy_database", _database("psychotherapy"), True))
    if settings.REDIS_URL:
        found.append(("redis", _redis, True))
    if not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        found.append(("broker", _broker, True))
    if scanner.configured():
        found.append(("clamd", scanner.answers, True))
    try:
        witness = configured_witness()
    except ValueError:  # misconfigured: `check --deploy` says so; readiness is not the place
        witness = None
    if witness is not None:
        found.append(("witness", _witness_current, False))
    return found


def run_checks() -> tuple[bool, dict[str, dict[str, object]]]:
    ready = True
    report: dict[str, dict[str, object]] = {}
    for name, check, needed in checks():
        started = time.monotonic()
        try:
            ok = bool(check())
        except Exception:
            ok = False
        report[name] = {
            "state": "ok" if ok else ("failing" if needed else "behind"),
            "ms": round((time.monotonic() - started) * 1000, 1),
        }
        ready = ready and (ok or not needed)
    return ready, report
