"""A draft charge from every session that ends: the service the minutes met, from what the
platform saw.

The minutes are the client's time in the call: from each admission to their departure, their
removal or the end of the session, overlapping spans counted once. An individual session meets
90832, 90834 or 90837 by CPT's time rule; a couples or family session 90847 (on the chart of its
first client, as family psychotherapy is billed under one patient). The modifier is 95 (audio and
video) and the place of service 10 (the client's home) until the therapist says otherwise on the
draft. Under 16 minutes (26 for a joint session) no code is met and nothing is drafted."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from accounts.login_session import practice_zone
from records.billing_codes import individual_code, joint_code
from records.models import BillingRecord, ClientChart
from records.services.fees import charge_draft
from sessions.models import Admission, Appointment, AppointmentKind, AppointmentStatus
from teletherapy.context import AuditContext


def minutes_connected(appointment: Appointment, client_id: int) -> int:
    """Whole minutes the client was in the call, each moment counted once."""
    end_of_session = appointment.closed_at or timezone.now()
    spans: list[tuple[datetime, datetime]] = []
    for admission in Admission.objects.filter(appointment=appointment, user_id=client_id).order_by("admitted_at"):
        left = min(t for t in (admission.revoked_at, admission.departed_at, end_of_session) if t is not None)
        if left > admission.admitted_at:
            spans.append((admission.admitted_at, left))
    total = 0.0
    reach: datetime | None = None
    for start, stop in sorted(spans):
        if reach is not None and start < reach:
            start = reach
        if stop > start:
            total += (stop - start).total_seconds()
            reach = stop if reach is None else max(reach, stop)
    return int(total // 60)


def charges_for_session(appointment: Appointment, context: AuditContext | None = None) -> list[BillingRecord]:
    """Draft the session's charge(s); nothing for a session that did not end or met no code."""
    if appointment.status != AppointmentStatus.ENDED:
        return []
    clients = list(appointment.participants.order_by("pk").values_list("client_id", flat=True))
    if not clients:
        return []
    day = appointment.starts_at.astimezone(practice_zone(appointment.therapist.zone_name)).date()
    drafted: list[BillingRecord] = []
    if appointment.kind == AppointmentKind.INDIVIDUAL:
        plan = []
        for client in clients:
            minutes = minutes_connected(appointment, client)
            plan.append((client, individual_code(minutes), minutes))
    else:
        together = max(minutes_connected(appointment, client) for client in clients)
        plan = [(clients[0], joint_code(together), together)]
    for client_id, code, minutes in plan:
        chart = ClientChart.objects.filter(client_id=client_id, practice_id=appointment.practice_id).first()
        if code is None or chart is None:
            continue
        made = charge_draft(
            chart=chart, therapist=appointment.therapist, appointment_id=appointment.pk, service_date=day, code=code,
            minutes=minutes, modifier="95", place_of_service="10", context=context,
        )  # fmt: skip
        if made is not None:
            drafted.append(made)
    return drafted


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def session_charges_draft(appointment_id: str) -> int:
    """Run once a session ends (sessions.services.scheduling.appointment_end)."""
    appointment = Appointment.objects.select_related("therapist").filter(pk=appointment_id).first()
    return len(charges_for_session(appointment)) if appointment is not None else 0
