"""Pages: the schedule, scheduling, the pre-session check and the call, licenses and policy."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.login_session import practice_zone
from accounts.models import Role, User
from accounts.rules import mfa_required, role_required
from accounts.services.preferences import time_zone_set
from accounts.types import AuthedRequest
from accounts.zones import real_zones
from consent.selectors import AFTER_CONSENT, consent_missing_for
from sessions import feed, services
from sessions.forms import (
    HoursForm,
    LicensesForm,
    PolicyForm,
    ScheduleForm,
    ScopeForm,
    SessionTypeForm,
    TimeOffForm,
    TimeZoneForm,
    WhenForm,
)
from sessions.gate import appointment_for_participant
from sessions.models import Appointment, CalendarFeed, SessionType, TherapistLicense, TimeOff, WorkingHours
from sessions.policy import join_window, policy_for
from sessions.regions import REGIONS
from sessions.selectors import appointments_between, appointments_listed, appointments_schedule_for, caseload_of
from sessions.services import booking
from sessions.views.booking import changeable
from teletherapy.context import context_of
from teletherapy.errors import NotVisible, ServiceError, error_text
from teletherapy.markers import mfa_exempt
from teletherapy.middleware import allow_media
from teletherapy.pagination import paginate


def _own_appointment(request: AuthedRequest, appointment_id: str) -> Appointment:
    appointment = Appointment.objects.filter(
        pk=appointment_id, therapist=request.user, practice_id=request.user.practice_id
    ).first()
    if appointment is None:
        raise NotVisible("video.appointment", str(appointment_id))
    return appointment


def _form_error(request: AuthedRequest, form: Any, exc: ServiceError) -> None:
    """Show a refusal from the service next to the field it concerns, or above the form."""
    form.add_error(exc.field if exc.field in form.fields else None, error_text(request, exc))


@mfa_required
@require_GET
def list_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    rows = []
    is_client = user.has_role(Role.CLIENT)
    page = paginate(request, appointments_schedule_for(user=user), key="starts_at")
    appointments_listed(user=user, context=context_of(request), appointments=page.items, where="sessions")
    for appointment in page.items:
        window = join_window(appointment)
        participant = appointment.therapist_id == user.pk or any(
            p.client_id == user.pk for p in appointment.participants.all()
        )
        rows.append(
            {
                "appointment": appointment,
                "window": window,
                "can_join": participant,
                "changeable": is_client and participant and changeable(appointment),
            }
        )
    return render(
        request,
        "sessions/list.html",
        {
            "rows": rows,
            "page": page,
            "is_therapist": user.has_role(Role.THERAPIST),
            "can_book": is_client and booking.bookable_types_for(client=user).exists(),
            "feed": CalendarFeed.objects.filter(therapist=user).first(),
            "is_admin": user.has_role(Role.ADMIN),
            "zone": user.zone_name,
            "zone_form": TimeZoneForm(initial={"zone": user.time_zone}),
            "practice_zone": user.practice.time_zone,
            "zones": [z for z in real_zones() if z != user.practice.time_zone],
        },
    )


@mfa_required
@require_POST
def time_zone_view(request: AuthedRequest) -> HttpResponse:
    form = TimeZoneForm(request.POST)
    if form.is_valid():
        time_zone_set(user=request.user, zone=form.cleaned_data["zone"])
        messages.success(request, "Times are now shown in " + (request.user.zone_name.replace("_", " ")) + ".")
    else:
        messages.error(request, "Choose a time zone from the list.")
    return redirect("sessions:list")


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def schedule_view(request: AuthedRequest) -> HttpResponse:
    form = ScheduleForm(request.POST or None, caseload=caseload_of(request.user))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            common = {
                "therapist": request.user,
                "clients": list(data["clients"]),
                "kind": data["kind"],
                "starts_at": form.starts(),
                "minutes": data["minutes"],
                "context": context_of(request),
            }
            try:
                if data.get("repeat"):
                    made = services.series_schedule(
                        **common, repeat=data["repeat"], count=data.get("count"), until=data.get("until")
                    )
                    done = f"{len(made)} sessions scheduled. Your clients were e-mailed the first time."
                else:
                    services.appointment_schedule(**common)
                    done = "Session scheduled. Your clients were e-mailed the time."
            except ServiceError as exc:
                _form_error(request, form, exc)
            else:
                messages.success(request, done)
                return redirect("sessions:list")
    return render(request, "sessions/schedule.html", {"form": form}, status=status)


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def detail_view(request: AuthedRequest, appointment_id: str) -> HttpResponse:
    appointment = _own_appointment(request, appointment_id)
    local = timezone.localtime(appointment.starts_at)
    form = WhenForm(
        request.POST or None, initial={"starts_at": local.strftime("%Y-%m-%dT%H:%M"), "minutes": appointment.minutes}
    )
    scope = ScopeForm(request.POST or None, prefix="move")
    status = 200
    if request.method == "POST":
        status = 400
        onward = appointment.series_id is not None and scope.is_valid() and scope.cleaned_data["scope"] == "onward"
        if form.is_valid():
            change = {
                "starts_at": form.starts(),
                "minutes": form.cleaned_data["minutes"],
                "context": context_of(request),
            }
            try:
                if onward:
                    moved = services.series_reschedule_onward(therapist=request.user, appointment=appointment, **change)
                    done = f"{len(moved)} sessions moved. Your clients were e-mailed the new time."
                else:
                    services.appointment_reschedule(therapist=request.user, appointment=appointment, **change)
                    done = "Session moved. Your clients were e-mailed the new time."
            except ServiceError as exc:
                _form_error(request, form, exc)
            else:
                messages.success(request, done)
                return redirect("sessions:list")
    context = {
        "appointment": appointment,
        "form": form,
        "scope": scope if appointment.series_id else None,
        "cancel_scope": ScopeForm(prefix="cancel") if appointment.series_id else None,
        "later": Appointment.objects.filter(
            series_id=appointment.series_id, status="scheduled", starts_at__gt=appointment.starts_at
        ).count()
        if appointment.series_id
        else 0,
        "window": join_window(appointment),
        "fees": _fees_now(appointment),
    }
    return render(request, "sessions/detail.html", context, status=status)


def _fees_now(appointment: Appointment) -> list[tuple[str, str, Any]]:
    """The policy fees a cancellation may charge now: a no-show once the time has come, a late
    cancellation inside the window; none the practice does not charge."""
    policy = policy_for(appointment.practice_id)
    now = timezone.now()
    fees = []
    if policy.no_show_fee and now >= appointment.starts_at:
        fees.append(("no_show", "The client did not come: charge the no-show fee", policy.no_show_fee))
    if policy.late_cancel_fee and now >= appointment.starts_at - timedelta(hours=policy.late_cancel_hours):
        fees.append(
            ("late_cancel", "The client cancelled late: charge the late-cancellation fee", policy.late_cancel_fee)
        )
    return fees


@role_required(Role.THERAPIST)
@require_POST
def cancel_view(request: AuthedRequest, appointment_id: str) -> HttpResponse:
    appointment = _own_appointment(request, appointment_id)
    scope = ScopeForm(request.POST, prefix="cancel")
    onward = appointment.series_id is not None and scope.is_valid() and scope.cleaned_data["scope"] == "onward"
    try:
        if onward:
            count = services.series_cancel_onward(
                therapist=request.user, appointment=appointment, context=context_of(request)
            )
            done = f"{count} sessions cancelled. Your clients were told by e-mail."
        else:
            fee = request.POST.get("fee", "")
            services.appointment_cancel(
                therapist=request.user, appointment=appointment, context=context_of(request), fee=fee
            )
            done = "Session cancelled. Your clients were told by e-mail." + (
                " The fee is on their account." if fee else ""
            )
    except ServiceError as exc:
        messages.error(request, error_text(request, exc))
    else:
        messages.success(request, done)
    return redirect("sessions:list")


@allow_media
@mfa_required
@require_GET
def join_view(request: AuthedRequest, appointment_id: str) -> HttpResponse:
    user: User = request.user
    found = appointment_for_participant(user, appointment_id)
    if found is None:
        raise NotVisible("video.appointment", str(appointment_id))
    appointment, role = found
    window = join_window(appointment)
    if not window.is_open:
        return render(request, "sessions/closed.html", {"appointment": appointment, "window": window})
    gate = consent_missing_for(appointment, user)
    if not gate.ready:
        if any(m.can_sign for m in gate.missing):
            messages.warning(request, "Please review and sign the consent this session needs before joining.")
            # Once signed, back here (consent.views.after_signing).
            request.session[AFTER_CONSENT] = {"appointment": str(appointment.pk), "url": request.path}
            return redirect("consent:sign_needed")
        return render(request, "sessions/closed.html", {"appointment": appointment, "consent_missing": gate.missing})
    check_in = services.check_in_latest(user_id=user.pk, appointment_id=appointment.pk)
    others = [p.client.full_name for p in appointment.participants.select_related("client") if p.client_id != user.pk]
    if role == "client":
        others.insert(0, appointment.therapist.full_name)
    context = {
        "appointment": appointment,
        "role": role,
        "others": others,
        "regions": REGIONS,
        "last_location": check_in.location if check_in else services.location_last_given(user_id=user.pk),
        "config": json.dumps(
            {
                "appointment": str(appointment.pk),
                "role": role,
                "socket": f"/ws/sessions/{appointment.pk}/",
                "checkIn": reverse("sessions-api:check-in", args=[appointment.pk]),
                "iceServers": reverse("sessions-api:ice", args=[appointment.pk]),
                "connectionTest": reverse("sessions-api:connection-test"),
                "done": reverse("sessions:list"),
            }
        ),
    }
    return render(request, "sessions/call.html", context)


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def licenses_view(request: AuthedRequest) -> HttpResponse:
    current = list(TherapistLicense.objects.filter(therapist=request.user).values_list("region", flat=True))
    form = LicensesForm(request.POST or None, initial={"regions": current})
    if request.method == "POST" and form.is_valid():
        services.licenses_set(therapist=request.user, regions=form.cleaned_data["regions"], context=context_of(request))
        messages.success(request, "Licenses saved.")
        return redirect("sessions:licenses")
    return render(request, "sessions/licenses.html", {"form": form}, status=400 if form.errors else 200)


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def availability_view(request: AuthedRequest) -> HttpResponse:
    """A therapist's working hours and session types: what clients on their caseload may book."""
    therapist = request.user
    spans = {h.weekday: h for h in WorkingHours.objects.filter(therapist=therapist)}
    initial = {}
    for day, span in spans.items():
        initial[f"d{day}_from"], initial[f"d{day}_to"] = span.starts, span.ends
    action = request.POST.get("action") if request.method == "POST" else None
    hours = HoursForm(request.POST if action == "hours" else None, initial=initial)
    new_type = SessionTypeForm(request.POST if action == "type" and not request.POST.get("type") else None)
    status = 200
    if action == "hours" and hours.is_valid():
        wanted = hours.spans()
        if not hours.errors:
            try:
                booking.hours_set(therapist=therapist, spans=wanted, context=context_of(request))
            except ServiceError as error:
                hours.add_error(None, error_text(request, error))
            else:
                messages.success(request, "Working hours saved.")
                return redirect("sessions:availability")
    elif action in ("time_off", "time_off_remove"):
        away = TimeOffForm(request.POST if action == "time_off" else None, prefix="off")
        try:
            if action == "time_off_remove":
                booking.time_off_remove(therapist=therapist, time_off_id=request.POST.get("time_off"),
                                        context=context_of(request))  # fmt: skip
                messages.success(request, "Time off removed: those days are open for booking again.")
                return redirect("sessions:availability")
            if away.is_valid():
                booking.time_off_add(therapist=therapist, context=context_of(request), **away.cleaned_data)
                messages.success(request, "Time off saved: clients cannot book those days.")
                return redirect("sessions:availability")
            messages.error(request, "Give the first and the last day off.")
        except NotVisible:
            raise
        except ServiceError as error:
            messages.error(request, error_text(request, error))
    elif action == "type":
        type_id = request.POST.get("type") or None
        form = SessionTypeForm(request.POST, prefix=f"t{type_id}" if type_id else None)
        if form.is_valid():
            try:
                booking.session_type_save(
                    therapist=therapist, context=context_of(request), type_id=type_id, **form.cleaned_data
                )
            except NotVisible:
                raise
            except ServiceError as error:
                messages.error(request, error_text(request, error))
            else:
                messages.success(request, f"Saved: {form.cleaned_data['name']}.")
                return redirect("sessions:availability")
        else:
            new_type = form
    if hours.errors or new_type.errors:
        status = 400
    types = [
        (
            kind,
            SessionTypeForm(initial={f: getattr(kind, f) for f in SessionTypeForm.base_fields}, prefix=f"t{kind.pk}"),
        )
        for kind in SessionType.objects.filter(therapist=therapist)
    ]
    away_list = TimeOff.objects.filter(therapist=therapist, ends_at__gt=timezone.now())
    last_moment = timedelta(seconds=1)
    context = {
        "hours": hours,
        "new_type": new_type,
        "types": types,
        "zone": therapist.zone_name,
        "time_off": [
            (a, timezone.localtime(a.starts_at).date(), timezone.localtime(a.ends_at - last_moment).date())
            for a in away_list
        ],
        "time_off_form": TimeOffForm(prefix="off"),
    }
    return render(request, "sessions/availability.html", context, status=status)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def policy_view(request: AuthedRequest) -> HttpResponse:
    policy = policy_for(request.user.practice_id)
    form = PolicyForm(
        request.POST or None,
        initial={
            "join_before_minutes": policy.join_before_minutes,
            "join_after_minutes": policy.join_after_minutes,
            "reminder_hours": policy.reminder_hours,
            "last_reminder_hours": policy.last_reminder_hours,
            "relay_only": policy.relay_only,
            "block_unlicensed_location": policy.block_unlicensed_location,
            "late_cancel_hours": policy.late_cancel_hours,
            "first_session_requests": policy.first_session_requests,
            "audio_only_modifier": policy.audio_only_modifier,
            "no_show_fee": policy.no_show_fee,
            "late_cancel_fee": policy.late_cancel_fee,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.policy_update(actor=request.user, context=context_of(request), **form.cleaned_data)
        except ServiceError as exc:
            _form_error(request, form, exc)
        else:
            messages.success(request, "Session settings saved.")
            return redirect("sessions:policy")
    turn_ready = bool(settings.ICE_TURN_URLS and settings.TURN_SHARED_SECRET)
    return render(
        request, "sessions/policy.html", {"form": form, "turn_ready": turn_ready}, status=400 if form.errors else 200
    )


@mfa_exempt  # a calendar app fetches it: the secret address is the credential, and it holds no names
@require_GET
def feed_view(request: HttpRequest, token: str) -> HttpResponse:
    response = HttpResponse(feed.feed_for_token(token), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    response["Content-Disposition"] = 'inline; filename="sessions.ics"'
    return response


@role_required(Role.THERAPIST)
@require_POST
def feed_manage_view(request: AuthedRequest) -> HttpResponse:
    if request.POST.get("action") == "stop":
        feed.feed_stop(therapist=request.user, context=context_of(request))
        messages.success(request, "Your calendar feed is off; its address no longer works.")
        return redirect("sessions:list")
    url = feed.feed_renew(therapist=request.user, context=context_of(request))
    return render(request, "sessions/feed.html", {"url": url})


FIRST_HOUR, LAST_HOUR = 7, 21  # the calendar's day, in the viewer's zone; earlier or later sessions sit at its edges


@role_required(Role.THERAPIST, Role.ADMIN)
@require_GET
def calendar_view(request: AuthedRequest) -> HttpResponse:
    """A week of sessions in the viewer's time zone, Monday to Sunday."""
    zone = practice_zone(request.user.zone_name)
    today = timezone.now().astimezone(zone).date()
    try:
        asked = date.fromisoformat(request.GET.get("week", "")) if request.GET.get("week") else today
    except ValueError:
        asked = today
    monday = asked - timedelta(days=asked.weekday())
    starts = datetime.combine(monday, time(0, 0), tzinfo=zone)
    days = [monday + timedelta(days=i) for i in range(7)]
    placed: dict[date, list[dict[str, Any]]] = {day: [] for day in days}
    week = list(appointments_between(user=request.user, starts=starts, ends=starts + timedelta(days=7)))
    appointments_listed(user=request.user, context=context_of(request), appointments=week, where="calendar")
    for appointment in week:
        begins, ends = appointment.starts_at.astimezone(zone), appointment.ends_at.astimezone(zone)
        first = max(0, (begins.hour - FIRST_HOUR) * 4 + begins.minute // 15)
        length = max(1, round((ends - begins).total_seconds() / 900))
        first = min(first, (LAST_HOUR - FIRST_HOUR) * 4 - 1)
        placed[begins.date()].append(
            {
                "appointment": appointment,
                "begins": begins,
                "ends": ends,
                "row": first + 2,
                "span": min(length, (LAST_HOUR - FIRST_HOUR) * 4 - first),
                "who": ", ".join(p.client.full_name for p in appointment.participants.all()),
                "own": appointment.therapist_id == request.user.pk,
            }
        )
    context = {
        "days": [(day, placed[day], day == today) for day in days],
        "hours": [(hour, (hour - FIRST_HOUR) * 4 + 2) for hour in range(FIRST_HOUR, LAST_HOUR)],
        "previous": (monday - timedelta(days=7)).isoformat(),
        "next": (monday + timedelta(days=7)).isoformat(),
        "this_week": monday <= today < monday + timedelta(days=7),
        "zone": request.user.zone_name.replace("_", " "),
        "practice_wide": request.user.has_role(Role.ADMIN),
    }
    return render(request, "sessions/calendar.html", context)
