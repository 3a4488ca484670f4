"""Reaching a chart outside the care team's daily work: emergency access (loud, time-limited, a
second admin told), and a client's right of access to a copy of their record.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.duties import confirmation_missing
from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from records.models import (
    ClientChart,
    EmergencyAccess,
    RecordExport,
)
from records.selectors import Access
from records.services.writing import clean_text
from records.tasks import emergency_access_notify, record_export_build
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError

EMERGENCY_MINUTES = 60
EMERGENCY_REASON_MIN = 20


# Emergency access --------------------------------------------------------------------------


def emergency_access_start(
    *, actor: User, chart: ClientChart, reason: str, context: AuditContext | None
) -> EmergencyAccess:
    if not actor.has_role(Role.THERAPIST) or chart.practice_id != actor.practice_id:
        raise NotAllowed(
            "Only a therapist of this practice can use emergency access.",
            target_type=chart._meta.label_lower,
            target_id=chart.pk,
        )
    if actor.has_role(Role.ADMIN):
        raise NotAllowed(
            "An account that holds the admin role cannot use emergency access, whatever its other roles.",
            target_type=chart._meta.label_lower,
            target_id=chart.pk,
        )
    if chart.care_team.filter(pk=actor.pk).exists():
        raise ServiceError("You are on this client's care team already.", code="not_needed")
    if confirmation_missing(actor):
        raise NotAllowed(
            "A second admin of the practice must confirm your account before you can use emergency access. "
            "Ask an admin other than the one who invited you.",
            target_type=chart._meta.label_lower,
            target_id=chart.pk,
        )
    text = clean_text(reason, field="reason", limit=1000, required=True).strip()
    if len(text) < EMERGENCY_REASON_MIN:
        raise ServiceError(f"Explain the emergency in at least {EMERGENCY_REASON_MIN} characters.", field="reason")
    with transaction.atomic():
        access = EmergencyAccess(
            chart=chart, therapist=actor, reason=text, expires_at=timezone.now() + timedelta(minutes=EMERGENCY_MINUTES)
        )
        access.save()
        audit_record(
            action=Action.EMERGENCY_ACCESS,
            actor=actor,
            context=context,
            target=chart,
            subject_client_id=chart.client_id,
            flagged=True,
            details={"minutes": EMERGENCY_MINUTES, "emergency_access_id": str(access.pk)},
        )

        transaction.on_commit(lambda: emergency_access_notify.delay(str(access.pk)))
    return access


# Right of access ---------------------------------------------------------------------------


def export_request(*, actor: User, chart: ClientChart, access: Access, context: AuditContext | None) -> RecordExport:
    if access not in (Access.CLIENT, Access.GUARDIAN):
        raise NotAllowed(
            "A client, or a minor's guardian, requests their own copy.",
            target_type=chart._meta.label_lower,
            target_id=chart.pk,
        )
    with transaction.atomic():
        export = RecordExport(chart=chart, requested_by=actor)
        export.save()
        audit_record(
            action=Action.RECORD_EXPORT,
            actor=actor,
            context=context,
            target=export,
            subject_client_id=chart.client_id,
            details={"stage": "requested"},
        )

        transaction.on_commit(lambda: record_export_build.delay(str(export.pk)))
    return export
