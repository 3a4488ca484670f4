from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from records.models import EmergencyAccess, ExportStatus, RecordExport
from teletherapy.context import AuditContext


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
    from records.models import Assessment

    assessment = Assessment.objects.select_related("chart").filter(pk=assessment_id).first()
    if assessment is None:
        return 0
    team = list(assessment.chart.care_team.filter(is_active=True).values_list("email", flat=True))
    link = (settings.SITE_URL or "").rstrip("/") + reverse("records:chart", args=[assessment.chart_id])
    if team:
        send_mail(
            subject="A questionnaire needs your attention",
            message=f"A questionnaire needs your attention. Open it on the platform:\n\n{link}\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=team,
        )
    return len(team)


# Higher layers add their part of a client's copy here at start-up (sessions: the appointments).
EXPORT_SECTIONS: dict[str, Callable[[Any], list[dict[str, object]]]] = {}


def _export_contents(export: RecordExport, *, progress: Callable[[int], None]) -> dict[str, object]:
    from consent.models import ConsentSignature
    from records.selectors import Access, billing_visible

    chart = export.chart
    access = Access.CLIENT if export.requested_by_id == chart.client_id else Access.GUARDIAN
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
    include_clinical = access is Access.CLIENT or chart.guardian_sees_notes
    notes = []
    if include_clinical:
        for note in chart.notes.filter(signed_at__isnull=False).prefetch_related("addenda"):
            notes.append(
                {
                    "template": note.template,
                    "service_date": note.service_date.isoformat(),
                    "minutes": note.minutes,
                    "signed_at": note.signed_at.isoformat() if note.signed_at else None,
                    "sections": json.loads(note.body),
                    "addenda": [{"signed_at": a.signed_at.isoformat(), "text": a.body} for a in note.addenda.all()],
                }
            )
    # Every signed note is included, shared or not: it is the client's record.
    data["progress_notes"] = notes
    progress(50)
    data["assessments"] = (
        [
            {
                "kind": a.kind,
                "completed_at": a.completed_at.isoformat() if a.completed_at else None,
                "result": json.loads(a.result),
            }
            for a in chart.assessments.filter(completed_at__isnull=False)
        ]
        if include_clinical
        else []
    )
    data["billing"] = [
        {
            "service_date": b.service_date.isoformat(),
            "cpt_code": b.cpt_code,
            "diagnosis_codes": b.diagnosis_codes.split(","),
            "fee": str(b.fee),
            "status": b.status,
        }
        for b in billing_visible(chart=chart, access=access)
    ]
    progress(75)
    for name, section in EXPORT_SECTIONS.items():
        data[name] = section(chart.client)
    data["consent_signatures"] = [
        {"kind": s.kind, "version": s.version_number, "sha256": s.version_sha256, "signed_at": s.signed_at.isoformat()}
        for s in ConsentSignature.objects.filter(on_behalf_of=chart.client)
    ]
    return data


@shared_task
def record_export_build(export_id: str) -> str:
    export = RecordExport.objects.select_related("chart__client").filter(pk=export_id).first()
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
            request=AuditContext.background("task", "record_export_build"),
            target=export,
            subject_client_id=export.chart.client_id,
            details={"stage": "built"},
        )
    return "ready"
