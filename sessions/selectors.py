from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.selectors import clients_of_care_team
from audit.models import Action
from audit.services import audit_record
from records.document import Entry, label, when
from records.documented import DocumentedSession
from sessions.models import Admission, Appointment, AppointmentKind, AppointmentStatus, CheckIn
from sessions.policy import join_window, local_time, policy_for
from teletherapy.context import AuditContext
from teletherapy.errors import NotVisible


def appointments_upcoming_for(*, user: User) -> QuerySet[Appointment]:
    """Scheduled sessions not yet over, where the user is a client, a minor client's guardian, or the therapist."""
    guardian_of_minor = Q(participants__client__guardians__guardian=user, participants__client__chart__is_minor=True)
    return (
        Appointment.objects.filter(
            practice_id=user.practice_id, status=AppointmentStatus.SCHEDULED, ends_at__gt=timezone.now()
        )
        .filter(Q(therapist=user) | Q(participants__client=user) | guardian_of_minor)
        .distinct()
        .prefetch_related("participants__client")
        .order_by("starts_at")
    )


def join_address_now(*, user: User) -> str | None:
    """The Join page of the client's session that is open to join now, if there is one."""
    soon = Appointment.objects.filter(
        participants__client=user,
        status=AppointmentStatus.SCHEDULED,
        starts_at__lte=timezone.now() + timedelta(hours=2),
        ends_at__gt=timezone.now() - timedelta(hours=4),
    ).order_by("starts_at")
    for appointment in soon:
        if join_window(appointment).is_open:
            return reverse("sessions:join", args=[appointment.pk])
    return None


def client_seen_jointly(*, client: User) -> bool:
    """Whether the client has a couples or family session that was not cancelled, past or to come."""
    return (
        Appointment.objects.filter(
            participants__client=client, kind__in=[AppointmentKind.COUPLE, AppointmentKind.FAMILY]
        )
        .exclude(status=AppointmentStatus.CANCELLED)
        .exists()
    )


def appointment_get_for_user(*, user: User, appointment_id: str) -> Appointment:
    """An upcoming appointment of the user's (as therapist, client or a minor's guardian), or NotVisible."""
    try:
        appointment = appointments_upcoming_for(user=user).filter(pk=appointment_id).first()
    except (ValueError, TypeError, ValidationError):
        appointment = None
    if appointment is None:
        raise NotVisible("video.appointment", appointment_id, "No such upcoming appointment.")
    return appointment


def caseload_of(therapist: User) -> QuerySet[User]:
    """The active clients whose care team includes this therapist."""
    return clients_of_care_team(therapist=therapist).filter(is_active=True)


def appointments_schedule_for(*, user: User) -> QuerySet[Appointment]:
    """What the Sessions page lists: a practice admin sees the whole practice's upcoming sessions
    (times and people, nothing clinical); everyone else their own."""
    if user.has_role("admin"):
        return (
            Appointment.objects.filter(
                practice_id=user.practice_id, status=AppointmentStatus.SCHEDULED, ends_at__gt=timezone.now()
            )
            .select_related("therapist")
            .prefetch_related("participants__client")
            .order_by("starts_at")
        )
    return appointments_upcoming_for(user=user)


# Notes document sessions that have begun; a quarter-year back is what the note form offers.
DOCUMENT_BACK = timedelta(days=92)


def sessions_held(*, client: User, therapist: User, session_id: uuid.UUID | None = None) -> list[DocumentedSession]:
    """The client's sessions with this therapist that have begun and were not cancelled, newest first
    (or the one with ``session_id``): what a progress note can document."""
    held = (
        Appointment.objects.filter(
            practice_id=therapist.practice_id,
            therapist=therapist,
            participants__client=client,
            starts_at__lte=timezone.now(),
        )
        .exclude(status=AppointmentStatus.CANCELLED)
        .order_by("-starts_at")
    )
    if session_id is not None:
        held = held.filter(pk=session_id)
    else:
        held = held.filter(starts_at__gte=timezone.now() - DOCUMENT_BACK)
    return [
        DocumentedSession(id=a.pk, starts_at=a.starts_at, minutes=a.minutes, kind=a.get_kind_display())
        for a in held[:60]
    ]


def appointments_for_export(chart: Any, reader: User, access: Any) -> list[dict[str, object]]:
    """A client's sessions, as the copy of their record lists them."""
    return [
        {"starts_at": a.starts_at.isoformat(), "kind": a.kind, "status": a.status}
        for a in Appointment.objects.filter(participants__client_id=chart.client_id).order_by("starts_at")
    ]


def read_appointment(item: dict[str, Any], zone: Any, currency: str) -> Entry:
    facts = [("Kind", label(str(item.get("kind", "")))), ("Status", label(str(item.get("status", ""))))]
    return Entry(when(item.get("starts_at"), zone), facts=facts)


def waiting_for(therapist: User) -> list[dict[str, Any]]:
    """The therapist's open sessions with a client checked in and not admitted, soonest first."""
    now = timezone.now()
    admitted = Admission.objects.filter(appointment=OuterRef("appointment"), user=OuterRef("user"), revoked_at=None)
    checked_in = CheckIn.objects.filter(appointment=OuterRef("pk")).exclude(Exists(admitted))
    candidates = (
        Appointment.objects.filter(
            therapist=therapist,
            status=AppointmentStatus.SCHEDULED,
            starts_at__lte=now + timedelta(hours=2),
            ends_at__gte=now - timedelta(hours=2),
        )
        .filter(Exists(checked_in))
        .order_by("starts_at")
    )
    policy = policy_for(therapist.practice_id)
    found = []
    for appointment in candidates:
        if not join_window(appointment, policy=policy, now=now).is_open:
            continue
        starts = local_time(appointment.starts_at, therapist)
        found.append(
            {
                "appointment": str(appointment.pk),
                "time": f"{starts:%-I:%M}" if starts.minute else f"{starts:%-I}:00",
                "starts_at": appointment.starts_at.isoformat(),
                "url": reverse("sessions:join", args=[appointment.pk]),
            }
        )
    return found


def appointments_between(*, user: User, starts: Any, ends: Any) -> QuerySet[Appointment]:
    """Scheduled sessions starting in [starts, ends): an admin's whole practice (times and
    people, nothing clinical, as on the Sessions page), a therapist's own."""
    found = Appointment.objects.filter(
        practice_id=user.practice_id, status=AppointmentStatus.SCHEDULED, starts_at__gte=starts, starts_at__lt=ends
    )
    if not user.has_role("admin"):
        found = found.filter(therapist=user)
    return found.select_related("therapist").prefetch_related("participants__client").order_by("starts_at")


def appointments_listed(
    *, user: User, context: AuditContext | None, appointments: list[Appointment], where: str
) -> None:
    """One event for a list of sessions someone looked at (the sessions page, the calendar, the
    API), naming every client in them: each finds it under "who opened my record"."""
    clients = [p.client_id for a in appointments for p in a.participants.all()]
    audit_record(
        action=Action.APPOINTMENT_LIST, actor=user, context=context,
        details={"where": where, "count": len(appointments)}, subjects=clients,
    )  # fmt: skip
