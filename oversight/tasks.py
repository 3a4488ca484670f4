"""The oversight of the log, on a schedule: anomaly rules, and the periodic verification of every
chain, with the admins told of a failure."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from accounts.models import Role, User
from audit.models import VerificationRun, practice_of_chain
from audit.verify import chains, incremental_start, verify_chain, verify_chain_from
from oversight.anomalies import detect, flag_verification_failure
from teletherapy import metrics


@shared_task
def audit_anomalies_detect() -> int:
    return len(detect())


@shared_task
def audit_verify_all(full: bool = False) -> int:
    """Verify every chain (from its newest witnessed checkpoint, or from the first event when
    ``full``); on a failure, tell the admins of that practice (or all admins for chain 0)."""
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
    metrics.verification_done(len(checked), len(failed))
    return failures
