"""Scheduling appointments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from sessions.models import Appointment, AppointmentKind, AppointmentParticipant

CLIENTS_PER_KIND = {AppointmentKind.INDIVIDUAL: (1, 1), AppointmentKind.COUPLE: (2, 2), AppointmentKind.FAMILY: (2, 3)}


class AppointmentError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def appointment_schedule(
    *,
    therapist: User,
    clients: Sequence[User],
    kind: str,
    starts_at: datetime,
    minutes: int = 50,
    request: HttpRequest | None = None,
) -> Appointment:
    if not therapist.has_role(Role.THERAPIST):
        raise AppointmentError("Only a therapist schedules sessions.")
    if kind not in CLIENTS_PER_KIND:
        raise AppointmentError("Choose individual, couple or family.")
    low, high = CLIENTS_PER_KIND[AppointmentKind(kind)]
    unique = {c.pk: c for c in clients}
    if not low <= len(unique) <= high:
        raise AppointmentError(f"A {kind} session has {low}{'' if low == high else f' to {high}'} client(s).")
    for client in unique.values():
        if client.practice_id != therapist.practice_id or not client.has_role(Role.CLIENT) or not client.is_active:
            raise AppointmentError("Every participant must be an active client of this practice.")
    if timezone.is_naive(starts_at):
        raise AppointmentError("The start time needs a time zone.")
    if not 10 <= minutes <= 240:
        raise AppointmentError("A session lasts between 10 minutes and 4 hours.")
    with transaction.atomic():
        appointment = Appointment.objects.create(
            practice_id=therapist.practice_id,
            therapist=therapist,
            kind=kind,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
        )
        AppointmentParticipant.objects.bulk_create(
            [AppointmentParticipant(appointment=appointment, client=c) for c in unique.values()]
        )
        audit_record(
            action=Action.APPOINTMENT_SCHEDULE,
            actor=therapist,
            request=request,
            target=appointment,
            details={"kind": kind, "clients": len(unique)},
        )
    return appointment
