"""Balances add up: charges less payments, adjustments and write-offs, from the database's sums,
month by month in statements and by age in the aging view, whatever the mix (property tests);
and the writes' rules: who may record, what is refused, nothing stored changed by bad input."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from audit.models import AuditEvent
from billing.models import Adjustment, Payment
from billing.services.ledger import (
    ZERO,
    adjustment_make,
    aged,
    aging,
    balance_of,
    balances,
    paid_by_charge,
    payment_record,
    statements,
)
from records.models import BillingRecord
from records.selectors import Access
from records.services import chart_create
from teletherapy.errors import NotAllowed, ServiceError

pytestmark = [pytest.mark.django_db]

START = date(2026, 1, 1)
cents = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)
days = st.integers(min_value=0, max_value=364).map(lambda d: START + timedelta(days=d))
charge = st.tuples(days, cents, st.sampled_from(["submitted", "paid", "draft", "void"]))
payment = st.tuples(days, cents)
adjustment = st.tuples(days, cents, st.sampled_from(["write_off", "adjustment", "refund"]))


@given(
    debts=st.lists(st.tuples(days, cents), max_size=12),
    credit=st.lists(cents, max_size=6).map(lambda xs: sum(xs, ZERO)),
    today=days,
)
def test_aging_keeps_every_cent_in_one_place(debts, credit, today):
    row = aged("c", debts, credit, today)
    owed = sum((amount for _, amount in debts), ZERO)
    assert row.owed - row.credit == owed - credit
    assert all(b >= 0 for b in row.buckets) and row.credit >= 0 and not (row.owed and row.credit)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    charges=st.lists(charge, max_size=10),
    payments=st.lists(payment, max_size=6),
    adjustments=st.lists(adjustment, max_size=4),
)
def test_balances_statements_and_aging_agree_with_the_rows(make_user, therapist, charges, payments, adjustments):
    client = make_user(Role.CLIENT)
    chart = chart_create(actor=None, client=client, therapists=[therapist])
    expected = ZERO
    for on, fee, status in charges:
        BillingRecord.objects.create(chart=chart, service_date=on, cpt_code="90834", diagnosis_codes="F41.1",
                                     fee=fee, status=status, created_by=therapist)  # fmt: skip
        expected += fee if status in ("submitted", "paid") else ZERO
    for on, amount in payments:
        payment_record(actor=therapist, chart=chart, access=Access.CARE_TEAM, amount=amount, method="cash",
                       received_on=on, context=None)  # fmt: skip
        expected -= amount
    for on, amount, kind in adjustments:
        signed = -amount if kind == "refund" else amount
        adjustment_make(actor=therapist, chart=chart, access=Access.CARE_TEAM, amount=signed, made_on=on,
                        kind="adjustment" if kind == "refund" else kind, reason="property", context=None)  # fmt: skip
        expected -= signed
    assert balance_of(chart) == expected
    # Month by month: each statement opens where the last closed, and the year closes on the balance.
    months = [date(2026, m, 1) for m in range(1, 13)]
    year = [statements(charts=[chart.pk], month=m)[0] for m in months]
    assert year[0].opening == ZERO
    assert all(a.closing == b.opening for a, b in itertools.pairwise(year))
    assert year[-1].closing == expected
    # By age: what is owed less what is in credit is the balance.
    rows = aging(practice_id=chart.practice_id, today=date(2027, 1, 1), charts=[chart.pk])
    assert (rows[0].owed - rows[0].credit if rows else ZERO) == expected
    # Paid per charge never exceeds a fee, nor the payments.
    paid = paid_by_charge(chart)
    assert sum(paid.values(), ZERO) <= sum((a for _, a in payments), ZERO)
    assert all(paid[c.pk] <= c.fee for c in BillingRecord.objects.filter(chart=chart, pk__in=paid))


def test_a_practices_balances_come_from_three_sums(chart, therapist, django_assert_max_num_queries):
    BillingRecord.objects.create(chart=chart, service_date=START, cpt_code="90834", diagnosis_codes="F41.1",
                                 fee="150", status="submitted", created_by=therapist)  # fmt: skip
    with django_assert_max_num_queries(3):
        found = balances(practice_id=chart.practice_id)
    assert found == {chart.pk: Decimal("150.00")}


def test_only_those_who_keep_the_account_change_it_and_bad_input_changes_nothing(chart, therapist, client_user, admin):
    with pytest.raises(NotAllowed):
        payment_record(actor=client_user, chart=chart, access=Access.CLIENT, amount="10", method="cash",
                       received_on="2026-03-01", context=None)  # fmt: skip
    with pytest.raises(NotAllowed):
        adjustment_make(actor=client_user, chart=chart, access=Access.GUARDIAN, kind="write_off", amount="10",
                        reason="x", made_on="2026-03-01", context=None)  # fmt: skip
    bad = [
        {"amount": "ten"}, {"amount": "0"}, {"amount": "-5"}, {"amount": "1.005"}, {"amount": "NaN"},
        {"amount": "1e9"}, {"method": "barter"}, {"received_on": "yesterday"}, {"reference": "x" * 81},
    ]  # fmt: skip
    for change in bad:
        fields = {"amount": "10", "method": "cheque", "received_on": "2026-03-01", "reference": ""} | change
        with pytest.raises(ServiceError) as refused:
            payment_record(actor=admin, chart=chart, access=Access.ADMIN, context=None, **fields)
        assert refused.value.status == 400
    for change in [{"kind": "gift"}, {"amount": "-5", "kind": "write_off"}, {"reason": " "}, {"amount": "0"}]:
        fields = {"kind": "write_off", "amount": "10", "reason": "hardship", "made_on": "2026-03-01"} | change
        with pytest.raises(ServiceError):
            adjustment_make(actor=admin, chart=chart, access=Access.ADMIN, context=None, **fields)
    assert not Payment.objects.exists() and not Adjustment.objects.exists()
    made = payment_record(actor=admin, chart=chart, access=Access.ADMIN, amount="1,200.50", method="card",
                          received_on="2026-03-01", reference="ch_3Nx", context=None)  # fmt: skip
    assert made.amount == Decimal("1200.50")
    event = AuditEvent.objects.get(action="billing.payment")
    assert event.subject_client_id == chart.client_id and "ch_3Nx" not in str(event.details)
