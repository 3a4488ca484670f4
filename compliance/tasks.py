"""The practice's own safeguards, on a schedule: the fact sheet dated daily, and reminders of
expiring BAAs and of breach notice deadlines."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Practice
from compliance.services.factsheet import facts_record
from compliance.services.incident_notices import incidents_remind
from compliance.services.vendors import vendors_remind


@shared_task
def facts_record_all() -> int:
    """Work out every practice's fact sheet, so that a change is dated even if nobody looks."""
    return sum(len(facts_record(practice)) for practice in Practice.objects.all())


@shared_task
def vendors_remind_expiring() -> int:
    """Tell a practice's admins, once, about a BAA that expires within 30 days."""
    return vendors_remind()


@shared_task
def incidents_remind_deadlines() -> int:
    """Tell a practice's admins as each breach notice deadline comes close, and while it is overdue."""
    return incidents_remind()
