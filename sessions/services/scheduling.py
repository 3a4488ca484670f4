"""Scheduling: single sessions, couples and family sessions, repeating series, moving and cancelling
them (one or all onward), ending a session; each change audited and the clients told."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.login_session import practice_zone
from accounts.models import Role, User
from accounts.selectors import clients_of_care_team
from audit.models import Action
from audit.services import audit_record
from sessions.models import (
    Appointment,
    AppointmentKind,
    AppointmentParticipant,
    AppointmentSeries,
    AppointmentStatus,
    Repeat,
)
from sessions.policy import join_window, local_time
from sessions.realtime import CloseCode, close_group, presence_changed, room_group
from sessions.services.charges import policy_fee, session_charges_draft
from sessions.signals import appointment_cancelled
from sessions.tasks import appointment_notify
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError

CLIENTS_PER_KIND = {AppointmentKind.INDIVIDUAL: (1, 1), AppointmentKind.COUPLE: (2, 2), AppointmentKind.FAMILY: (2, 3)}
MIN_MINUTES, MAX_MINUTES = 10, 240


# Scheduling ------------------------------------------------------------------------------------


def _check_time(starts_at: datetime, minutes: int) -> None:
    if timezone.is_naive(starts_at):
        raise ServiceError("The start time needs a time zone.", field="starts_at")
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise ServiceError("A session lasts between 10 minutes and 4 hours.", field="minutes")
    if starts_at < timezone.now() - timedelta(minutes=5):
        raise ServiceError("Choose a time in the future.", field="starts_at")
    if starts_at > timezone.now() + timedelta(days=366):
        raise ServiceError("Schedule at most a year ahead.", field="starts_at")


def _check_free(
    therapist: User, starts_at: datetime, ends_at: datetime, *, moving: Appointment | None = None, also: Any = ()
) -> None:
    """A therapist is in one session at a time: refuse a time that overlaps another scheduled
    session of theirs (back to back is fine), other than the ones being moved. Called inside the
    transaction, after the therapist's row is locked, so two at once cannot both take the hour."""
    others = Appointment.objects.filter(
        therapist=therapist, status=AppointmentStatus.SCHEDULED, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    skip = {a.pk for a in ([moving] if moving is not None else [])} | set(also)
    if skip:
        others = others.exclude(pk__in=skip)
    clash = others.order_by("starts_at").first()
    if clash is not None:
        begins, ends = local_time(clash.starts_at, therapist), local_time(clash.ends_at, therapist)
        raise ServiceError(
            f"You already have a session then, {begins:%A %-d %B} from {begins:%H:%M} to {ends:%H:%M}.",
            field="starts_at",
            code="overlap",
        )


def _lock_therapist(therapist: User) -> None:
    User.objects.select_for_update().filter(pk=therapist.pk).first()


def _caseload_ids(therapist: User) -> set[int]:
    return set(clients_of_care_team(therapist=therapist).values_list("pk", flat=True))


def _check_people(therapist: User, clients: Sequence[User], kind: str) -> dict[int, User]:
    if not therapist.has_role(Role.THERAPIST):
        raise NotAllowed("Only a therapist schedules sessions.", target_type="accounts.user", target_id=therapist.pk)
    if kind not in CLIENTS_PER_KIND:
        raise ServiceError("Choose individual, couple or family.", field="kind")
    low, high = CLIENTS_PER_KIND[AppointmentKind(kind)]
    unique = {c.pk: c for c in clients}
    if not low <= len(unique) <= high:
        raise ServiceError(
            f"A {kind} session has {low}{'' if low == high else f' to {high}'} client(s).", field="clients"
        )
    for client in unique.values():
        if client.practice_id != therapist.practice_id or not client.has_role(Role.CLIENT) or not client.is_active:
            raise ServiceError("Every participant must be an active client of this practice.", field="clients")
    if not set(unique) <= _caseload_ids(therapist):
        raise ServiceError("You can schedule only clients on your caseload.", field="clients")
    return unique


def _create(
    therapist: User, clients: list[User], kind: str, starts_at: datetime, minutes: int, series: Any = None
) -> Appointment:
    appointment = Appointment.objects.create(
        practice_id=therapist.practice_id,
        therapist=therapist,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        series=series,
    )
    AppointmentParticipant.objects.bulk_create(
        [AppointmentParticipant(appointment=appointment, client=c) for c in clients]
    )
    return appointment


def appointment_schedule(
    *,
    therapist: User,
    clients: Sequence[User],
    kind: str,
    starts_at: datetime,
    minutes: int = 50,
    context: AuditContext | None = None,
    notify: bool = True,
    actor: User | None = None,
) -> Appointment:
    """``actor``: who booked it, when not the therapist (a client booking online)."""
    unique = _check_people(therapist, clients, kind)
    _check_time(starts_at, minutes)
    with transaction.atomic():
        _lock_therapist(therapist)
        _check_free(therapist, starts_at, starts_at + timedelta(minutes=minutes))
        appointment = _create(therapist, list(unique.values()), kind, starts_at, minutes)
        audit_record(
            action=Action.APPOINTMENT_SCHEDULE,
            actor=actor or therapist,
            context=context,
            target=appointment,
            details={"kind": kind, "clients": len(unique)},
        )
        if notify:
            _notify_clients(appointment, "scheduled")
    return appointment


# Repeating sessions ---------------------------------------------------------------------------------

MAX_OCCURRENCES = 52


def occurrences(first: datetime, repeat: str, *, zone: Any, count: int | None, until: date | None) -> list[datetime]:
    """The start of every occurrence, at the same local time of day in ``zone`` (so across a
    daylight-saving change a 10:00 session stays at 10:00); a monthly one on the same day of the
    month, or the month's last day when it is shorter."""
    local = first.astimezone(zone)
    found: list[datetime] = []
    index = 0
    while len(found) < MAX_OCCURRENCES:
        if repeat == Repeat.MONTHLY:
            month = local.month - 1 + index
            year, month = local.year + month // 12, month % 12 + 1
            day = min(local.day, calendar.monthrange(year, month)[1])
            moment = local.replace(year=year, month=month, day=day)
        else:
            step = 7 if repeat == Repeat.WEEKLY else 14
            moment = datetime.combine(local.date() + timedelta(days=step * index), local.timetz())
        moment = moment.replace(tzinfo=zone)
        if until is not None and moment.date() > until:
            break
        found.append(moment)
        index += 1
        if count is not None and len(found) >= count:
            break
    return found


def series_schedule(
    *,
    therapist: User,
    clients: Sequence[User],
    kind: str,
    starts_at: datetime,
    minutes: int,
    repeat: str,
    count: int | None = None,
    until: date | None = None,
    context: AuditContext | None = None,
    notify: bool = True,
) -> list[Appointment]:
    """Every occurrence at once, or none: a time that clashes with another of the therapist's
    sessions refuses the whole series, naming it."""
    if repeat not in Repeat.values:
        raise ServiceError("Choose how often it repeats.", field="repeat")
    if (count is None) == (until is None):
        raise ServiceError("Say how many sessions, or until when.", field="count")
    if count is not None and not 2 <= count <= MAX_OCCURRENCES:
        raise ServiceError(f"A series has 2 to {MAX_OCCURRENCES} sessions.", field="count")
    unique = _check_people(therapist, clients, kind)
    _check_time(starts_at, minutes)
    zone = practice_zone(therapist.zone_name)
    if until is not None and until < starts_at.astimezone(zone).date():
        raise ServiceError("The series ends before it starts.", field="until")
    starts = occurrences(starts_at, repeat, zone=zone, count=count, until=until)
    if len(starts) < 2:
        raise ServiceError("A series has at least two sessions: choose a later end.", field="until")
    _check_time(starts[-1], minutes)
    with transaction.atomic():
        _lock_therapist(therapist)
        for moment in starts:
            _check_free(therapist, moment, moment + timedelta(minutes=minutes))
        series = AppointmentSeries.objects.create(practice_id=therapist.practice_id, therapist=therapist, repeat=repeat)
        made = [_create(therapist, list(unique.values()), kind, moment, minutes, series) for moment in starts]
        audit_record(
            action=Action.APPOINTMENT_SCHEDULE,
            actor=therapist,
            context=context,
            target=made[0],
            details={"kind": kind, "clients": len(unique), "repeat": repeat, "occurrences": len(made)},
        )
        if notify:
            _notify_clients(made[0], "scheduled")  # once for the series; each session has its reminder
    return made


def _move(appointment: Appointment, starts_at: datetime, minutes: int) -> None:
    """A new time, and so its reminders still to send."""
    appointment.starts_at, appointment.ends_at = starts_at, starts_at + timedelta(minutes=minutes)
    appointment.reminder_sent_at = appointment.last_reminder_sent_at = None
    appointment.save(update_fields=["starts_at", "ends_at", "reminder_sent_at", "last_reminder_sent_at"])


def _onward(appointment: Appointment) -> list[Appointment]:
    """This occurrence and every later scheduled one of its series, locked, in order."""
    return list(
        Appointment.objects.select_for_update()
        .filter(
            series_id=appointment.series_id,
            status=AppointmentStatus.SCHEDULED,
            starts_at__gte=appointment.starts_at,
        )
        .order_by("starts_at")
    )


def series_reschedule_onward(
    *, therapist: User, appointment: Appointment, starts_at: datetime, minutes: int, context: AuditContext | None
) -> list[Appointment]:
    """Move this occurrence and every later one by the same change of day and local time."""
    if appointment.series_id is None:
        return [
            appointment_reschedule(
                therapist=therapist, appointment=appointment, starts_at=starts_at, minutes=minutes, context=context
            )
        ]
    _check_time(starts_at, minutes)
    zone = practice_zone(therapist.zone_name)
    with transaction.atomic():
        _lock_therapist(therapist)
        first = _lock_own(therapist, appointment)
        moving = _onward(first)
        was, now = first.starts_at.astimezone(zone), starts_at.astimezone(zone)
        days, clock = (now.date() - was.date()).days, now.timetz()
        targets = [
            datetime.combine(a.starts_at.astimezone(zone).date() + timedelta(days=days), clock).replace(tzinfo=zone)
            for a in moving
        ]
        ids = {a.pk for a in moving}
        for target in targets:
            _check_free(therapist, target, target + timedelta(minutes=minutes), also=ids)
        for item, target in zip(moving, targets, strict=True):
            _move(item, target, minutes)
        audit_record(
            action=Action.APPOINTMENT_RESCHEDULE,
            actor=therapist,
            context=context,
            target=first,
            details={"from": was.isoformat(), "to": now.isoformat(), "minutes": minutes, "occurrences": len(moving)},
        )
        _notify_clients(first, "rescheduled")
        for item in moving:
            if not join_window(item).is_open:
                close_group(room_group(item.pk), CloseCode.APPOINTMENT_OVER, "rescheduled")
        presence_changed(therapist.pk)
    return moving


def series_cancel_onward(*, therapist: User, appointment: Appointment, context: AuditContext | None) -> int:
    """Cancel this occurrence and every later one; the earlier ones stand."""
    if appointment.series_id is None:
        appointment_cancel(therapist=therapist, appointment=appointment, context=context)
        return 1
    with transaction.atomic():
        first = _lock_own(therapist, appointment)
        cancelled = _onward(first)
        for item in cancelled:
            item.status = AppointmentStatus.CANCELLED
            item.closed_at = timezone.now()
            item.save(update_fields=["status", "closed_at"])
            close_group(room_group(item.pk), CloseCode.APPOINTMENT_OVER, "cancelled")
        audit_record(
            action=Action.APPOINTMENT_CANCEL,
            actor=therapist,
            context=context,
            target=first,
            details={"occurrences": len(cancelled), "onward": True},
        )
        _notify_clients(first, "cancelled")
        presence_changed(therapist.pk)
        appointment_cancelled.send(sender=Appointment, appointment=first)
    return len(cancelled)


def _lock_own(therapist: User, appointment: Appointment) -> Appointment:
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if locked.therapist_id != therapist.pk:
        raise NotAllowed(
            "Only the session's therapist can change it.",
            target_type=appointment._meta.label_lower,
            target_id=appointment.pk,
        )
    if locked.status != AppointmentStatus.SCHEDULED:
        raise ServiceError(f"This session is already {locked.get_status_display().lower()}.", code="conflict")
    return locked


def appointment_reschedule(
    *, therapist: User, appointment: Appointment, starts_at: datetime, minutes: int, context: AuditContext | None
) -> Appointment:
    _check_time(starts_at, minutes)
    with transaction.atomic():
        _lock_therapist(therapist)
        locked = _lock_own(therapist, appointment)
        _check_free(therapist, starts_at, starts_at + timedelta(minutes=minutes), moving=locked)
        was = locked.starts_at
        _move(locked, starts_at, minutes)
        audit_record(
            action=Action.APPOINTMENT_RESCHEDULE,
            actor=therapist,
            context=context,
            target=locked,
            details={"from": was.isoformat(), "to": starts_at.isoformat(), "minutes": minutes},
        )
        _notify_clients(locked, "rescheduled")
        # Anyone already in the room for the old time is let go.
        if not join_window(locked).is_open:
            close_group(room_group(locked.pk), CloseCode.APPOINTMENT_OVER, "rescheduled")
            presence_changed(locked.therapist_id)
    return locked


def appointment_cancel(
    *, therapist: User, appointment: Appointment, context: AuditContext | None, fee: str = ""
) -> Appointment:
    """Cancel a session; ``fee`` ("no_show", "late_cancel") charges the practice's policy fee when
    the client missed it or cancelled inside the window (sessions.services.charges.policy_fee)."""
    with transaction.atomic():
        locked = _lock_own(therapist, appointment)
        locked.status = AppointmentStatus.CANCELLED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        audit_record(action=Action.APPOINTMENT_CANCEL, actor=therapist, context=context, target=locked,
                     details={"fee": fee} if fee else None)  # fmt: skip
        if fee:
            policy_fee(locked, fee, context=context)
        _notify_clients(locked, "cancelled")
        close_group(room_group(locked.pk), CloseCode.APPOINTMENT_OVER, "cancelled")
        presence_changed(locked.therapist_id)
        appointment_cancelled.send(sender=Appointment, appointment=locked)
    return locked


def appointment_end(*, therapist: User, appointment: Appointment, context: AuditContext | None = None) -> Appointment:
    """End the call for everyone. Nobody can join again. ``context``: where it was asked (the
    therapist's socket)."""
    with transaction.atomic():
        locked = _lock_own(therapist, appointment)
        locked.status = AppointmentStatus.ENDED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        audit_record(action=Action.VIDEO_END, actor=therapist, context=context, target=locked)
        close_group(room_group(locked.pk), CloseCode.APPOINTMENT_OVER, "ended")
        presence_changed(locked.therapist_id)
        ended = str(locked.pk)
        transaction.on_commit(lambda: session_charges_draft.delay(ended))
    return locked


def _notify_clients(appointment: Appointment, what: str) -> None:
    appointment_id = str(appointment.pk)
    transaction.on_commit(lambda: appointment_notify.delay(appointment_id, what))
