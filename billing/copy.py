"""The account's section of the client's copy of the record: every payment and every adjustment
or write-off with its reason, by the chart's billing rule (the charges are records' own section)."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from accounts.models import User
from billing.models import Adjustment, AdjustmentKind, Payment, PaymentMethod
from records.document import Entry, choice, day, money
from records.models import ClientChart
from records.selectors import Access


def account_for_copy(chart: ClientChart, reader: User, access: Access) -> list[dict[str, Any]]:
    payments = [
        {"kind": "payment", "on": p.received_on.isoformat(), "amount": str(p.amount), "method": p.method,
         "reference": p.reference}
        for p in Payment.objects.filter(chart=chart).order_by("received_on", "recorded_at")
    ]  # fmt: skip
    adjustments = [
        {"kind": a.kind, "on": a.made_on.isoformat(), "amount": str(a.amount), "reason": a.reason}
        for a in Adjustment.objects.filter(chart=chart).order_by("made_on", "recorded_at")
    ]
    return sorted(payments + adjustments, key=lambda item: item["on"])


def read_account_item(item: dict[str, Any], zone: tzinfo, currency: str) -> Entry:
    if item.get("kind") == "payment":
        facts = [("Paid by", choice(PaymentMethod, item.get("method")))]
        if item.get("reference"):
            facts.append(("Reference", str(item["reference"])))
        return Entry(f"{day(item.get('on'))}: payment of {money(item.get('amount'), currency)}", facts=facts)
    what = choice(AdjustmentKind, item.get("kind")).lower()
    heading = f"{day(item.get('on'))}: {what} of {money(item.get('amount'), currency)}"
    return Entry(heading, facts=[("Reason", str(item.get("reason", "")))])
