"""What belongs to the server rather than to a process, read when Prometheus scrapes: the newest
backup and restore drill, the audit trail's last verification, the witness's backlog, the task
queues' lengths and readiness. Every value is a count, an age or a state; the only labels are a
queue's name and a readiness check's name, from fixed lists."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator

import redis
from django.conf import settings
from django.db import close_old_connections
from django.db.models import Sum
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from audit.models import AuditChainHead, VerificationRun, WitnessLane, WitnessOutage
from audit.witness import configured_witness
from home.health import run_checks
from operations.selectors import backup_status

logger = logging.getLogger(__name__)
QUEUES = ("celery", "backups")


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class ServerCollector(Collector):
    def describe(self) -> list[GaugeMetricFamily]:
        return []  # registering must not read the database; the names are checked in a test

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            yield from self._operations()
            yield from self._audit()
            yield from self._queues()
            yield from self._readiness()
        except Exception:  # a scrape never fails for a part that is away; readiness says which
            logger.exception("Server metrics could not be read")
        finally:
            close_old_connections()

    def _operations(self) -> Iterator[GaugeMetricFamily]:
        status = backup_status()
        now = time.time()
        good = status.last_good_backup
        yield _gauge(
            "teletherapy_backup_age_seconds",
            "Seconds since the newest backup that succeeded (+Inf: none ever did).",
            now - good.finished_at.timestamp() if good else math.inf,
        )
        if good is not None:
            yield _gauge(
                "teletherapy_backup_last_success_timestamp_seconds",
                "When the newest good backup finished.",
                good.finished_at.timestamp(),
            )
            yield _gauge("teletherapy_backup_bytes", "Sealed bytes of the newest good backup.", good.bytes)
        last = status.last_backup
        yield _gauge(
            "teletherapy_backup_last_failed",
            "1 when the newest backup failed.",
            int(bool(last and last.outcome != "ok")),
        )
        drill = status.last_drill
        if drill is not None:
            ok = int(drill.outcome == "ok")
            yield _gauge("teletherapy_drill_last_ok", "1 when the newest restore drill succeeded, else 0.", ok)
            finished = drill.finished_at.timestamp()
            yield _gauge("teletherapy_drill_last_timestamp_seconds", "When the newest drill finished.", finished)
            yield _gauge("teletherapy_drill_duration_seconds", "How long the newest drill took.", drill.seconds)
        if status.last_good_drill is not None:
            yield _gauge(
                "teletherapy_drill_last_success_timestamp_seconds",
                "When the newest successful drill finished.",
                status.last_good_drill.finished_at.timestamp(),
            )

    def _audit(self) -> Iterator[GaugeMetricFamily]:
        run = VerificationRun.objects.order_by("-finished_at").first()
        if run is not None:
            yield _gauge(
                "teletherapy_audit_verification_failed_chains",
                "Chains the newest verification of the audit trail found broken.",
                len(run.failed_chains or []),
            )
            yield _gauge(
                "teletherapy_audit_verification_last_timestamp_seconds",
                "When the audit trail was last verified.",
                run.finished_at.timestamp(),
            )
        if configured_witness() is not None:
            written = AuditChainHead.objects.aggregate(n=Sum("seq"))["n"] or 0
            delivered = WitnessLane.objects.aggregate(n=Sum("event_seq"))["n"] or 0
            yield _gauge(
                "teletherapy_witness_backlog_events",
                "Audit events not yet acknowledged by the off-host witness.",
                max(written - delivered, 0),
            )
            yield _gauge(
                "teletherapy_witness_unreachable",
                "1 while the off-host witness cannot be reached.",
                int(WitnessOutage.objects.filter(ended_at__isnull=True).exists()),
            )

    def _queues(self) -> Iterator[GaugeMetricFamily]:
        url = str(getattr(settings, "CELERY_BROKER_URL", ""))
        if not url.startswith(("redis://", "rediss://")):
            return
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        family = GaugeMetricFamily("teletherapy_queue_length", "Tasks waiting in a Celery queue.", labels=["queue"])
        try:
            for queue in QUEUES:
                family.add_metric([queue], int(client.llen(queue)))  # type: ignore[arg-type]
        finally:
            client.close()
        yield family

    def _readiness(self) -> Iterator[GaugeMetricFamily]:
        ready, report = run_checks()
        yield _gauge("teletherapy_ready", "1 when every part this process needs answers (/healthz/ready).", int(ready))
        family = GaugeMetricFamily("teletherapy_check_ok", "1 when a readiness check answers.", labels=["check"])
        for name, result in report.items():
            family.add_metric([name], int(result["state"] == "ok"))
        yield family


_registered: list[ServerCollector] = []


def register() -> None:
    """Once per process (the app's ready)."""
    if not _registered:
        collector = ServerCollector()
        REGISTRY.register(collector)
        _registered.append(collector)
