"""Notices by e-mail that something is on a client's account: a new invoice, the month's
statement. Each carries a link and nothing else (no amount, no service, no name of a therapist):
an inbox is often shared. The recipients are asked of the account's door when the e-mail goes:
the client, and a minor's guardians, while they still reach the account."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import guardians_of
from billing.models import Adjustment, Invoice, Payment, StatementNotice
from billing.selectors import charges_counted
from records.models import ClientChart
from records.selectors import Access, Need, chart_access, chart_reaches
from records.superbill import month_range


def account_readers(chart: ClientChart) -> list[User]:
    """Who is told of the account: its client and a minor's guardians, each asked of the door now."""
    people = [chart.client, *guardians_of(client=chart.client)]
    return [
        person
        for person in people
        if person.is_active
        and chart_access(user=person, chart=chart) in (Access.CLIENT, Access.GUARDIAN)
        and chart_reaches(user=person, chart_id=chart.pk, need=Need.BILLING)
    ]


def _tell(chart: ClientChart, subject: str, line: str) -> int:
    link = f"{(settings.SITE_URL or '').rstrip('/')}/billing/clients/{chart.pk}/"
    body = f"{line}\n\nSign in to see it: {link}\n\nFor your privacy this message holds no other detail.\n"
    readers = account_readers(chart)
    for person in readers:
        send_mail(subject=subject, message=body, from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[person.email])
    return len(readers)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invoice_notify(invoice_id: str) -> int:
    invoice = Invoice.objects.select_related("chart", "chart__client").filter(pk=invoice_id).first()
    if invoice is None:
        return 0
    return _tell(invoice.chart, "A new invoice from your practice", "A new invoice is on your account.")


@shared_task
def statements_announce(month: str | None = None) -> int:
    """Tell each client whose account moved last month (or ``month``, YYYY-MM) that its statement
    is ready; once per account and month, however often this runs."""
    first = date.fromisoformat(f"{month}-01") if month else (timezone.localdate().replace(day=1) - timedelta(days=1))
    first, after = month_range(first)
    moved: set[Any] = set(
        charges_counted().filter(service_date__gte=first, service_date__lt=after).values_list("chart_id", flat=True)
    )
    moved |= set(
        Payment.objects.filter(received_on__gte=first, received_on__lt=after).values_list("chart_id", flat=True)
    )
    moved |= set(Adjustment.objects.filter(made_on__gte=first, made_on__lt=after).values_list("chart_id", flat=True))
    told = 0
    for chart in ClientChart.objects.filter(pk__in=moved).select_related("client"):
        try:
            with transaction.atomic():
                StatementNotice.objects.create(chart=chart, month=first)
        except IntegrityError:
            continue
        told += _tell(chart, "Your monthly statement is ready", f"Your statement for {first:%B %Y} is ready.")
    return told
