"""A client's account: charges less what was paid, adjusted and written off.

A charge counts once it is confirmed (not a draft, not void), on its date of service. A payment
counts on the day it was received, an adjustment or write-off on the day it was made. The balance
on a day is the sum of everything dated up to it; a statement is a month's part of that story,
opening with the balance before it. The aging view spends each account's credits on its oldest
charges first and sorts what is left by how long it has been owed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import DecimalField, F, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from billing.models import Adjustment, AdjustmentKind, Claim, Payment, PaymentMethod
from billing.selectors import charges_counted, keeper_required
from records.billing_codes import BY_CODE, POLICY_FEES
from records.models import ClientChart
from records.selectors import Access
from records.superbill import month_range
from teletherapy.context import AuditContext
from teletherapy.errors import ServiceError

ZERO = Decimal("0.00")
BUCKETS = ("0 to 30 days", "31 to 60 days", "61 to 90 days", "Over 90 days")


def amount_of(value: object, field: str, *, signed: bool = False) -> Decimal:
    """A sum of money as a person typed it (150, 95.50, 1,200.00); positive unless ``signed``."""
    text = str(value if value is not None else "").strip().replace(",", "")
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ServiceError("Give the amount as a number, such as 150 or 95.50.", field=field) from None
    if not amount.is_finite() or abs(amount) >= Decimal("1000000") or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ServiceError("An amount is under 1,000,000, with at most two decimals.", field=field)
    if amount == 0 or (amount < 0 and not signed):
        raise ServiceError("The amount must be more than 0." if not signed else "The amount cannot be 0.", field=field)
    return amount.quantize(Decimal("0.01"))


def day_of(value: object, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ServiceError("Give the date as YYYY-MM-DD.", field=field) from None


# Balances -----------------------------------------------------------------------------------------

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def _sums(rows: QuerySet[Any], key: str, amount: Any) -> dict[UUID, Decimal]:
    found = rows.values(key).annotate(total=Coalesce(Sum(amount), ZERO, output_field=_MONEY))
    return {row[key]: Decimal(row["total"]) for row in found}


# Each kind of row and the field it is dated by.
DATED = (("charges", "service_date"), ("payments", "received_on"), ("adjustments", "made_on"))


def _rows(*, charts: Iterable[UUID] | None = None, practice_id: int | None = None, start: date | None = None,
          before: date | None = None, through: date | None = None) -> list[QuerySet[Any]]:  # fmt: skip
    """Confirmed charges, payments and adjustments, in that order, narrowed alike: to some
    charts or a practice, and by their own dates (from ``start``, before ``before``, up to and
    including ``through``)."""
    found: list[QuerySet[Any]] = [charges_counted(), Payment.objects.all(), Adjustment.objects.all()]
    ids = list(charts) if charts is not None else None
    for i, (_, dated) in enumerate(DATED):
        rows = found[i]
        if ids is not None:
            rows = rows.filter(chart_id__in=ids)
        if practice_id is not None:
            rows = rows.filter(chart__practice_id=practice_id)
        for bound, lookup in ((start, "gte"), (before, "lt"), (through, "lte")):
            if bound is not None:
                rows = rows.filter(**{f"{dated}__{lookup}": bound})
        found[i] = rows.order_by()
    return found


def balances(*, charts: Iterable[UUID] | None = None, practice_id: int | None = None,
             through: date | None = None, before: date | None = None) -> dict[UUID, Decimal]:  # fmt: skip
    """Each account's balance, from three grouped sums (charges, payments, adjustments), over
    the given charts or a whole practice, counting what is dated ``through`` a day or ``before``
    one. Accounts with nothing are left out."""
    charges, payments, adjustments = _rows(charts=charts, practice_id=practice_id, through=through, before=before)
    total: dict[UUID, Decimal] = defaultdict(lambda: ZERO)
    for chart_id, amount in _sums(charges, "chart_id", F("fee")).items():
        total[chart_id] += amount
    for chart_id, amount in _sums(payments, "chart_id", F("amount")).items():
        total[chart_id] -= amount
    for chart_id, amount in _sums(adjustments, "chart_id", F("amount")).items():
        total[chart_id] -= amount
    return dict(total)


def balance_of(chart: ClientChart, *, through: date | None = None) -> Decimal:
    return balances(charts=[chart.pk], through=through).get(chart.pk, ZERO)


# Activity and statements ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of an account's story: a charge raises the balance (``amount`` > 0), a payment,
    adjustment or write-off lowers it (< 0; a refund handed back raises it)."""

    on: date
    kind: str  # charge, payment, adjustment, write_off
    text: str
    amount: Decimal
    order: tuple[Any, ...] = field(default=(), compare=False)


def _charge_entry(on: date, code: str, modifier: str, units: int, fee: Decimal, at: Any) -> Entry:
    billed = f"{code}-{modifier}" if modifier else code
    known = BY_CODE.get(code)
    text = POLICY_FEES.get(code) or (f"{known.description} ({billed})" if known else f"Service {billed}")
    return Entry(on, "charge", text + (f", {units} units" if units > 1 else ""), fee, (on, 0, at))


_PAID = {
    "cash": "Payment, cash",
    "cheque": "Payment, cheque",
    "card": "Payment, card",
    "insurance": "Insurance payment",
}


def _payment_entry(on: date, method: str, amount: Decimal, at: Any) -> Entry:
    return Entry(on, "payment", _PAID.get(method, "Payment"), -amount, (on, 1, at))


def _adjustment_entry(on: date, kind: str, amount: Decimal, at: Any) -> Entry:
    text = "Write-off" if kind == AdjustmentKind.WRITE_OFF else "Adjustment"
    return Entry(on, kind, text, -amount, (on, 2, at))


def activity(*, charts: list[UUID], start: date | None = None, after: date | None = None) -> dict[UUID, list[Entry]]:
    """The accounts' entries dated from ``start`` to before ``after``, oldest first, each chart's
    apart: three queries, whatever the number of charts. The reasons of adjustments stay sealed
    (a statement says what kind of change it was, not why)."""
    charges, payments, adjustments = _rows(charts=charts, start=start, before=after)
    found: dict[UUID, list[Entry]] = {chart_id: [] for chart_id in charts}
    # Plain rows, not model instances: a practice's month is thousands of them.
    fields = ("chart_id", "service_date", "cpt_code", "modifier", "units", "fee", "created_at")
    for chart_id, *row in charges.values_list(*fields):
        found[chart_id].append(_charge_entry(*row))
    for chart_id, *row in payments.values_list("chart_id", "received_on", "method", "amount", "recorded_at"):
        found[chart_id].append(_payment_entry(*row))
    for chart_id, *row in adjustments.values_list("chart_id", "made_on", "kind", "amount", "recorded_at"):
        found[chart_id].append(_adjustment_entry(*row))
    for entries in found.values():
        entries.sort(key=lambda e: e.order)
    return found


@dataclass
class Statement:
    chart_id: UUID
    month: date
    opening: Decimal
    entries: list[Entry]

    @property
    def closing(self) -> Decimal:
        return self.opening + sum((e.amount for e in self.entries), ZERO)

    @property
    def charged(self) -> Decimal:
        return sum((e.amount for e in self.entries if e.amount > 0), ZERO)

    @property
    def credited(self) -> Decimal:
        return -sum((e.amount for e in self.entries if e.amount < 0), ZERO)


def statements(*, charts: list[UUID], month: date) -> list[Statement]:
    """The month's statement of each account: six queries in all, whatever their number."""
    first, after = month_range(month)
    opening = balances(charts=charts, before=first)
    entries = activity(charts=charts, start=first, after=after)
    return [Statement(chart_id, first, opening.get(chart_id, ZERO), entries[chart_id]) for chart_id in charts]


def statement_of(chart: ClientChart, month: date) -> Statement:
    return statements(charts=[chart.pk], month=month)[0]


def months_with_activity(chart: ClientChart) -> list[date]:
    """The months a statement can be had for, newest first: those with any entry."""
    found = {e.on.replace(day=1) for e in activity(charts=[chart.pk])[chart.pk]}
    return sorted(found, reverse=True)


# Aging --------------------------------------------------------------------------------------------


@dataclass
class Aged:
    chart_id: UUID
    buckets: list[Decimal]
    credit: Decimal  # paid ahead: what is left of the credits once every charge is covered

    @property
    def owed(self) -> Decimal:
        return sum(self.buckets, ZERO)


def aging(*, practice_id: int, today: date, charts: list[UUID] | None = None) -> list[Aged]:
    """What each account owes, by how long: its credits (payments, and adjustments that lower it)
    go to its oldest charges first; what remains of each charge is aged from its date of service.
    An adjustment that raises a balance (a refund) is aged like a charge from the day it was made."""
    debts: dict[UUID, list[tuple[date, Decimal]]] = defaultdict(list)
    credits: dict[UUID, Decimal] = defaultdict(lambda: ZERO)
    charges, payments, adjustments = _rows(charts=charts, practice_id=practice_id, through=today)
    for chart_id, on, fee in charges.values_list("chart_id", "service_date", "fee"):
        debts[chart_id].append((on, fee))
    for chart_id, amount in _sums(payments, "chart_id", F("amount")).items():
        credits[chart_id] += amount
    for chart_id, on, amount in adjustments.values_list("chart_id", "made_on", "amount"):
        if amount > 0:
            credits[chart_id] += amount
        else:
            debts[chart_id].append((on, -amount))
    return [
        aged(chart_id, debts[chart_id], credits[chart_id], today)
        for chart_id in sorted(set(debts) | set(credits), key=str)
    ]


def aged(chart_id: UUID, debts: list[tuple[date, Decimal]], credit: Decimal, today: date) -> Aged:
    """One account's aging: ``credit`` spent on ``debts`` oldest first, what is left of each sorted
    by its age on ``today``; what is left of the credit is the account's credit."""
    left = credit
    buckets = [ZERO, ZERO, ZERO, ZERO]
    for on, owed in sorted(debts):
        spent = min(left, owed)
        left -= spent
        if owed > spent:
            age = (today - on).days
            buckets[0 if age <= 30 else 1 if age <= 60 else 2 if age <= 90 else 3] += owed - spent
    return Aged(chart_id, buckets, left)


def paid_by_charge(chart: ClientChart) -> dict[UUID, Decimal]:
    """What has been paid of each confirmed charge: the payments received, spent on the oldest
    charges first (as the aging view spends them)."""
    left = sum((p.amount for p in Payment.objects.filter(chart=chart).only("amount")), ZERO)
    paid: dict[UUID, Decimal] = {}
    for charge in (
        charges_counted().filter(chart=chart).order_by("service_date", "created_at").only("fee", "service_date")
    ):
        paid[charge.pk] = min(left, charge.fee)
        left -= paid[charge.pk]
    return paid


# Writes -------------------------------------------------------------------------------------------


def payment_record(
    *, actor: User, chart: ClientChart, access: Access, amount: object, method: object, received_on: object,
    reference: object = "", claim: Claim | None = None, context: AuditContext | None,
) -> Payment:  # fmt: skip
    """Money received for the client's account, by hand: cash, a cheque, a card taken on a
    terminal elsewhere (its processor's reference kept), or an insurer's payment (with the
    remittance's reference, and the claim it pays)."""
    keeper_required(access, chart)
    value = amount_of(amount, "amount")
    if method not in PaymentMethod.values:
        raise ServiceError("Choose how it was paid: cash, cheque, card or insurance.", field="method")
    day = day_of(received_on, "received_on")
    text = " ".join(str(reference or "").split())
    if len(text) > 80:
        raise ServiceError("A reference is at most 80 characters.", field="reference")
    if claim is not None and (claim.chart_id != chart.pk or method != PaymentMethod.INSURANCE):
        raise ServiceError("Only an insurance payment pays a claim, and only a claim of this client.", field="claim")
    with transaction.atomic():
        payment = Payment.objects.create(chart=chart, amount=value, method=method, reference=text, received_on=day,
                                         claim=claim, recorded_by=actor)  # fmt: skip
        audit_record(action=Action.PAYMENT_RECORD, actor=actor, context=context, target=payment,
                     subject_client_id=chart.client_id, details={"method": method, "amount": str(value)})  # fmt: skip
    return payment


def adjustment_make(
    *, actor: User, chart: ClientChart, access: Access, kind: object, amount: object, reason: object,
    made_on: object, context: AuditContext | None,
) -> Adjustment:  # fmt: skip
    """An adjustment (either way) or a write-off (lowers the balance), always with its reason."""
    keeper_required(access, chart)
    if kind not in AdjustmentKind.values:
        raise ServiceError("Choose an adjustment or a write-off.", field="kind")
    value = amount_of(amount, "amount", signed=kind == AdjustmentKind.ADJUSTMENT)
    why = " ".join(str(reason or "").split())
    if not why or len(why) > 200:
        raise ServiceError("Say why, in at most 200 characters.", field="reason")
    day = day_of(made_on, "made_on")
    with transaction.atomic():
        made = Adjustment.objects.create(chart=chart, kind=kind, amount=value, reason=why, made_on=day,
                                         recorded_by=actor)  # fmt: skip
        audit_record(action=Action.BALANCE_ADJUST, actor=actor, context=context, target=made,
                     subject_client_id=chart.client_id, details={"kind": kind, "amount": str(value)})  # fmt: skip
    return made
