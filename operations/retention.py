"""Where scheduled backups go and how long they are kept.

Each scheduled backup is a folder of its own in ``BACKUP_DIR``, named by the UTC time it was
started (``backup-20261206T030000Z``). The retention policy keeps, of the backups that exist,
the newest of each of the last ``BACKUP_KEEP_DAILY`` days, of each of the last
``BACKUP_KEEP_WEEKLY`` ISO weeks and of each of the last ``BACKUP_KEEP_MONTHLY`` months (days,
weeks and months that have a backup: a week without one does not use up a place), and always
the newest. Everything else of ours is pruned; a folder not named as ours is never touched.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from operations.backup import MANIFEST

_NAME = re.compile(r"^backup-(\d{8}T\d{6}Z)$")
_PARTIAL = ".partial"


@dataclass(frozen=True)
class Held:
    """One finished backup in the destination."""

    name: str
    made_at: datetime
    path: Path


def destination() -> Path:
    return Path(settings.BACKUP_DIR)


def name_for(when: datetime) -> str:
    return "backup-" + when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def partial(path: Path) -> Path:
    """Where a backup is written until it is whole; renamed into place when done."""
    return path.with_name(path.name + _PARTIAL)


def held(folder: Path | None = None) -> list[Held]:
    """The finished backups in the destination, newest first."""
    folder = folder or destination()
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match and entry.is_dir() and (entry / MANIFEST).exists():
            made = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            found.append(Held(entry.name, made, entry))
    return sorted(found, key=lambda h: h.made_at, reverse=True)


def _newest_per(backups: list[Held], period: Callable[[datetime], object], count: int) -> set[str]:
    kept: set[str] = set()
    seen: set[object] = set()
    for backup in backups:  # newest first: the first of each period is its newest
        key = period(backup.made_at)
        if key in seen:
            continue
        if len(seen) >= count:
            break
        seen.add(key)
        kept.add(backup.name)
    return kept


def to_keep(backups: Iterable[Held], *, daily: int, weekly: int, monthly: int) -> set[str]:
    ordered = sorted(backups, key=lambda h: h.made_at, reverse=True)
    if not ordered:
        return set()
    kept = {ordered[0].name}
    kept |= _newest_per(ordered, lambda t: t.date(), daily)
    kept |= _newest_per(ordered, lambda t: t.isocalendar()[:2], weekly)
    kept |= _newest_per(ordered, lambda t: (t.year, t.month), monthly)
    return kept


def prune(folder: Path | None = None) -> list[str]:
    """Remove the backups the policy does not keep, and folders left by a backup that failed;
    returns the names removed."""
    folder = folder or destination()
    backups = held(folder)
    keep = to_keep(
        backups,
        daily=int(settings.BACKUP_KEEP_DAILY),
        weekly=int(settings.BACKUP_KEEP_WEEKLY),
        monthly=int(settings.BACKUP_KEEP_MONTHLY),
    )
    removed = []
    for backup in backups:
        if backup.name not in keep:
            shutil.rmtree(backup.path)
            removed.append(backup.name)
    if folder.is_dir():
        for entry in folder.iterdir():
            stale = time.time() - entry.stat().st_mtime > 6 * 3600  # never one still being written
            if entry.name.endswith(_PARTIAL) and _NAME.match(entry.name[: -len(_PARTIAL)]) and stale:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
    return removed
