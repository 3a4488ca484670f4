"""A draft charge from every session that ends: the service the minutes met, from what the
platform saw.

The minutes are the client's time in the call: from each admission to their departure, their
removal or the end of the session, overlapping spans counted once. An individual session meets
90832, 90834 or 90837 by CPT's time rule; a couples or family session 90847 (on the chart of its
first client, as family psychotherapy is billed under one patient). The modifier is 95 (audio and
video), or the practice's audio-only modifier (93 or FQ) when the client spent more than half
their minutes in the call while someone in it had chosen audio only; the place of service is 10
(the client's home) until the therapist says otherwise on the draft. Under 16 minutes (26 for a
joint session) no code is met and nothing is drafted."""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from django.utils import timezone

from accounts.login_session import practice_zone
from records.billing_codes import individual_code, joint_code
from records.models import BillingRecord, ClientChart
from records.services.fees import charge_draft, policy_fee_charge
from sessions.models import Admission, Appointment, AppointmentKind, AppointmentStatus, CheckIn, MediumChange
from sessions.policy import policy_for
from teletherapy.context import AuditContext
from teletherapy.errors import ServiceError


def minutes_connected(appointment: Appointment, client_id: int) -> int:
    """Whole minutes the client was in the call, each moment counted once."""
    return int(_seconds(_client_spans(appointment, client_id)) // 60)


def medium_record(*, appointment_id: str, user_id: int, audio_only: bool) -> None:
    MediumChange.objects.create(appointment_id=appointment_id, user_id=user_id, audio_only=audio_only)


def _audio_only_spans(appointment: Appointment, end: datetime) -> list[tuple[datetime, datetime]]:
    """When the session was held by audio alone: while anyone in it had chosen audio only (the
    call then sends video to nobody who chose it, and they send none)."""
    changes = list(MediumChange.objects.filter(appointment=appointment).order_by("at", "id"))
    choosing: set[int] = set()
    spans: list[tuple[datetime, datetime]] = []
    since: datetime | None = None
    for change in changes:
        before = bool(choosing)
        (choosing.add if change.audio_only else choosing.discard)(change.user_id)
        if not before and choosing:
            since = change.at
        elif before and not choosing and since is not None:
            spans.append((since, change.at))
            since = None
    if since is not None and end > since:
        spans.append((since, end))
    return spans


def _client_spans(appointment: Appointment, client_id: int) -> list[tuple[datetime, datetime]]:
    end_of_session = appointment.closed_at or timezone.now()
    spans: list[tuple[datetime, datetime]] = []
    for admission in Admission.objects.filter(appointment=appointment, user_id=client_id).order_by("admitted_at"):
        left = min(t for t in (admission.revoked_at, admission.departed_at, end_of_session) if t is not None)
        if left > admission.admitted_at:
            spans.append((admission.admitted_at, left))
    return spans


def _seconds(spans: list[tuple[datetime, datetime]]) -> float:
    """The length of a union of spans: each moment counted once."""
    total, reach = 0.0, None
    for start, stop in sorted(spans):
        if reach is not None and start < reach:
            start = reach
        if stop > start:
            total += (stop - start).total_seconds()
            reach = stop if reach is None else max(reach, stop)
    return total


def audio_only_minutes(appointment: Appointment, client_id: int) -> int:
    """Whole minutes the client was in the call while it was held by audio alone."""
    end = appointment.closed_at or timezone.now()
    audio = _audio_only_spans(appointment, end)
    overlap = [
        (max(a, c), min(b, d))
        for a, b in _client_spans(appointment, client_id)
        for c, d in audio
        if min(b, d) > max(a, c)
    ]
    return int(_seconds(overlap) // 60)


def _place(appointment: Appointment, client_id: int) -> str:
    """The place of service from the client's latest check-in: at home (10) or elsewhere (02)."""
    latest = CheckIn.objects.filter(appointment=appointment, user_id=client_id).order_by("-created_at").first()
    return "02" if latest is not None and not latest.at_home else "10"


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
    by_audio = policy_for(appointment.practice_id).audio_only_modifier
    for client_id, code, minutes in plan:
        # Held mostly by audio alone: the practice's audio-only modifier; otherwise 95.
        modifier = by_audio if minutes and audio_only_minutes(appointment, client_id) * 2 > minutes else "95"
        chart = ClientChart.objects.filter(client_id=client_id, practice_id=appointment.practice_id).first()
        if code is None or chart is None:
            continue
        made = charge_draft(
            chart=chart, therapist=appointment.therapist, appointment_id=appointment.pk, service_date=day, code=code,
            minutes=minutes, modifier=modifier, place_of_service=_place(appointment, client_id), context=context,
        )  # fmt: skip
        if made is not None:
            drafted.append(made)
    return drafted


FEES = {"no_show": "NOSHW", "late_cancel": "LATEC"}


def policy_fee(appointment: Appointment, kind: str, *, context: AuditContext | None) -> BillingRecord | None:
    """The practice's fee for a session the client missed (once its time has come) or cancelled
    inside the late-cancellation window, on the chart of its (first) client; refused when the
    practice charges none or the moment does not fit."""
    policy = policy_for(appointment.practice_id)
    now = timezone.now()
    if kind == "no_show":
        amount, fits = policy.no_show_fee, now >= appointment.starts_at
        late = "A session is marked missed once its time has come."
    elif kind == "late_cancel":
        amount = policy.late_cancel_fee
        fits = now >= appointment.starts_at - timedelta(hours=policy.late_cancel_hours)
        late = f"This session is more than {policy.late_cancel_hours} hours away: no late-cancellation fee applies."
    else:
        raise ServiceError("Choose no fee, a no-show or a late cancellation.", field="fee")
    if not amount:
        raise ServiceError("Your practice charges no fee for this (Settings).", field="fee")
    if not fits:
        raise ServiceError(late, field="fee")
    client_id = appointment.participants.order_by("pk").values_list("client_id", flat=True).first()
    chart = ClientChart.objects.filter(client_id=client_id, practice_id=appointment.practice_id).first()
    if chart is None:
        raise ServiceError("This client has no chart to charge the fee to.", field="fee")
    day = appointment.starts_at.astimezone(practice_zone(appointment.therapist.zone_name)).date()
    return policy_fee_charge(chart=chart, therapist=appointment.therapist, appointment_id=appointment.pk,
                             service_date=day, code=FEES[kind], amount=amount, context=context)  # fmt: skip


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def session_charges_draft(appointment_id: str) -> int:
    """Run once a session ends (sessions.services.scheduling.appointment_end)."""
    appointment = Appointment.objects.select_related("therapist").filter(pk=appointment_id).first()
    return len(charges_for_session(appointment)) if appointment is not None else 0
