from __future__ import annotations

from celery import shared_task


@shared_task
def audit_checkpoints_create() -> int:
    from audit.checkpoints import checkpoints_create

    return len(checkpoints_create())
