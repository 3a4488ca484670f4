"""The door to a client's account: the chart's billing door (records.selectors, Need.BILLING)
decides who reaches it, and only the care team and the practice's admins change it. A client, or
a minor's guardian, reads their own account and changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import QuerySet

from accounts.models import User
from billing.models import Claim, Invoice
from records.models import BillingRecord, BillingStatus, ClientChart
from records.selectors import Access, Need, chart_get_for_user
from teletherapy.errors import NotAllowed, NotVisible
from teletherapy.ids import as_uuid

KEEPERS = frozenset({Access.CARE_TEAM, Access.ADMIN})
# A charge counts towards a balance once confirmed: not a draft, not void.
COUNTED = (BillingStatus.SUBMITTED, BillingStatus.PAID)


def charges_counted() -> QuerySet[BillingRecord]:
    return BillingRecord.objects.filter(status__in=COUNTED)


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1)


def account_get_for_user(*, user: User, chart_id: object, write: bool = False) -> tuple[ClientChart, Access]:
    """A client's account (their chart, for billing) and how the user reaches it; NotVisible when
    they do not, NotAllowed when they may read it but are asked to change it."""
    chart, access = chart_get_for_user(user=user, chart_id=chart_id, need=Need.BILLING)
    if write and access not in KEEPERS:
        raise NotAllowed(
            "Only the client's care team and the practice's admins change an account.",
            target_type="billing.account", target_id=chart.pk,
        )  # fmt: skip
    return chart, access


def own_account(*, user: User) -> ClientChart | None:
    """The client's own account (their chart, as its client reaches it), or None."""
    chart = ClientChart.objects.filter(client=user, practice_id=user.practice_id).first()
    if chart is None:
        return None
    try:
        found, access = chart_get_for_user(user=user, chart_id=chart.pk, need=Need.BILLING)
    except NotVisible:
        return None
    return found if access is Access.CLIENT else None


def invoice_get_for_user(*, user: User, invoice_id: object) -> tuple[Invoice, Access]:
    pk = as_uuid(invoice_id)
    invoice = Invoice.objects.filter(pk=pk).first() if pk else None
    if invoice is None:
        raise NotVisible("billing.invoice", invoice_id)
    try:
        _, access = chart_get_for_user(user=user, chart_id=invoice.chart_id, need=Need.BILLING)
    except NotVisible:
        raise NotVisible("billing.invoice", invoice_id) from None
    return invoice, access


def claim_get_for_user(*, user: User, claim_id: object) -> tuple[Claim, Access]:
    """A claim, for those who keep the client's account (a claim is the practice's business with
    an insurer; the client sees its effect on their balance)."""
    pk = as_uuid(claim_id)
    claim = Claim.objects.select_related("chart", "chart__client").filter(pk=pk).first() if pk else None
    if claim is None:
        raise NotVisible("billing.claim", claim_id)
    try:
        _, access = chart_get_for_user(user=user, chart_id=claim.chart_id, need=Need.BILLING)
    except NotVisible:
        raise NotVisible("billing.claim", claim_id) from None
    if access not in KEEPERS:
        raise NotVisible("billing.claim", claim_id)
    return claim, access
