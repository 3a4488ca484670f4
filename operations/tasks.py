"""The operations beat runs: a backup daily, a restore drill of it, and a watch for one missed."""

from __future__ import annotations

from celery import shared_task

from operations.runs import backup_scheduled, backups_watch, drill_scheduled


@shared_task
def backup_make() -> str:
    return backup_scheduled().outcome


@shared_task
def backup_drill() -> str:
    return drill_scheduled().outcome


@shared_task
def backups_check_age() -> bool:
    return backups_watch()
