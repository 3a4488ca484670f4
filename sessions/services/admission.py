"""Before and during the call: a client's check-in (where they are, that they are private), and
the therapist admitting, removing and re-admitting people, with a short grace to rejoin.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from sessions.models import (
    Admission,
    Appointment,
    CheckIn,
)
from sessions.policy import policy_for
from sessions.realtime import presence_changed
from sessions.regions import REGION_NAMES
from sessions.services.policy import licensed_in
from teletherapy.context import AuditContext
from teletherapy.errors import ServiceError

# Before and during the call ---------------------------------------------------------------------


def check_in_record(
    *,
    user: User,
    appointment: Appointment,
    location: str,
    private_device: bool,
    private_network: bool,
    private_space: bool,
    context: AuditContext | None,
    at_home: bool = True,
) -> CheckIn:
    if location not in REGION_NAMES:
        raise ServiceError("Choose where you are from the list.", field="location")
    policy = policy_for(appointment.practice_id)
    licensed = licensed_in(appointment.therapist_id, location)
    with transaction.atomic():
        check_in = CheckIn.objects.create(
            appointment=appointment,
            user=user,
            location=location,
            private_device=private_device,
            private_network=private_network,
            private_space=private_space,
            at_home=at_home,
        )
        audit_record(
            action=Action.VIDEO_CHECK_IN,
            actor=user,
            context=context,
            target=appointment,
            details={
                "location": location,
                "licensed": licensed,
                "checklist": [private_device, private_network, private_space],
            },
        )
    if policy.block_unlicensed_location and not licensed:
        raise ServiceError(
            f"Your therapist is not licensed to see clients in {REGION_NAMES[location]}, and this practice does not "
            "hold sessions there. Contact your practice to rearrange.",
            code="location_blocked",
            field="location",
        )
    presence_changed(appointment.therapist_id)
    return check_in


def check_in_latest(*, user_id: int, appointment_id: uuid.UUID | str) -> CheckIn | None:
    return CheckIn.objects.filter(appointment_id=appointment_id, user_id=user_id).order_by("-created_at").first()


def location_last_given(*, user_id: int) -> str:
    """Where the person said they were at their last check-in, for any session: the join page
    offers it again, to change if they are elsewhere."""
    found = CheckIn.objects.filter(user_id=user_id).exclude(location="").order_by("-created_at").first()
    return found.location if found else ""


def rejoin_grace() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "SIGNALING_REJOIN_GRACE_SECONDS", 120)))


def admission_active(*, appointment_id: uuid.UUID | str, user_id: int) -> bool:
    """Admitted, not removed, and either still connected or gone for less than the grace period
    (a dropped network, a reload): then they come straight back without being admitted again."""
    return (
        Admission.objects.filter(appointment_id=appointment_id, user_id=user_id, revoked_at__isnull=True)
        .filter(Q(departed_at__isnull=True) | Q(departed_at__gte=timezone.now() - rejoin_grace()))
        .exists()
    )


def admission_departed(*, appointment_id: uuid.UUID | str, user_id: int) -> None:
    """Their socket went away: the grace period starts."""
    Admission.objects.filter(
        appointment_id=appointment_id, user_id=user_id, revoked_at__isnull=True, departed_at__isnull=True
    ).update(departed_at=timezone.now())


def admission_returned(*, appointment_id: uuid.UUID | str, user_id: int) -> None:
    """Back within the grace period: connected again."""
    Admission.objects.filter(appointment_id=appointment_id, user_id=user_id, revoked_at__isnull=True).update(
        departed_at=None
    )


def admission_grant(
    *, therapist: User, appointment: Appointment, user_id: int, context: AuditContext | None = None
) -> None:
    """The therapist admits someone waiting; ``context`` is where it was asked (their socket)."""
    with transaction.atomic():
        if not admission_active(appointment_id=appointment.pk, user_id=user_id):
            Admission.objects.create(appointment=appointment, user_id=user_id, admitted_by=therapist)
        audit_record(
            action=Action.VIDEO_ADMIT,
            actor=therapist,
            context=context,
            target=appointment,
            details={"admitted": user_id, "channel": "websocket"},
        )
        presence_changed(appointment.therapist_id)


def admission_revoke(
    *, therapist: User, appointment: Appointment, user_id: int, context: AuditContext | None = None
) -> None:
    """The therapist removes someone from the call; they may not come back without admission."""
    with transaction.atomic():
        Admission.objects.filter(appointment=appointment, user_id=user_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        audit_record(
            action=Action.VIDEO_REMOVE,
            actor=therapist,
            context=context,
            target=appointment,
            details={"removed": user_id, "channel": "websocket"},
        )
        presence_changed(appointment.therapist_id)
