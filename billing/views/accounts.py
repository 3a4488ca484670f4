"""A client's account: its balance and story, payments, adjustments and write-offs, invoices and
monthly statements; the admins' view of every account by age; the panels on the chart and the
client's own record."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.login_session import practice_zone
from accounts.models import Role, User
from accounts.rules import role_required
from accounts.types import AuthedRequest
from audit.models import Action
from billing.models import AdjustmentKind, Claim, ClaimStatus, Coverage, Invoice, PaymentMethod
from billing.pdfs import invoice_pdf, statement_pdf
from billing.selectors import KEEPERS, account_get_for_user, invoice_get_for_user
from billing.services.claims import claimable
from billing.services.invoices import invoice_charges, invoice_issue, uninvoiced
from billing.services.ledger import (
    BUCKETS,
    ZERO,
    activity,
    adjustment_make,
    aging,
    balance_of,
    balances,
    months_with_activity,
    payment_record,
    statement_of,
)
from records.billing_codes import POLICY_FEES
from records.models import ClientChart
from records.reads import record_read
from records.selectors import ALLOWED, Access, Need
from teletherapy.context import context_of
from teletherapy.errors import ServiceError, error_text

READERS = (Role.THERAPIST, Role.ADMIN, Role.CLIENT, Role.GUARDIAN)


def chart_panel(*, user: Any, chart: Any, access: Access) -> dict[str, Any] | None:
    if access not in ALLOWED[Need.BILLING] or access in (Access.CLIENT, Access.GUARDIAN):
        return None
    return {"template": "billing/_chart_panel.html", "need": "billing", "chart": chart, "balance": balance_of(chart)}


def portal_panel(*, user: Any, chart: Any, access: Access) -> dict[str, Any] | None:
    if access not in (Access.CLIENT, Access.GUARDIAN):
        return None
    months = months_with_activity(chart)
    if not months:
        return None
    return {"template": "billing/_portal_panel.html", "chart": chart, "balance": balance_of(chart), "months": months}


# Pages ----------------------------------------------------------------------------------------------


def today_of(user: User) -> date:
    return timezone.now().astimezone(practice_zone(user.practice.time_zone)).date()


def read_audited(
    request: AuthedRequest, chart: ClientChart, access: Access, target: Any = None, **details: Any
) -> None:
    record_read(actor=request.user, context=context_of(request), action=Action.BILLING_VIEW,
                target=target if target is not None else chart, chart=chart, access=access, **details)  # fmt: skip


def pdf_response(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@role_required(*READERS)
@require_GET
def account_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    """A client's account: the balance and its story, invoices and statements; for those who keep
    it, the forms to record a payment, adjust, invoice, keep the insurance and make a claim."""
    chart, access = account_get_for_user(user=request.user, chart_id=chart_id)
    read_audited(request, chart, access, account=True)
    keeper = access in KEEPERS
    entries = activity(charts=[chart.pk])[chart.pk]
    context = {
        "chart": chart,
        "client": chart.client,
        "keeper": keeper,
        "own": access in (Access.CLIENT, Access.GUARDIAN),
        "balance": balance_of(chart),
        "entries": list(reversed(entries))[:40],
        "months": sorted({e.on.replace(day=1) for e in entries}, reverse=True)[:24],
        "invoices": Invoice.objects.filter(chart=chart)[:24],
        "currency": chart.practice.currency,
        "today": today_of(request.user),
    }
    if keeper:
        context |= {
            "uninvoiced": uninvoiced(chart),
            "claimable": claimable(chart),
            "claims": Claim.objects.filter(chart=chart)[:24],
            "coverage": Coverage.objects.filter(chart=chart).first(),
            "methods": PaymentMethod.choices,
            "kinds": AdjustmentKind.choices,
            "sexes": [("U", "Unknown"), ("F", "Female"), ("M", "Male")],
            "claim_states": [c for c in ClaimStatus.choices if c[0] != ClaimStatus.DRAFT],
        }
    return render(request, "billing/account.html", context)


def keeper_post(request: AuthedRequest, chart_id: str, work: Any, done: str) -> HttpResponse:
    """A keeper's form on the account page: do it, say so, and come back to the page."""
    chart, access = account_get_for_user(user=request.user, chart_id=chart_id, write=True)
    try:
        work(chart, access)
    except ServiceError as error:
        if error.is_refusal:
            raise
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, done)
    return redirect("billing:account", chart.pk)


@role_required(Role.THERAPIST, Role.ADMIN)
@require_POST
def payment_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    post = request.POST
    return keeper_post(request, chart_id, lambda chart, access: payment_record(
        actor=request.user, chart=chart, access=access, amount=post.get("amount"), method=post.get("method"),
        received_on=post.get("received_on"), reference=post.get("reference", ""), context=context_of(request),
    ), "Payment recorded.")  # fmt: skip


@role_required(Role.THERAPIST, Role.ADMIN)
@require_POST
def adjustment_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    post = request.POST
    return keeper_post(request, chart_id, lambda chart, access: adjustment_make(
        actor=request.user, chart=chart, access=access, kind=post.get("kind"), amount=post.get("amount"),
        reason=post.get("reason"), made_on=post.get("made_on"), context=context_of(request),
    ), "Balance changed.")  # fmt: skip


@role_required(Role.THERAPIST, Role.ADMIN)
@require_POST
def invoice_issue_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    return keeper_post(request, chart_id, lambda chart, access: invoice_issue(
        actor=request.user, chart=chart, access=access, context=context_of(request), today=today_of(request.user),
    ), "Invoice issued.")  # fmt: skip


@role_required(*READERS)
@require_GET
def invoice_pdf_view(request: AuthedRequest, invoice_id: str) -> HttpResponse:
    invoice, access = invoice_get_for_user(user=request.user, invoice_id=invoice_id)
    chart = invoice.chart
    read_audited(request, chart, access, target=invoice, invoice=invoice.number)
    identity = chart.practice.billing_identities.filter(therapist=None).first()
    pdf = invoice_pdf(
        practice=chart.practice.name, practice_address=identity.address if identity else "",
        client=chart.client.full_name, client_address=chart.address, number=invoice.number,
        issued_on=invoice.issued_on, due_on=invoice.due_on,
        lines=[(c.service_date, _service(c), c.fee) for c in invoice_charges(invoice)], total=invoice.total,
        balance=balance_of(chart, through=invoice.issued_on), currency=chart.practice.currency,
    )  # fmt: skip
    return pdf_response(pdf, f"invoice-{invoice.number}.pdf")


def _service(charge: Any) -> str:
    if charge.cpt_code in POLICY_FEES:
        return POLICY_FEES[charge.cpt_code]
    code = f"{charge.cpt_code}-{charge.modifier}" if charge.modifier else charge.cpt_code
    return f"{code} · psychotherapy services" if charge.cpt_code.startswith("90") else code


@role_required(*READERS)
@require_GET
def statement_pdf_view(request: AuthedRequest, chart_id: str, month: str) -> HttpResponse:
    chart, access = account_get_for_user(user=request.user, chart_id=chart_id)
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ServiceError("Choose the month as YYYY-MM.", field="month") from None
    read_audited(request, chart, access, statement=f"{first:%Y-%m}")
    identity = chart.practice.billing_identities.filter(therapist=None).first()
    pdf = statement_pdf(
        practice=chart.practice.name, practice_address=identity.address if identity else "",
        client=chart.client.full_name, client_address=chart.address, statement=statement_of(chart, first),
        currency=chart.practice.currency,
    )  # fmt: skip
    return pdf_response(pdf, f"statement-{first:%Y-%m}.pdf")


@role_required(Role.ADMIN)
@require_GET
def billing_home_view(request: AuthedRequest) -> HttpResponse:
    """The practice's money at a glance: what is owed, and by how long, account by account (their
    credits spent on their oldest charges first). Each account shown is a read, audited."""
    actor = request.user
    today = today_of(actor)
    rows = [row for row in aging(practice_id=actor.practice_id, today=today) if row.owed or row.credit]
    rows.sort(key=lambda r: (-r.owed, str(r.chart_id)))
    charts = {c.pk: c for c in ClientChart.objects.filter(pk__in=[r.chart_id for r in rows]).select_related("client")}
    shown = rows[:100]
    for row in shown:
        read_audited(request, charts[row.chart_id], Access.ADMIN, aging=True)
    totals = [sum((r.buckets[i] for r in rows), ZERO) for i in range(len(BUCKETS))]
    return render(request, "billing/home.html", {
        "rows": [(charts[r.chart_id], r) for r in shown], "more": len(rows) - len(shown), "buckets": BUCKETS,
        "totals": totals, "owed": sum(totals, ZERO), "credit": sum((r.credit for r in rows), ZERO),
        "balance": sum(balances(practice_id=actor.practice_id).values(), ZERO), "currency": actor.practice.currency,
        "today": today,
    })  # fmt: skip
