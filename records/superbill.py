"""A superbill: the statement a client sends their insurer to be paid back for sessions paid
out of network. One per client and month, of the charges confirmed that month (not drafts, not
void), with what an insurer asks: the practice's and each rendering therapist's identifiers, the
client's name, date of birth and address, the diagnoses (lettered, each service pointing to
them), and each service's date, CPT code, modifier, place of service, units and fee."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from accounts.models import User
from records.billing_codes import POLICY_FEES
from records.diagnoses import description
from records.models import BillingIdentity, BillingRecord, BillingStatus, ClientChart
from teletherapy import hooks

LETTERS = "ABCDEFGHIJKL"


@dataclass
class Superbill:
    practice: str
    practice_identity: BillingIdentity | None
    client: str
    date_of_birth: str
    address: str
    diagnoses: list[tuple[str, str, str]]  # letter, code, description
    lines: list[dict[str, Any]]
    providers: list[tuple[str, BillingIdentity | None]]
    currency: str
    month: date

    @property
    def total(self) -> Decimal:
        return sum((line["amount"] for line in self.lines), Decimal("0.00"))

    @property
    def paid(self) -> Decimal:
        return sum((line["paid"] for line in self.lines), Decimal("0.00"))


def month_range(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    after = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, after


def months_billed(charges: Any) -> list[date]:
    """The months that have a confirmed charge, newest first: a superbill for each."""
    found = {
        c.service_date.replace(day=1) for c in charges if c.status not in (BillingStatus.DRAFT, BillingStatus.VOID)
    }
    return sorted(found, reverse=True)


def superbill_of(*, chart: ClientChart, month: date) -> Superbill:
    first, after = month_range(month)
    charges = list(
        BillingRecord.objects.filter(chart=chart, service_date__gte=first, service_date__lt=after)
        .exclude(status__in=[BillingStatus.DRAFT, BillingStatus.VOID])
        .exclude(cpt_code__in=POLICY_FEES)
        .select_related("created_by")
        .order_by("service_date", "created_at")
    )
    codes: list[str] = []
    for charge in charges:
        for code in filter(None, charge.diagnosis_codes.split(",")):
            if code not in codes and len(codes) < len(LETTERS):
                codes.append(code)
    letter = {code: LETTERS[i] for i, code in enumerate(codes)}
    paid: dict[Any, Decimal] = {}
    for source in hooks.charge_payments:
        paid.update(source(chart))
    providers: dict[int, tuple[str, BillingIdentity | None]] = {}
    for charge in charges:
        who: User = charge.created_by
        providers.setdefault(who.pk, (who.full_name, BillingIdentity.objects.filter(therapist=who).first()))
    lines = [
        {
            "date": charge.service_date,
            "cpt": charge.cpt_code,
            "modifier": charge.modifier,
            "place": charge.place_of_service,
            "units": charge.units,
            "pointers": "".join(letter[c] for c in filter(None, charge.diagnosis_codes.split(",")) if c in letter),
            "amount": charge.fee,
            "paid": paid.get(charge.pk, Decimal("0.00")),
            "provider": charge.created_by.full_name,
        }
        for charge in charges
    ]
    practice = chart.practice
    return Superbill(
        practice=practice.name,
        practice_identity=BillingIdentity.objects.filter(practice=practice, therapist=None).first(),
        client=chart.client.full_name,
        date_of_birth=chart.date_of_birth,
        address=chart.address,
        diagnoses=[(letter[c], c, _described(c)) for c in codes],
        lines=lines,
        providers=list(providers.values()),
        currency=practice.currency,
        month=first,
    )


def _described(code: str) -> str:
    try:
        return description(code)
    except ValueError:
        return ""


def superbill_pdf(bill: Superbill) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from accounts.templatetags.money import money

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    title = f"Superbill, {bill.month:%B %Y}"
    document = SimpleDocTemplate(buffer, pagesize=letter, leftMargin=16 * mm, rightMargin=16 * mm,
                                 topMargin=16 * mm, bottomMargin=16 * mm, title=title, author="")  # fmt: skip

    def para(value: str, style: str = "Normal") -> Paragraph:
        return Paragraph(escape(value).replace("\n", "<br/>"), styles[style])

    def identity_lines(identity: BillingIdentity | None) -> list[str]:
        if identity is None:
            return ["Identifiers: not recorded by the practice"]
        found = [
            f"NPI {identity.npi}" if identity.npi else "",
            f"Taxonomy {identity.taxonomy}" if identity.taxonomy else "",
        ]
        found += [f"Tax id {identity.tax_id}" if identity.tax_id else "", identity.licence, identity.address]
        return [line for line in found if line]

    story: list[Any] = [para(title, "Title"), para("A statement of services for insurance reimbursement.")]
    story += [Spacer(1, 4 * mm), para("Practice", "Heading2"), para(bill.practice)]
    story += [para(line) for line in identity_lines(bill.practice_identity)]
    for name, identity in bill.providers:
        story += [Spacer(1, 2 * mm), para(f"Rendering provider: {name}", "Heading3")]
        story += [para(line) for line in identity_lines(identity)]
    story += [Spacer(1, 4 * mm), para("Client", "Heading2"), para(bill.client)]
    story += [para(f"Date of birth: {bill.date_of_birth or 'not recorded'}")]
    if bill.address:
        story.append(para(bill.address))
    story += [Spacer(1, 4 * mm), para("Diagnoses (ICD-10-CM)", "Heading2")]
    story += [para(f"{letter_}. {code} {text}") for letter_, code, text in bill.diagnoses] or [para("None recorded.")]
    story += [Spacer(1, 4 * mm), para("Services", "Heading2")]
    rows = [["Date", "CPT", "Modifier", "Place", "Units", "Diagnosis", "Provider", "Fee", "Paid"]]
    rows += [
        [f"{line['date']:%m/%d/%Y}", line["cpt"], line["modifier"], line["place"], str(line["units"]),
         line["pointers"], line["provider"], money(line["amount"], bill.currency), money(line["paid"], bill.currency)]
        for line in bill.lines
    ]  # fmt: skip
    rows.append(["", "", "", "", "", "", "Total", money(bill.total, bill.currency), money(bill.paid, bill.currency)])
    table = Table(rows, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black), ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
        ("ALIGN", (-2, 0), (-1, -1), "RIGHT"),
    ]))  # fmt: skip
    story += [table, Spacer(1, 4 * mm)]
    story.append(para(f"Paid to the practice for these services: {money(bill.paid, bill.currency)}."))
    story += [Spacer(1, 12 * mm), para("Provider's signature: ______________________________   Date: ____________")]
    document.build(story)
    return buffer.getvalue()
