"""Questionnaires (PHQ-9, GAD-7) assigned and answered, with a safety alert on a risk answer, and
the chart's billing lines.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from records import scoring
from records.billing_codes import MODIFIERS, PLACES, POLICY_FEES
from records.models import (
    Assessment,
    BillingRecord,
    BillingStatus,
    ClientChart,
)
from records.selectors import Access
from records.services.writing import CPT_PATTERN, ICD10_PATTERN, audit_write
from records.signals import questionnaire_needs_attention
from records.tasks import safety_alert_notify
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, NotAllowed, ServiceError

# Assessments -------------------------------------------------------------------------------


def assessment_assign(
    *, actor: User, chart: ClientChart, access: Access, kind: str, context: AuditContext | None
) -> Assessment:
    if access is not Access.CARE_TEAM:
        raise NotAllowed(
            "Only the care team assigns assessments.", target_type=chart._meta.label_lower, target_id=chart.pk
        )
    if kind not in scoring.ITEMS:
        raise ServiceError("Choose PHQ-9 or GAD-7.", field="kind")
    with transaction.atomic():
        assessment = Assessment(chart=chart, kind=kind, assigned_by=actor)
        assessment.save()
        audit_write(
            Action.ASSESSMENT_ASSIGN, actor=actor, context=context, target=assessment, client_id=chart.client_id
        )
    return assessment


def assessment_submit(
    *, actor: User, assessment: Assessment, answers: object, context: AuditContext | None
) -> scoring.Result:
    if assessment.chart.client_id != actor.pk:
        raise NotAllowed(
            "Only the client answers their assessment.",
            target_type=assessment._meta.label_lower,
            target_id=assessment.pk,
        )
    if not isinstance(answers, list):
        raise ServiceError("Answer every question.", field="answers")
    try:
        result = scoring.score(assessment.kind, answers)
    except scoring.ScoringError as error:
        raise ServiceError(str(error), field="answers") from None
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.completed_at is not None:
            raise ServiceError("This assessment is already complete.", code="completed")
        locked.answers = json.dumps(answers)
        locked.result = json.dumps(result.as_dict())
        locked.completed_at = timezone.now()
        locked.save(update_fields=["answers", "result", "completed_at"])
        audit_write(
            Action.ASSESSMENT_SUBMIT, actor=actor, context=context, target=locked, client_id=locked.chart.client_id
        )
        if result.self_harm_alert:
            chart = locked.chart
            transaction.on_commit(lambda: _needs_attention(chart, str(locked.pk)))
    return result


def _needs_attention(chart: ClientChart, assessment_id: str) -> None:
    """The care team hears at once: on their open pages, and by an e-mail that says nothing clinical."""
    questionnaire_needs_attention.send(sender=ClientChart, chart=chart)
    safety_alert_notify.delay(assessment_id)


# Billing -------------------------------------------------------------------------------------


def billing_create(
    *,
    actor: User,
    chart: ClientChart,
    access: Access,
    service_date: object,
    cpt_code: object,
    diagnosis_codes: object,
    fee: object,
    context: AuditContext | None,
) -> BillingRecord:
    if access not in (Access.CARE_TEAM, Access.ADMIN):
        raise NotAllowed(
            "Only the care team or an admin records billing.", target_type=chart._meta.label_lower, target_id=chart.pk
        )
    try:
        day = date.fromisoformat(str(service_date))
    except ValueError:
        raise ServiceError("Give the service date as YYYY-MM-DD.", field="service_date") from None
    cpt = str(cpt_code or "").strip().upper()
    if not CPT_PATTERN.match(cpt):
        raise ServiceError("A CPT code is five characters, such as 90834.", field="cpt_code")
    raw_codes = diagnosis_codes if isinstance(diagnosis_codes, list) else str(diagnosis_codes or "").split(",")
    codes = [str(c).strip().upper() for c in raw_codes if str(c).strip()]
    if not codes or len(codes) > 12 or not all(ICD10_PATTERN.match(c) for c in codes):
        raise ServiceError("Give one to twelve ICD-10-CM codes, such as F41.1.", field="diagnosis_codes")
    try:
        amount = Decimal(str(fee))
    except (InvalidOperation, ValueError):
        raise ServiceError("Give the fee as a number.", field="fee") from None
    if not amount.is_finite() or not Decimal("0") <= amount < Decimal("100000"):
        raise ServiceError("The fee must be between 0 and 99,999.99.", field="fee")
    with transaction.atomic():
        record = BillingRecord(
            chart=chart,
            service_date=day,
            cpt_code=cpt,
            diagnosis_codes=",".join(codes),
            fee=amount.quantize(Decimal("0.01")),
            created_by=actor,
        )
        record.save()
        audit_record(
            action=Action.BILLING_WRITE, actor=actor, context=context, target=record, subject_client_id=chart.client_id
        )
    return record


def billing_set_status(
    *, actor: User, record: BillingRecord, access: Access, status: str, context: AuditContext | None
) -> BillingRecord:
    if access not in (Access.ADMIN, Access.CARE_TEAM):
        raise NotAllowed(
            "Only the care team or an admin changes billing.", target_type=record._meta.label_lower, target_id=record.pk
        )
    if status not in BillingStatus.values:
        raise ServiceError("Unknown status.", field="status")
    if (
        status not in (BillingStatus.DRAFT, BillingStatus.VOID)
        and not record.diagnosis_codes
        and (record.cpt_code not in POLICY_FEES)
    ):
        raise ServiceError("Add the diagnoses before this charge leaves draft.", field="diagnosis_codes")
    with transaction.atomic():
        record.status = status
        record.save(update_fields=["status"])
        audit_record(
            action=Action.BILLING_WRITE,
            actor=actor,
            context=context,
            target=record,
            subject_client_id=record.chart.client_id,
            details={"status": status},
        )
    return record


def billing_adjust(
    *, actor: User, record: BillingRecord, access: Access, changes: dict[str, object], context: AuditContext | None
) -> BillingRecord:
    """The care team (or an admin) adjusts a draft charge before confirming it: the service, its
    modifier and place of service, units, fee and diagnoses. Once it has left draft it stands."""
    if access not in (Access.ADMIN, Access.CARE_TEAM):
        raise NotAllowed(
            "Only the care team or an admin changes billing.", target_type=record._meta.label_lower, target_id=record.pk
        )
    if record.status != BillingStatus.DRAFT:
        raise Conflict("Only a draft charge can be adjusted; this one has been submitted.")
    fields: dict[str, object] = {}
    if "cpt_code" in changes:
        cpt = str(changes["cpt_code"] or "").strip().upper()
        if not CPT_PATTERN.match(cpt):
            raise ServiceError("A CPT code is five characters, such as 90834.", field="cpt_code")
        fields["cpt_code"] = cpt
    if "modifier" in changes:
        modifier = str(changes["modifier"] or "").strip().upper()
        if modifier and modifier not in MODIFIERS:
            raise ServiceError("Choose the modifier from the list: 95, 93 or FQ.", field="modifier")
        fields["modifier"] = modifier
    if "place_of_service" in changes:
        place = str(changes["place_of_service"] or "").strip()
        if place and place not in PLACES:
            raise ServiceError("Choose the place of service: 10 (home) or 02 (elsewhere).", field="place_of_service")
        fields["place_of_service"] = place
    if "units" in changes:
        try:
            units = int(str(changes["units"]))
        except ValueError:
            units = 0
        if not 1 <= units <= 12:
            raise ServiceError("Units are 1 to 12.", field="units")
        fields["units"] = units
    if "fee" in changes:
        try:
            amount = Decimal(str(changes["fee"]))
        except (InvalidOperation, ValueError):
            raise ServiceError("Give the fee as a number.", field="fee") from None
        if not amount.is_finite() or not Decimal("0") <= amount < Decimal("100000"):
            raise ServiceError("The fee must be between 0 and 99,999.99.", field="fee")
        fields["fee"] = amount.quantize(Decimal("0.01"))
    if "diagnosis_codes" in changes:
        raw = changes["diagnosis_codes"]
        listed = raw if isinstance(raw, list) else str(raw or "").split(",")
        codes = [str(c).strip().upper() for c in listed if str(c).strip()]
        if len(codes) > 12 or not all(ICD10_PATTERN.match(c) for c in codes):
            raise ServiceError("Give up to twelve ICD-10-CM codes, such as F41.1.", field="diagnosis_codes")
        fields["diagnosis_codes"] = ",".join(codes)
    with transaction.atomic():
        for name, value in fields.items():
            setattr(record, name, value)
        if fields:
            record.save(update_fields=list(fields))
        audit_record(
            action=Action.BILLING_WRITE, actor=actor, context=context, target=record,
            subject_client_id=record.chart.client_id, details={"adjusted": sorted(fields)},
        )  # fmt: skip
    return record
