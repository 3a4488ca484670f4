"""Alerts for the practice's admins: anomaly rules and the periodic verification of the log."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from accounts.models import Role, User
from audit.models import VerificationRun, practice_of_chain


@shared_task
def audit_anomalies_detect() -> int:
    from review.anomalies import detect

    return len(detect())


@shared_task
def audit_verify_all(full: bool = False) -> int:
    """Verify every chain (from its newest witnessed checkpoint, or from the first event when
    ``full``); on a failure, tell the admins of that practice (or all admins for chain 0)."""
    from audit.verify import chains, incremental_start, verify_chain, verify_chain_from

    failures = 0
    checked = chains()
    events = 0
    failed: list[int] = []
    for chain in checked:
        report = verify_chain(chain=chain) if full else verify_chain_from(chain=chain, start=incremental_start(chain))
        events += report.events
        if report.intact:
            continue
        failures += 1
        failed.append(chain)
        admins = User.objects.filter(role_grants__role=Role.ADMIN, is_active=True)
        practice_id = practice_of_chain(chain)
        if practice_id:
            admins = admins.filter(practice_id=practice_id)
        problem = report.problem
        assert problem is not None
        from review.anomalies import flag_verification_failure

        flag_verification_failure(chain=chain, detail=f"{problem.kind} at event #{problem.seq}")
        send_mail(
            subject="ALERT: the audit log failed verification",
            message=(
                f"The audit log of chain {chain} failed verification: {problem.kind} at event #{problem.seq} "
                f"({problem.detail}).\n\nTreat this as a possible intrusion. Run `manage.py audit_verify` to see it."
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=list(admins.values_list("email", flat=True)),
        )
    VerificationRun.objects.create(
        finished_at=timezone.now(), full=full, chains=len(checked), events=events, failed_chains=failed
    )
    return failures


@shared_task
def facts_record_all() -> int:
    """Work out every practice's fact sheet, so that a change is dated even if nobody looks."""
    from accounts.models import Practice
    from review.factsheet import facts_record

    return sum(len(facts_record(practice)) for practice in Practice.objects.all())


@shared_task
def vendors_remind_expiring() -> int:
    """Tell a practice's admins, once, about a BAA that expires within 30 days."""
    from review.vendors import vendors_remind

    return vendors_remind()


@shared_task
def incidents_remind_deadlines() -> int:
    """Tell a practice's admins as each breach notice deadline comes close, and while it is overdue."""
    from review.incidents import incidents_remind

    return incidents_remind()


@shared_task
def account_recoveries_carry_out() -> int:
    """Account recoveries whose delay is over take effect (the old second factors go)."""
    from accounts.services.recovery import recoveries_complete

    return recoveries_complete()
