from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.selectors import clients_of_care_team
from sessions.models import Appointment, AppointmentStatus
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


def appointments_for_export(client: User) -> list[dict[str, object]]:
    """A client's sessions, as their copy of the record lists them."""
    return [
        {"starts_at": a.starts_at.isoformat(), "kind": a.kind, "status": a.status}
        for a in Appointment.objects.filter(participants__client=client)
    ]
