"""What the operations of the server did: each backup and each restore drill, with its outcome.
Append-only, like the audit trail's verification runs: the fact sheet, the admin's home page and
the metrics read the newest rows; nothing here names a person."""

from __future__ import annotations

from typing import Any

from django.db import models


class RunKind(models.TextChoices):
    BACKUP = "backup", "Backup"
    DRILL = "drill", "Restore drill"


class Outcome(models.TextChoices):
    OK = "ok", "Succeeded"
    FAILED = "failed", "Failed"


class OperationRun(models.Model):
    """One scheduled (or hand-run) backup or restore drill, recorded when it ends."""

    kind = models.CharField(max_length=16, choices=RunKind.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    seconds = models.FloatField(default=0)
    name = models.CharField(max_length=100, blank=True, help_text="The backup's folder name (a date), never a path.")
    bytes = models.BigIntegerField(default=0, help_text="Sealed bytes written (a backup) or restored (a drill).")
    digest = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the backup's manifest.")
    events = models.BigIntegerField(default=0, help_text="Audit events held (a backup) or verified (a drill).")
    documents = models.PositiveIntegerField(default=0, help_text="Documents held, or opened and checked.")
    pruned = models.PositiveIntegerField(default=0, help_text="Older backups removed by the retention policy.")
    problem = models.CharField(max_length=300, blank=True, help_text="What went wrong, naming no person.")

    class Meta:
        ordering = ["-finished_at"]
        indexes = [models.Index(fields=["kind", "outcome", "finished_at"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.finished_at:%Y-%m-%d %H:%M}: {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Operation runs are append-only.")
        super().save(*args, **kwargs)
