"""What Celery beat runs, and how often: the schedule the settings hand to beat. Intervals that
a deployment may change are read from the environment here (the README's configuration table)."""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

from teletherapy.env import envint


def beat_schedule() -> dict[str, dict[str, Any]]:
    hour = envint("BACKUP_HOUR", 3) % 24
    return {
        "purge-ended-sessions": {"task": "accounts.tasks.sessions_purge_ended", "schedule": 15 * 60},
        "forget-old-throttles": {"task": "accounts.tasks.throttles_forget_old", "schedule": 60 * 60},
        "audit-checkpoints": {
            "task": "audit.tasks.audit_checkpoints_create",
            "schedule": 60 * envint("AUDIT_CHECKPOINT_MINUTES", 5),
        },
        "audit-witness": {"task": "audit.tasks.audit_witness_ship", "schedule": envint("AUDIT_WITNESS_SECONDS", 10)},
        # The whole of every chain, daily: a change to an old event (before the newest signed
        # checkpoint, made with the owner's credentials) is found within a day. Ten million events
        # take about 95 s on a 2-core machine (benchmarks/audit_scale.py).
        "audit-verify-full": {
            "task": "oversight.tasks.audit_verify_all",
            "schedule": 24 * 60 * 60 * envint("AUDIT_FULL_VERIFY_DAYS", 1),
            "kwargs": {"full": True},
        },
        "privacy-facts": {"task": "compliance.tasks.facts_record_all", "schedule": 24 * 60 * 60},
        "vendor-reminders": {"task": "compliance.tasks.vendors_remind_expiring", "schedule": 24 * 60 * 60},
        "account-recoveries": {"task": "accounts.tasks.account_recoveries_carry_out", "schedule": 5 * 60},
        "incident-reminders": {"task": "compliance.tasks.incidents_remind_deadlines", "schedule": 24 * 60 * 60},
        "audit-anomalies": {"task": "oversight.tasks.audit_anomalies_detect", "schedule": 15 * 60},
        "audit-verify": {
            "task": "oversight.tasks.audit_verify_all",
            "schedule": 60 * 60 * envint("AUDIT_VERIFY_HOURS", 6),
        },
        "session-reminders": {"task": "sessions.tasks.reminders_send_due", "schedule": 5 * 60},
        "first-session-requests-forget": {
            "task": "sessions.services.requests.first_requests_forget",
            "schedule": 24 * 60 * 60,
        },
        "intake-reminders": {"task": "intake.tasks.intake_reminders_send", "schedule": 6 * 60 * 60},
        # On the first of the month, each client whose account moved is told the statement is ready.
        "statements": {
            "task": "billing.tasks.statements_announce",
            "schedule": crontab(minute=0, hour=14, day_of_month=1),
        },
        # A backup daily, its restore drill an hour later, and an hourly watch for one missed.
        "backup": {"task": "operations.tasks.backup_make", "schedule": crontab(minute=0, hour=hour)},
        "backup-drill": {"task": "operations.tasks.backup_drill", "schedule": crontab(minute=0, hour=(hour + 1) % 24)},
        "backup-watch": {"task": "operations.tasks.backups_check_age", "schedule": crontab(minute=30)},
    }
