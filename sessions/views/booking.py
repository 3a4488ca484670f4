"""A client's pages for booking online: choose a session type, a day and a time (shown in the
client's own zone), confirm with the late-cancel window in view; move or cancel a session; ask to
be offered an earlier time, and take one when it is offered. The same services as the API."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.login_session import practice_zone
from accounts.models import Role
from accounts.rules import role_required
from accounts.types import AuthedRequest
from sessions.models import Appointment, AppointmentStatus, OfferOutcome, SessionType
from sessions.policy import policy_for
from sessions.services import booking, waitlist
from teletherapy.context import context_of
from teletherapy.errors import ServiceError, error_text

DAYS_SHOWN = 14


def _moment(raw: object) -> datetime | None:
    # An offset's "+" arrives as a space when a hand-typed address did not encode it.
    text = re.sub(r" (\d{2}:\d{2})$", r"+\1", str(raw)[:40])
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None


def _days(times: list[datetime], chosen: object) -> tuple[list[date], date | None, list[datetime]]:
    """The viewer's days that have open times (the first ``DAYS_SHOWN``), the one chosen (or the
    first) and its times, all in the viewer's zone."""
    by_day: dict[date, list[datetime]] = {}
    for moment in times:
        local = timezone.localtime(moment)
        by_day.setdefault(local.date(), []).append(local)
    days = sorted(by_day)[:DAYS_SHOWN]
    try:
        day = date.fromisoformat(str(chosen)) if chosen else None
    except ValueError:
        day = None
    if day not in by_day:
        day = days[0] if days else None
    return days, day, by_day.get(day, []) if day else []


def _zone(user: Any) -> str:
    return str(user.zone_name).replace("_", " ")


def _late_hours(request: AuthedRequest) -> int:
    return policy_for(request.user.practice_id).late_cancel_hours


@role_required(Role.CLIENT)
@require_http_methods(["GET", "POST"])
def book_view(request: AuthedRequest) -> HttpResponse:
    """Three steps on one address: the type (skipped when there is one), the time, the confirmation."""
    client = request.user
    types = list(booking.bookable_types_for(client=client))
    if request.method == "POST":
        try:
            chosen = booking.type_for_client(client=client, type_id=request.POST.get("type"))
            moment = _moment(request.POST.get("starts_at"))
            if moment is None:
                raise ServiceError("Choose one of the times shown.", field="starts_at")
            made = booking.client_book(
                client=client, session_type=chosen, starts_at=moment, context=context_of(request)
            )
        except ServiceError as error:
            if error.is_refusal:
                raise
            messages.error(request, error_text(request, error))
            return redirect(f"{reverse('sessions:book')}?type={request.POST.get('type', '')}")
        messages.success(request, "Booked. It is on your list of sessions, and we e-mailed you the time.")
        return redirect(f"{reverse('sessions:list')}#session-{made.pk}")
    kind: SessionType | None = None
    if request.GET.get("type"):
        kind = booking.type_for_client(client=client, type_id=request.GET["type"])
    elif len(types) == 1:
        kind = types[0]
    context: dict[str, Any] = {"types": types, "kind": kind, "late_hours": _late_hours(request), "zone": _zone(client)}
    if kind is not None:
        moment = _moment(request.GET.get("at"))
        if moment is not None and moment in booking.open_times(session_type=kind, on=_therapist_day(kind, moment)):
            context["confirm"] = moment
            context["changeable_until"] = moment - timedelta(hours=_late_hours(request))
        else:
            days, day, times = _days(booking.open_times(session_type=kind), request.GET.get("day"))
            context.update({"days": days, "day": day, "times": times, "waiting": _waiting(client, kind),
                            "base": f"?type={kind.pk}"})  # fmt: skip
    return render(request, "sessions/book.html", context)


def _therapist_day(kind: SessionType, moment: datetime) -> date:
    return moment.astimezone(practice_zone(kind.therapist.zone_name)).date()


def _waiting(client: Any, kind: SessionType) -> Any:
    return waitlist.waiting_of(client).filter(session_type=kind).first()


@role_required(Role.CLIENT)
@require_http_methods(["GET", "POST"])
def change_view(request: AuthedRequest, appointment_id: str) -> HttpResponse:
    """Move or cancel one of the client's sessions, within the practice's policy."""
    client = request.user
    found = booking.own_booked(client=client, appointment_id=appointment_id)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "cancel":
                booking.client_cancel(client=client, appointment_id=found.pk, context=context_of(request))
                messages.success(request, "Cancelled. Your therapist has been told.")
                return redirect("sessions:list")
            moment = _moment(request.POST.get("starts_at"))
            if action != "move" or moment is None:
                raise ServiceError("Choose one of the times shown.", field="starts_at")
            booking.client_move(client=client, appointment_id=found.pk, starts_at=moment, context=context_of(request))
        except ServiceError as error:
            if error.is_refusal:
                raise
            messages.error(request, error_text(request, error))
            return redirect("sessions:change", found.pk)
        messages.success(request, "Moved. We e-mailed you the new time, and your therapist has been told.")
        return redirect(f"{reverse('sessions:list')}#session-{found.pk}")
    until = booking.changeable_until(found)
    context: dict[str, Any] = {
        "appointment": found,
        "until": until,
        "late_hours": _late_hours(request),
        "zone": _zone(client),
        "open": found.status == AppointmentStatus.SCHEDULED and timezone.now() <= until and not found.is_joint,
        "scheduled": found.status == AppointmentStatus.SCHEDULED,
    }
    kind = found.session_type
    if context["open"] and kind is not None and kind.therapist_id == found.therapist_id:
        moment = _moment(request.GET.get("at"))
        if moment is not None and moment in booking.open_times(
            session_type=kind, on=_therapist_day(kind, moment), moving=found
        ):
            context["confirm"] = moment
        else:
            days, day, times = _days(booking.open_times(session_type=kind, moving=found), request.GET.get("day"))
            context.update({"kind": kind, "days": days, "day": day, "times": times, "base": "?move=1"})
        context["waiting"] = _waiting(client, kind)
    return render(request, "sessions/change.html", context)


@role_required(Role.CLIENT)
@require_POST
def waitlist_view(request: AuthedRequest) -> HttpResponse:
    """Join (a session type; optionally a session an earlier time would replace) or leave."""
    client = request.user
    back = request.POST.get("next", "")
    if not back.startswith("/sessions/") or "//" in back:
        back = reverse("sessions:list")
    try:
        if request.POST.get("action") == "leave":
            waitlist.waitlist_leave(client=client, entry_id=request.POST.get("entry"), context=context_of(request))
            messages.success(request, "You left the waitlist.")
        else:
            waitlist.waitlist_join(
                client=client, type_id=request.POST.get("type"), appointment_id=request.POST.get("appointment") or None,
                context=context_of(request),
            )  # fmt: skip
            messages.success(
                request, "You are on the waitlist. When an earlier time opens we will e-mail you a link to take it."
            )
    except ServiceError as error:
        if error.is_refusal:
            raise
        messages.error(request, error_text(request, error))
    return redirect(back)


@role_required(Role.CLIENT)
@require_http_methods(["GET", "POST"])
def offer_view(request: AuthedRequest, offer_id: str) -> HttpResponse:
    """An earlier time offered from the waitlist: take it, or see that someone else did."""
    client = request.user
    offer = waitlist.offer_for(client=client, offer_id=offer_id)
    status = 200
    if request.method == "POST":
        try:
            taken = waitlist.offer_accept(client=client, offer_id=offer.pk, context=context_of(request))
        except ServiceError as error:
            if error.is_refusal:
                raise
            messages.error(request, error_text(request, error))
            offer.refresh_from_db()
            status = 409
        else:
            messages.success(request, "It is yours. We e-mailed you the time, and your therapist has been told.")
            return redirect(f"{reverse('sessions:list')}#session-{taken.pk}")
    freed = offer.freed
    context = {
        "offer": offer,
        "freed": freed,
        "minutes": offer.entry.session_type.minutes,
        "replaces": offer.entry.appointment
        if offer.entry.appointment and offer.entry.appointment.status == AppointmentStatus.SCHEDULED
        else None,
        "gone": offer.outcome == OfferOutcome.GONE or (freed.taken_by_id not in (None, client.pk)),
        "taken": offer.outcome == OfferOutcome.TAKEN,
        "passed": freed.starts_at <= timezone.now(),
        "late_hours": _late_hours(request),
    }
    return render(request, "sessions/offer.html", context, status=status)


def changeable(appointment: Appointment) -> bool:
    """Whether a client may still move or cancel it online (for the list of sessions)."""
    return (
        appointment.status == AppointmentStatus.SCHEDULED
        and not appointment.is_joint
        and timezone.now() <= booking.changeable_until(appointment)
    )
