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
from django.utils import timezone

from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from records.billing_codes import BY_CODE, CATALOG, MODIFIERS, PLACES, POLICY_FEES, TAXONOMY, npi_valid, tax_id_valid
from records.models import BillingIdentity, BillingRecord, BillingStatus, ClientChart, ServiceCode, TherapistFee
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


def fee_amount(value: object, field: str) -> Decimal:
    """A fee as typed (150, 95.50): 0 to 99,999.99, to the cent; a clear error otherwise."""
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
    wanted = {code: fee_amount(value, f"fee_{code}") for code, value in fees.items() if code in BY_CODE}
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


def identity_of(*, practice_id: int, therapist: User | None = None) -> BillingIdentity:
    """The practice's billing identity, or a therapist's; an empty one when none is kept yet."""
    found = BillingIdentity.objects.filter(practice_id=practice_id, therapist=therapist).first()
    return found or BillingIdentity(practice_id=practice_id, therapist=therapist)


def identity_set(
    *, actor: User, therapist_id: object = None, context: AuditContext | None, **fields: object
) -> BillingIdentity:
    """An admin keeps the identifiers a superbill and a claim carry, for the practice
    (``therapist_id`` empty) or one of its therapists. Each is checked: the NPI by its check digit,
    the taxonomy by its form, the tax id as nine digits."""
    if not actor.has_role(Role.ADMIN):
        raise NotAllowed("Only a practice admin keeps the billing identifiers.",
                         target_type="records.billingidentity", target_id=actor.practice_id)  # fmt: skip
    therapist = None
    if therapist_id not in (None, ""):
        therapist = User.objects.filter(
            pk=_int(therapist_id), practice_id=actor.practice_id, role_grants__role=Role.THERAPIST
        ).first()
        if therapist is None:
            raise ServiceError("Choose a therapist of the practice.", field="therapist")
    npi = "".join(str(fields.get("npi") or "").split())
    if npi and not npi_valid(npi):
        raise ServiceError("An NPI is ten digits whose last checks the others; this one does not.", field="npi")
    taxonomy = str(fields.get("taxonomy") or "").strip().upper()
    if taxonomy and not TAXONOMY.fullmatch(taxonomy):
        raise ServiceError("A taxonomy code is ten characters ending in X, such as 101YM0800X.", field="taxonomy")
    raw_tax = str(fields.get("tax_id") or "").strip()
    tax = tax_id_valid(raw_tax) if raw_tax else ""
    if tax is None:
        raise ServiceError("A tax id is nine digits: an EIN (12-3456789) or a Social Security number.",
                           field="tax_id")  # fmt: skip
    licence = " ".join(str(fields.get("licence") or "").split())[:60]
    address = "\n".join(line.strip() for line in str(fields.get("address") or "").splitlines() if line.strip())[:300]
    with transaction.atomic():
        found = BillingIdentity.objects.select_for_update().filter(
            practice_id=actor.practice_id, therapist=therapist
        ).first() or BillingIdentity(practice_id=actor.practice_id, therapist=therapist)
        found.npi, found.taxonomy, found.tax_id, found.licence, found.address = npi, taxonomy, tax, licence, address
        found.updated_at = timezone.now()
        found.save()
        audit_record(action=Action.BILLING_SETTINGS_CHANGE, actor=actor, context=context, target=found,
                     details={"identifiers_of": "therapist" if therapist else "practice"})  # fmt: skip
    return found


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


def policy_fee_charge(
    *, chart: ClientChart, therapist: User, appointment_id: UUID, service_date: date, code: str, amount: Decimal,
    context: AuditContext | None,
) -> BillingRecord | None:  # fmt: skip
    """The practice's fee for a session not held (a no-show, a late cancellation), charged as the
    therapist said when cancelling it: confirmed at once (it was their choice), no diagnosis, no
    modifier, never on a claim. None if the session already carries this fee."""
    if code not in POLICY_FEES:
        raise ServiceError("A policy fee is a no-show or a late cancellation.")
    try:
        with transaction.atomic():
            record = BillingRecord.objects.create(
                chart=chart, service_date=service_date, cpt_code=code, fee=amount, diagnosis_codes="",
                status=BillingStatus.SUBMITTED, created_by=therapist, appointment_id=appointment_id,
            )  # fmt: skip
            audit_record(action=Action.BILLING_WRITE, actor=therapist, context=context, target=record,
                         subject_client_id=chart.client_id,
                         details={"policy_fee": code, "amount": str(amount)})  # fmt: skip
    except IntegrityError:
        return None
    return record
