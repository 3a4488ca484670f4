"""Insurance: the client's coverage, and claims of their confirmed charges to it, whose state
the practice keeps by hand as the payer answers (draft, sent, accepted, paid or denied)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from billing.models import Claim, ClaimLine, ClaimStatus, Coverage, PaymentMethod
from billing.selectors import charges_counted, keeper_required, next_number
from billing.services.ledger import ZERO, amount_of, day_of, payment_record
from records.billing_codes import POLICY_FEES
from records.models import BillingRecord, ClientChart
from records.selectors import Access
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, ServiceError

PAYER_ID = re.compile(r"[A-Za-z0-9]{2,20}")
MEMBER_ID = re.compile(r"[A-Za-z0-9-]{2,30}")
# Where a claim may go next, as a payer answers: sent, then accepted (or denied), then paid (or
# denied); a denied claim may be sent again once corrected.
NEXT = {
    ClaimStatus.DRAFT: {ClaimStatus.SENT},
    ClaimStatus.SENT: {ClaimStatus.ACCEPTED, ClaimStatus.DENIED, ClaimStatus.PAID},
    ClaimStatus.ACCEPTED: {ClaimStatus.PAID, ClaimStatus.DENIED},
    ClaimStatus.DENIED: {ClaimStatus.SENT},
    ClaimStatus.PAID: set(),
}


def coverage_set(
    *, actor: User, chart: ClientChart, access: Access, payer_name: object, payer_id: object, member_id: object,
    group_number: object = "", sex: object = "U", context: AuditContext | None,
) -> Coverage:  # fmt: skip
    """The client's insurance as a claim names it; the client is the insured."""
    keeper_required(access, chart, "keep a client's insurance")
    name = " ".join(str(payer_name or "").split())
    if not 2 <= len(name) <= 60:
        raise ServiceError("Give the insurer's name, as on the card.", field="payer_name")
    payer = str(payer_id or "").strip().upper()
    if not PAYER_ID.fullmatch(payer):
        raise ServiceError("A payer id is 2 to 20 letters and digits (the insurer's electronic id).", field="payer_id")
    member = str(member_id or "").strip().upper()
    if not MEMBER_ID.fullmatch(member):
        raise ServiceError("A member id is 2 to 30 letters, digits and dashes, as on the card.", field="member_id")
    group = str(group_number or "").strip().upper()
    if group and not MEMBER_ID.fullmatch(group):
        raise ServiceError("A group number is 2 to 30 letters, digits and dashes.", field="group_number")
    if sex not in ("F", "M", "U"):
        raise ServiceError("Choose F, M or U (unknown), as the insurer has it.", field="sex")
    with transaction.atomic():
        found = Coverage.objects.select_for_update().filter(chart=chart).first() or Coverage(chart=chart)
        found.payer_name, found.payer_id, found.member_id, found.group_number = name, payer, member, group
        found.sex, found.updated_at = str(sex), timezone.now()
        found.save()
        audit_record(action=Action.COVERAGE_CHANGE, actor=actor, context=context, target=found,
                     subject_client_id=chart.client_id, details={"payer_id": payer})  # fmt: skip
    return found


def claimable(chart: ClientChart) -> list[BillingRecord]:
    """The client's confirmed charges that no live claim holds (one denied may be claimed again)."""
    held = ClaimLine.objects.filter(charge__chart=chart).exclude(claim__status=ClaimStatus.DENIED)
    found = charges_counted().filter(chart=chart).exclude(pk__in=held.values("charge_id"))
    return list(found.exclude(cpt_code__in=POLICY_FEES).order_by("service_date"))


def claim_make(
    *, actor: User, chart: ClientChart, access: Access, charge_ids: Sequence[object], context: AuditContext | None
) -> Claim:
    """A draft claim of the chosen charges: confirmed, of this client, held by no live claim, each
    with its diagnoses, and all rendered by one therapist (a claim names one rendering provider)."""
    keeper_required(access, chart, "make claims")
    if not Coverage.objects.filter(chart=chart).exists():
        raise ServiceError("Record the client's insurance before making a claim.", field="coverage")
    wanted = {str(c) for c in charge_ids}
    charges = [c for c in claimable(chart) if str(c.pk) in wanted]
    if not charges or len(charges) != len(wanted):
        raise ServiceError("Choose confirmed charges of this client that no claim holds yet.", field="charges")
    if len(charges) > 50:
        raise ServiceError("A claim holds at most 50 services.", field="charges")
    if any(not c.diagnosis_codes for c in charges):
        raise ServiceError("Each service on a claim needs its diagnoses.", field="charges")
    if len({c.created_by_id for c in charges}) > 1:
        raise ServiceError("A claim is for one therapist's services: make one claim per therapist.", field="charges")
    with transaction.atomic():
        number = next_number(Claim, chart.practice_id)
        claim = Claim.objects.create(practice_id=chart.practice_id, chart=chart, number=number,
                                     total=sum((c.fee for c in charges), ZERO), created_by=actor)  # fmt: skip
        ClaimLine.objects.bulk_create([ClaimLine(claim=claim, charge=c) for c in charges])
        audit_record(action=Action.CLAIM_CHANGE, actor=actor, context=context, target=claim,
                     subject_client_id=chart.client_id,
                     details={"made": number, "charges": len(charges), "total": str(claim.total)})  # fmt: skip
    return claim


def claim_charges(claim: Claim) -> list[BillingRecord]:
    return list(
        BillingRecord.objects.filter(claim_lines__claim=claim).select_related("created_by").order_by("service_date")
    )


def claim_move(
    *, actor: User, claim: Claim, access: Access, status: object, on: object, paid_amount: object = None,
    payer_reference: object = "", note: object = "", context: AuditContext | None,
) -> Claim:  # fmt: skip
    """Record the payer's answer: the claim's next state and its day. A claim marked paid with an
    amount records the insurer's payment on the client's account, with the payer's reference."""
    keeper_required(access, claim.chart, "change a claim")
    if status not in ClaimStatus.values:
        raise ServiceError("Choose sent, accepted, paid or denied.", field="status")
    day: date = day_of(on, "on")
    reference = " ".join(str(payer_reference or "").split())[:80]
    why = " ".join(str(note or "").split())[:300]
    paid = (
        amount_of(paid_amount, "paid_amount") if status == ClaimStatus.PAID and paid_amount not in (None, "") else None
    )
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        if status not in NEXT[ClaimStatus(locked.status)]:
            raise Conflict(f"A {locked.get_status_display().lower()} claim cannot become {status}.", code="claim_state")
        locked.status = status
        setattr(locked, f"{status}_on", day)
        if reference:
            locked.payer_reference = reference
        if why:
            locked.note = why
        if paid is not None:
            locked.paid_amount = paid
        locked.save()
        audit_record(action=Action.CLAIM_CHANGE, actor=actor, context=context, target=locked,
                     subject_client_id=locked.chart.client_id, details={"status": status})  # fmt: skip
        if paid is not None:
            payment_record(actor=actor, chart=locked.chart, access=access, amount=paid,
                           method=PaymentMethod.INSURANCE, received_on=day, reference=reference, claim=locked,
                           context=context)  # fmt: skip
    return locked
