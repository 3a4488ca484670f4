"""What the operations did, as the fact sheet, the admin's home page and the metrics read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from operations.models import OperationRun, Outcome, RunKind


def newest_run(kind: RunKind, *, ok: bool | None = None) -> OperationRun | None:
    runs = OperationRun.objects.filter(kind=kind)
    if ok is not None:
        runs = runs.filter(outcome=Outcome.OK) if ok else runs.exclude(outcome=Outcome.OK)
    return runs.order_by("-finished_at", "-pk").first()


@dataclass(frozen=True)
class BackupStatus:
    """The state of backups on this server, for an admin: when the last good backup and drill
    were, whether the newest of each failed, and whether backups are overdue."""

    last_backup: OperationRun | None
    last_good_backup: OperationRun | None
    last_drill: OperationRun | None
    last_good_drill: OperationRun | None
    overdue: bool

    @property
    def failing(self) -> bool:
        return self.overdue or any(
            run is not None and run.outcome != Outcome.OK for run in (self.last_backup, self.last_drill)
        )


def backup_status(now: datetime | None = None) -> BackupStatus:
    now = now or timezone.now()
    good = newest_run(RunKind.BACKUP, ok=True)
    limit = timedelta(hours=int(settings.BACKUP_MAX_AGE_HOURS))
    return BackupStatus(
        last_backup=newest_run(RunKind.BACKUP),
        last_good_backup=good,
        last_drill=newest_run(RunKind.DRILL),
        last_good_drill=newest_run(RunKind.DRILL, ok=True),
        overdue=good is None or now - good.finished_at > limit,
    )
