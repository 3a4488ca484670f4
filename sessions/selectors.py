from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from sessions.models import Appointment, AppointmentStatus


def appointments_upcoming_for(*, user: User) -> QuerySet[Appointment]:
    """Scheduled sessions not yet over, where the user is a client, a client's guardian, or the therapist."""
    return (
        Appointment.objects.filter(
            practice_id=user.practice_id, status=AppointmentStatus.SCHEDULED, ends_at__gt=timezone.now()
        )
        .filter(Q(therapist=user) | Q(participants__client=user) | Q(participants__client__guardians__guardian=user))
        .distinct()
        .prefetch_related("participants__client")
        .order_by("starts_at")
    )


def appointment_get_for_user(*, user: User, appointment_id: str) -> Appointment | None:
    try:
        return appointments_upcoming_for(user=user).filter(pk=appointment_id).first()
    except (ValueError, TypeError, ValidationError):
        return None


def caseload_of(therapist: User) -> QuerySet[User]:
    """The active clients whose care team includes this therapist."""
    return User.objects.filter(
        practice_id=therapist.practice_id, chart__care_team=therapist, is_active=True, role_grants__role="client"
    ).order_by("full_name")


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
