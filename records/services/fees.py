"""The practice's services and fees, and charges drafted from what happened in a session.

Every practice has the psychotherapy services of ``records.billing_codes.CATALOG``, each with the
practice's fee (0 until an admin sets it) and, over it, a therapist's own fee where they keep one.
A charge drafted from a session is a draft billing record like any other: the care team confirms
or adjusts it, and the client sees it only once it is no longer a draft."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from records.billing_codes import BY_CODE, CATALOG, MODIFIERS, PLACES
from records.models import BillingRecord, BillingStatus, ClientChart, ServiceCode, TherapistFee
from records.services.diagnoses import diagnoses_of
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError


def service_codes_of(practice_id: int) -> QuerySet[ServiceCode]:
    """The practice's services, made from the catalog the first time they are asked for."""
    found = ServiceCode.objects.filter(practice_id=practice_id)
    if found.count() < len(CATALOG):
        ServiceCode.objects.bulk_create(
            [ServiceCode(practice_id=practice_id, code=s.code, description=s.description) for s in CATALOG],
            ignore_conflicts=True,
        )
    return ServiceCode.objects.filter(practice_id=practice_id)


def fee_for(*, therapist: User, code: str) -> Decimal:
    """What ``therapist`` charges for ``code``: their own fee, else the practice's (0 if unset)."""
    service = service_codes_of(therapist.practice_id).filter(code=code).first()
    if service is None:
        return Decimal("0.00")
    own = TherapistFee.objects.filter(therapist=therapist, service=service).first()
    return own.fee if own is not None else service.fee


def _amount(value: object, field: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip() or "0")
    except (InvalidOperation, ValueError):
        raise ServiceError("Give each fee as a number, such as 150 or 95.50.", field=field) from None
    if not amount.is_finite() or not Decimal("0") <= amount < Decimal("100000"):
        raise ServiceError("A fee is between 0 and 99,999.99.", field=field)
    return amount.quantize(Decimal("0.01"))


def fees_set(*, actor: User, fees: Mapping[str, object], context: AuditContext | None) -> int:
    """An admin sets the practice's fee for each service (``{code: fee}``); returns how many changed."""
    if not actor.has_role(Role.ADMIN):
        raise NotAllowed("Only a practice admin sets the practice's fees.", target_type="records.servicecode",
                         target_id=actor.practice_id)  # fmt: skip
    wanted = {code: _amount(value, f"fee_{code}") for code, value in fees.items() if code in BY_CODE}
    changed = 0
    with transaction.atomic():
        for service in service_codes_of(actor.practice_id).select_for_update():
            if service.code in wanted and wanted[service.code] != service.fee:
                service.fee = wanted[service.code]
                service.save(update_fields=["fee"])
                changed += 1
        audit_record(action=Action.BILLING_SETTINGS_CHANGE, actor=actor, context=context,
                     target_type="records.servicecode", target_id=actor.practice_id,
                     details={"fees_changed": changed})  # fmt: skip
    return changed


def charge_draft(
    *, chart: ClientChart, therapist: User, appointment_id: UUID, service_date: date, code: str, minutes: int,
    modifier: str, place_of_service: str, context: AuditContext | None,
) -> BillingRecord | None:  # fmt: skip
    """Draft the charge for one session on the client's chart: the code the session met, its fee,
    the chart's diagnoses in force that day (else those of its latest charge; the therapist confirms
    them). None if the session
    already has its charge."""
    if code not in BY_CODE or modifier not in MODIFIERS or place_of_service not in PLACES:
        raise ServiceError("A charge names a known service, modifier and place of service.")
    in_force = [d.code for d in diagnoses_of(chart, on=service_date)]
    latest = next(
        (b for b in BillingRecord.objects.filter(chart=chart).order_by("-service_date", "-created_at")[:20]
         if b.diagnosis_codes),
        None,
    )  # fmt: skip
    codes = ",".join(in_force) if in_force else (latest.diagnosis_codes if latest else "")
    try:
        with transaction.atomic():
            record = BillingRecord.objects.create(
                chart=chart, service_date=service_date, cpt_code=code, fee=fee_for(therapist=therapist, code=code),
                diagnosis_codes=codes, status=BillingStatus.DRAFT,
                created_by=therapist, appointment_id=appointment_id, minutes=minutes, modifier=modifier,
                place_of_service=place_of_service,
            )  # fmt: skip
            audit_record(
                action=Action.BILLING_WRITE, actor=therapist, context=context, target=record,
                subject_client_id=chart.client_id,
                details={"drafted_from_session": True, "cpt": code, "minutes": minutes, "modifier": modifier},
            )  # fmt: skip
    except IntegrityError:
        return None
    return record
