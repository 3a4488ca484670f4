"""What the privacy fact sheet has said, and since when (review/factsheet.py)."""

from __future__ import annotations

from typing import Any

from django.db import models


class FactChange(models.Model):
    """A computed fact about the platform took a new value: appended, never edited. The first
    entry of a fact is when the fact sheet first stated it."""

    practice_id = models.BigIntegerField()
    key = models.CharField(max_length=64)
    label = models.CharField(max_length=200)
    value = models.TextField()
    previous = models.TextField(blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["practice_id", "key", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.key} of {self.practice_id} at {self.changed_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("The fact sheet's history is append-only.")
        super().save(*args, **kwargs)

    @property
    def first_statement(self) -> bool:
        return not self.previous
