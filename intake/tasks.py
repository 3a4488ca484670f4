from __future__ import annotations

from celery import shared_task

from intake.services import reminders_send


@shared_task
def intake_reminders_send() -> int:
    """Remind people of intake packets that wait on them (the e-mail says nothing of what is in them)."""
    return reminders_send()
