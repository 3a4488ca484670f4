"""The door to a client's account: the chart's billing door (records.selectors, Need.BILLING)
decides who reaches it, and only the care team and the practice's admins change it. A client, or
a minor's guardian, reads their own account and changes nothing."""

from __future__ import annotations

from django.db.models import Max, QuerySet

from accounts.models import Practice, User
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


def keeper_required(access: Access, chart: ClientChart, what: str = "change an account") -> None:
    """NotAllowed unless the reader keeps the account (the care team, the practice's admins)."""
    if access not in KEEPERS:
        raise NotAllowed(f"Only the client's care team and the practice's admins {what}.",
                         target_type="billing.account", target_id=chart.pk)  # fmt: skip


def next_number(model: type[Invoice] | type[Claim], practice_id: int) -> int:
    """The practice's next invoice or claim number. Inside the caller's transaction, with the
    practice's row locked so two at once cannot take the same one."""
    Practice.objects.select_for_update().filter(pk=practice_id).first()
    return (model.objects.filter(practice_id=practice_id).aggregate(n=Max("number"))["n"] or 0) + 1


def account_get_for_user(*, user: User, chart_id: object, write: bool = False) -> tuple[ClientChart, Access]:
    """A client's account (their chart, for billing) and how the user reaches it; NotVisible when
    they do not, NotAllowed when they may read it but are asked to change it."""
    chart, access = chart_get_for_user(user=user, chart_id=chart_id, need=Need.BILLING)
    if write:
        keeper_required(access, chart)
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


def _through_account(user: User, found: Invoice | Claim | None, target_type: str, target_id: object) -> Access:
    """How the user reaches the account an invoice or claim belongs to; NotVisible, naming the
    invoice or claim, when there is none or they do not."""
    if found is None:
        raise NotVisible(target_type, target_id)
    try:
        _, access = chart_get_for_user(user=user, chart_id=found.chart_id, need=Need.BILLING)
    except NotVisible:
        raise NotVisible(target_type, target_id) from None
    return access


def invoice_get_for_user(*, user: User, invoice_id: object) -> tuple[Invoice, Access]:
    pk = as_uuid(invoice_id)
    invoice = Invoice.objects.filter(pk=pk).first() if pk else None
    access = _through_account(user, invoice, "billing.invoice", invoice_id)
    assert invoice is not None  # _through_account refused otherwise
    return invoice, access


def claim_get_for_user(*, user: User, claim_id: object) -> tuple[Claim, Access]:
    """A claim, for those who keep the client's account (a claim is the practice's business with
    an insurer; the client sees its effect on their balance)."""
    pk = as_uuid(claim_id)
    claim = Claim.objects.select_related("chart", "chart__client").filter(pk=pk).first() if pk else None
    access = _through_account(user, claim, "billing.claim", claim_id)
    if claim is None or access not in KEEPERS:
        raise NotVisible("billing.claim", claim_id)
    return claim, access
