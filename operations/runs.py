"""The scheduled operations, each recorded whatever its outcome: a backup into the destination
(then the retention policy), a restore drill of the newest backup, and the watch that notices a
backup that did not happen. A failure, or a backup older than ``BACKUP_MAX_AGE_HOURS``, raises an
alert to every practice's admins, as a witness outage does: a flag on their audit console and
their home page, and a line on the error log.
"""

from __future__ import annotations

import io
import logging
import shutil
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Practice
from audit.models import Action, AuditEvent, AuditFlag, FlagRule
from audit.services import audit_record
from operations import retention
from operations.backup import BackupRefused, backup_bytes, backup_create, manifest_digest
from operations.drill import drill_run
from operations.models import OperationRun, Outcome, RunKind
from operations.selectors import newest_run
from teletherapy.backups import BackupError
from teletherapy.context import AuditContext

logger = logging.getLogger("teletherapy.operations")


def _alert(rule: FlagRule, key: str, summary: str) -> None:
    now = timezone.now()
    for practice_id in Practice.objects.order_by("pk").values_list("pk", flat=True):
        AuditFlag.objects.get_or_create(
            key=f"{key}:{practice_id}"[:128],
            defaults={"practice_id": practice_id, "rule": rule, "summary": summary[:300], "created_at": now},
        )
    logger.critical("ALERT: %s", summary)


def _record(kind: RunKind, started: datetime, seconds: float, **values: object) -> OperationRun:
    return OperationRun.objects.create(
        kind=kind, started_at=started, finished_at=timezone.now(), seconds=round(seconds, 3), **values
    )


def backup_scheduled() -> OperationRun:
    """Make a backup in the destination, prune what the policy no longer keeps, record it."""
    started, clock = timezone.now(), time.monotonic()
    name = retention.name_for(started)
    final = retention.destination() / name
    writing = retention.partial(final)
    try:
        retention.destination().mkdir(parents=True, exist_ok=True, mode=0o700)
        manifest = backup_create(writing, out=io.StringIO())
        writing.rename(final)
    except (BackupRefused, BackupError, OSError) as error:
        shutil.rmtree(writing, ignore_errors=True)
        run = _record(RunKind.BACKUP, started, time.monotonic() - clock, outcome=Outcome.FAILED, name=name,
                      problem=str(error)[:300])  # fmt: skip
        _alert(
            FlagRule.BACKUP_FAILED,
            f"backup:{run.pk}",
            f"The scheduled backup of {started:%Y-%m-%d %H:%M} UTC failed: {str(error)[:160]}. "
            "Until a backup succeeds, a loss would lose everything since the last one.",
        )
        return run
    pruned = retention.prune()
    return _record(
        RunKind.BACKUP,
        started,
        time.monotonic() - clock,
        outcome=Outcome.OK,
        name=name,
        bytes=backup_bytes(manifest),
        digest=manifest_digest(final),
        events=int(manifest["events"]),
        documents=int(manifest["documents"]["count"]),
        pruned=len(pruned),
    )


def drill_scheduled() -> OperationRun:
    """Restore the newest backup into scratch copies and check it there; record the outcome."""
    started = timezone.now()
    backups = retention.held()
    if not backups:
        run = _record(RunKind.DRILL, started, 0, outcome=Outcome.FAILED, problem="There is no backup to restore.")
    else:
        newest = backups[0]
        result = drill_run(newest.path)
        run = _record(
            RunKind.DRILL,
            started,
            result.seconds,
            outcome=Outcome.OK if result.ok else Outcome.FAILED,
            name=newest.name,
            digest=manifest_digest(newest.path) if (newest.path / "manifest.json").exists() else "",
            bytes=result.bytes,
            events=result.events,
            documents=result.documents,
            problem="; ".join(result.problems).replace(f"{newest.path.parent}/", "")[:300],
        )
    audit_record(
        action=Action.DRILL_RUN,
        context=AuditContext.background("task", "restore drill"),
        details={"outcome": run.outcome, "seconds": run.seconds, "events": run.events, "documents": run.documents},
    )
    if run.outcome == Outcome.FAILED:
        _alert(
            FlagRule.DRILL_FAILED,
            f"drill:{run.pk}",
            f"The restore drill of {started:%Y-%m-%d %H:%M} UTC failed: {run.problem[:160]}. "
            "The newest backup may not restore: make a new one and look at the backup folder.",
        )
    return run


def backups_watch() -> bool:
    """Alert once a day while the newest good backup is older than allowed; True when it is."""
    limit = timedelta(hours=int(settings.BACKUP_MAX_AGE_HOURS))
    now = timezone.now()
    newest = newest_run(RunKind.BACKUP, ok=True)
    if newest is not None:
        since = newest.finished_at
    else:
        first = AuditEvent.objects.order_by("occurred_at").values_list("occurred_at", flat=True).first()
        if first is None:
            return False
        since = first  # in use since then, and never backed up
    if now - since <= limit:
        return False
    hours = int((now - since).total_seconds() // 3600)
    said = f"{hours} hours ago" if newest else f"never, in the {hours} hours this server has held records"
    _alert(
        FlagRule.BACKUP_FAILED,
        f"backup-overdue:{now:%Y-%m-%d}",
        f"No backup has succeeded for longer than {limit.total_seconds() / 3600:.0f} hours: the last was {said}.",
    )
    return True
