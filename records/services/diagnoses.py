"""A chart's diagnoses: the care team adds an ICD-10-CM code (billable codes only), puts one
first (the primary), and resolves one when it no longer holds. Each change is audited."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from records.diagnoses import normalized
from records.models import ChartDiagnosis, ClientChart
from records.selectors import Access
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, NotAllowed, NotVisible, ServiceError
from teletherapy.ids import as_uuid

MOST = 12  # a claim carries at most twelve diagnoses


def _care_team_only(access: Access, chart: ClientChart) -> None:
    if access is not Access.CARE_TEAM:
        raise NotAllowed("Only the care team records diagnoses.", target_type=chart._meta.label_lower,
                         target_id=chart.pk)  # fmt: skip


def _day(value: object, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or ""))
    except ValueError:
        raise ServiceError("Give the date as YYYY-MM-DD.", field=field) from None


def diagnoses_of(chart: ClientChart, *, on: date | None = None) -> QuerySet[ChartDiagnosis]:
    """The chart's diagnoses, primary first; ``on``: only those in force that day."""
    found = ChartDiagnosis.objects.filter(chart=chart)
    if on is not None:
        found = found.filter(noted_on__lte=on).filter(Q(resolved_on__isnull=True) | Q(resolved_on__gt=on))
    return found.order_by("position", "created_at")


def diagnosis_add(
    *, actor: User, chart: ClientChart, access: Access, code: object, noted_on: object, context: AuditContext | None
) -> ChartDiagnosis:
    _care_team_only(access, chart)
    found = normalized(code)
    if found is None:
        raise ServiceError("Choose a billable ICD-10-CM code, such as F41.1.", field="code")
    day = _day(noted_on or timezone.localdate(), "noted_on")
    with transaction.atomic():
        ClientChart.objects.select_for_update().filter(pk=chart.pk).first()
        current = list(diagnoses_of(chart, on=timezone.localdate()))
        if any(d.code == found for d in current):
            raise Conflict(f"{found} is already on the chart.")
        if len(current) >= MOST:
            raise ServiceError(f"A chart holds at most {MOST} diagnoses in force; resolve one first.", field="code")
        made = ChartDiagnosis.objects.create(
            chart=chart, code=found, position=len(current), noted_on=day, added_by=actor
        )
        audit_record(action=Action.DIAGNOSIS_CHANGE, actor=actor, context=context, target=made,
                     subject_client_id=chart.client_id, details={"change": "added"})  # fmt: skip
    return made


def _one(chart: ClientChart, diagnosis_id: object) -> ChartDiagnosis:
    key = as_uuid(diagnosis_id)
    found = ChartDiagnosis.objects.select_for_update().filter(pk=key, chart=chart).first() if key else None
    if found is None:
        raise NotVisible("records.chartdiagnosis", diagnosis_id)
    return found


def diagnosis_resolve(
    *, actor: User, chart: ClientChart, access: Access, diagnosis_id: object, resolved_on: object,
    context: AuditContext | None,
) -> ChartDiagnosis:  # fmt: skip
    _care_team_only(access, chart)
    day = _day(resolved_on or timezone.localdate(), "resolved_on")
    with transaction.atomic():
        found = _one(chart, diagnosis_id)
        if found.resolved_on is not None:
            raise Conflict("This diagnosis is already resolved.")
        if day < found.noted_on:
            raise ServiceError("A diagnosis is resolved after it was made.", field="resolved_on")
        found.resolved_on = day
        found.save(update_fields=["resolved_on"])
        audit_record(action=Action.DIAGNOSIS_CHANGE, actor=actor, context=context, target=found,
                     subject_client_id=chart.client_id, details={"change": "resolved"})  # fmt: skip
    return found


def diagnosis_make_primary(
    *, actor: User, chart: ClientChart, access: Access, diagnosis_id: object, context: AuditContext | None
) -> ChartDiagnosis:
    _care_team_only(access, chart)
    with transaction.atomic():
        found = _one(chart, diagnosis_id)
        others = [d for d in diagnoses_of(chart).select_for_update() if d.pk != found.pk]
        for position, item in enumerate([found, *others]):
            if item.position != position:
                item.position = position
                item.save(update_fields=["position"])
        audit_record(action=Action.DIAGNOSIS_CHANGE, actor=actor, context=context, target=found,
                     subject_client_id=chart.client_id, details={"change": "made primary"})  # fmt: skip
    return found
