"""Invoices: a client's confirmed charges not yet on an invoice, billed together under the
practice's next number, due in 30 days."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from billing.models import Invoice, InvoiceLine
from billing.selectors import charges_counted, keeper_required, next_number
from billing.services.ledger import ZERO
from billing.tasks import invoice_notify
from records.models import BillingRecord, ClientChart
from records.selectors import Access
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict

DUE_DAYS = 30


def uninvoiced(chart: ClientChart) -> list[BillingRecord]:
    return list(charges_counted().filter(chart=chart, invoice_line__isnull=True).order_by("service_date", "created_at"))


def invoice_issue(
    *, actor: User, chart: ClientChart, access: Access, context: AuditContext | None, today: date
) -> Invoice:
    """Bill every confirmed charge of the client that no invoice holds yet (409 when there is none)."""
    keeper_required(access, chart, "issue invoices")
    with transaction.atomic():
        charges = uninvoiced(chart)
        if not charges:
            raise Conflict("Every confirmed charge of this client is already on an invoice.", code="nothing_to_bill")
        number = next_number(Invoice, chart.practice_id)
        invoice = Invoice.objects.create(
            practice_id=chart.practice_id, chart=chart, number=number, issued_on=today,
            due_on=today + timedelta(days=DUE_DAYS), total=sum((c.fee for c in charges), ZERO), created_by=actor,
        )  # fmt: skip
        InvoiceLine.objects.bulk_create([InvoiceLine(invoice=invoice, charge=c) for c in charges])
        audit_record(action=Action.INVOICE_ISSUE, actor=actor, context=context, target=invoice,
                     subject_client_id=chart.client_id,
                     details={"number": number, "charges": len(charges), "total": str(invoice.total)})  # fmt: skip
        issued = str(invoice.pk)
        transaction.on_commit(lambda: invoice_notify.delay(issued))
    return invoice


def invoice_charges(invoice: Invoice) -> list[BillingRecord]:
    return list(
        BillingRecord.objects.filter(invoice_line__invoice=invoice)
        .select_related("created_by")
        .order_by("service_date")
    )
