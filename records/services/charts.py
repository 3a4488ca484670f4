"""Charts: made, changed (locked, with a version check), and found by date of birth through a
blind index; each write audited in the same transaction."""

from __future__ import annotations

import json
from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from records.models import (
    ClientChart,
)
from records.selectors import Access
from records.services.writing import MAX_TEXT_CHARS, clean_text
from teletherapy.blind_index import blind_index
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError

# Charts ----------------------------------------------------------------------------------


def chart_create(
    *,
    actor: User | None,
    client: User,
    therapists: list[User],
    is_minor: bool = False,
    context: AuditContext | None = None,
) -> ClientChart:
    if not client.has_role(Role.CLIENT):
        raise ServiceError("A chart belongs to a client.")
    for therapist in therapists:
        if therapist.practice_id != client.practice_id or not therapist.has_role(Role.THERAPIST):
            raise ServiceError("The care team is made of therapists of this practice.")
    with transaction.atomic():
        chart, created = ClientChart.objects.get_or_create(
            client=client, defaults={"practice_id": client.practice_id, "is_minor": is_minor}
        )
        chart.care_team.add(*therapists)
        audit_record(
            action=Action.CHART_UPDATE,
            actor=actor,
            context=context,
            target=chart,
            practice_id=client.practice_id,
            subject_client_id=client.pk,
            details={"created": created, "care_team_added": len(therapists)},
        )
    return chart


CHART_FIELDS = ("date_of_birth", "phone", "address", "emergency_contact")


def chart_update(
    *, actor: User, chart: ClientChart, access: Access, data: dict[str, object], context: AuditContext | None
) -> ClientChart:
    if access is not Access.CARE_TEAM:
        raise NotAllowed("Only the care team changes a chart.", target_type=chart._meta.label_lower, target_id=chart.pk)
    changes: dict[str, object] = {}
    for name in CHART_FIELDS:
        if name in data:
            changes[name] = clean_text(data[name], field=name, limit=500)
    if changes.get("date_of_birth"):
        try:
            born = date.fromisoformat(str(changes["date_of_birth"]))
        except ValueError:
            raise ServiceError("Give the date of birth as YYYY-MM-DD.", field="date_of_birth") from None
        if not date(1900, 1, 1) <= born <= timezone.localdate():
            raise ServiceError("That date of birth is not plausible.", field="date_of_birth")
        changes["date_of_birth"] = born.isoformat()
    for flag in ("is_minor", "guardian_sees_notes"):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise ServiceError("Choose yes or no.", field=flag)
            changes[flag] = data[flag]
    if "intake" in data:
        if not isinstance(data["intake"], dict) or len(json.dumps(data["intake"])) > MAX_TEXT_CHARS:
            raise ServiceError("Intake answers are a small set of question/answer pairs.", field="intake")
        changes["intake"] = json.dumps(data["intake"])
    with transaction.atomic():
        locked = ClientChart.objects.select_for_update().get(pk=chart.pk)
        details: dict[str, object] = {"fields": ",".join(sorted(changes))}
        if "is_minor" in changes and changes["is_minor"] != locked.is_minor:
            # Marking a chart adult ends every guardian's authority at once (accounts.selectors).
            details["marked"] = "minor" if changes["is_minor"] else "adult"
        for name, value in changes.items():
            setattr(locked, name, value)
        if "date_of_birth" in changes:
            locked.date_of_birth_index = blind_index(str(changes["date_of_birth"])) if changes["date_of_birth"] else ""
        locked.updated_at = timezone.now()
        locked.save()
        audit_record(
            action=Action.CHART_UPDATE,
            actor=actor,
            context=context,
            target=locked,
            subject_client_id=locked.client_id,
            details=details,
        )
    return locked


def charts_find_by_date_of_birth(*, actor: User, date_of_birth: str) -> list[ClientChart]:
    """Equality lookup through the blind index; only the actor's own care-team charts."""
    try:
        born = date.fromisoformat(date_of_birth).isoformat()
    except ValueError:
        raise ServiceError("Give the date as YYYY-MM-DD.", field="date_of_birth") from None
    return list(ClientChart.objects.filter(care_team=actor, date_of_birth_index=blind_index(born)))
