from __future__ import annotations

import json
from collections.abc import Callable

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from records.copy import copy_contents
from records.models import Assessment, EmergencyAccess, ExportStatus, RecordExport
from records.selectors import clinical_readers
from teletherapy.context import AuditContext, context_of


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def emergency_access_notify(access_id: str) -> int:
    """Tell the practice's admins at once. The mail names who and when, never the reason."""
    access = EmergencyAccess.objects.select_related("therapist", "chart__practice").filter(pk=access_id).first()
    if access is None:
        return 0
    admins = list(
        User.objects.filter(
            practice_id=access.chart.practice_id, role_grants__role=Role.ADMIN, is_active=True
        ).values_list("email", flat=True)
    )
    minutes = int((access.expires_at - access.started_at).total_seconds() // 60)
    if admins:
        send_mail(
            subject=f"{access.chart.practice.name}: emergency access to a chart",
            message=(
                f"{access.therapist.full_name} used emergency access to a client's chart at "
                f"{access.started_at:%Y-%m-%d %H:%M} UTC, for {minutes} minutes.\n\n"
                f"Review it in the audit log: {(settings.SITE_URL or '').rstrip('/')}/\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=admins,
        )
    return len(admins)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def safety_alert_notify(assessment_id: str) -> int:
    """Tell the client's care team that a questionnaire needs their attention: only that, and a
    link (no name, no answer, no score: e-mail can be read by others)."""

    assessment = Assessment.objects.select_related("chart").filter(pk=assessment_id).first()
    if assessment is None:
        return 0
    team = [member.email for member in clinical_readers(chart=assessment.chart)]
    link = (settings.SITE_URL or "").rstrip("/") + reverse("records:chart", args=[assessment.chart_id])
    if team:
        send_mail(
            subject="A questionnaire needs your attention",
            message=f"A questionnaire needs your attention. Open it on the platform:\n\n{link}\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=team,
        )
    return len(team)


def _export_contents(export: RecordExport, *, progress: Callable[[int], None]) -> dict[str, object]:
    """The copy as its reader may have it: each section through the door (records.copy)."""
    chart = export.chart
    data: dict[str, object] = {
        "generated_at": timezone.now().isoformat(),
        "client": {"name": chart.client.full_name, "email": chart.client.email},
        "chart": {
            "date_of_birth": chart.date_of_birth,
            "phone": chart.phone,
            "address": chart.address,
            "emergency_contact": chart.emergency_contact,
            "intake": json.loads(chart.intake) if chart.intake else {},
        },
        "note": "Psychotherapy notes are kept apart from this record and are not part of this copy.",
    }
    progress(20)
    data.update(copy_contents(chart=chart, reader=export.requested_by))
    return data


@shared_task
def record_export_build(export_id: str) -> str:
    export = RecordExport.objects.select_related("chart__client", "requested_by").filter(pk=export_id).first()
    if export is None or export.status != ExportStatus.PENDING:
        return "skipped"

    def progress(percent: int) -> None:
        RecordExport.objects.filter(pk=export.pk).update(progress=percent, status=ExportStatus.RUNNING)

    try:
        contents = _export_contents(export, progress=progress)
    except Exception:
        RecordExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED, finished_at=timezone.now())
        raise
    with transaction.atomic():
        export.refresh_from_db()
        export.payload = json.dumps(contents, indent=2)
        export.status = ExportStatus.READY
        export.progress = 100
        export.finished_at = timezone.now()
        export.save(update_fields=["payload", "status", "progress", "finished_at"])
        audit_record(
            action=Action.RECORD_EXPORT,
            actor=export.requested_by,
            context=context_of(AuditContext.background("task", "record_export_build")),
            target=export,
            subject_client_id=export.chart.client_id,
            details={"stage": "built"},
        )
    return "ready"
