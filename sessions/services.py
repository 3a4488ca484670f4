"""Scheduling, the session policy, check-in, admission and ending sessions."""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.login_session import practice_zone
from accounts.models import Role, User
from accounts.selectors import clients_of_care_team
from audit.models import Action
from audit.services import audit_record
from sessions.models import (
    Admission,
    Appointment,
    AppointmentKind,
    AppointmentParticipant,
    AppointmentSeries,
    AppointmentStatus,
    CheckIn,
    Repeat,
    SessionPolicy,
    TherapistLicense,
)
from sessions.policy import join_window, local_time, policy_for
from sessions.realtime import CloseCode, close_group, presence_changed, room_group
from sessions.regions import REGION_NAMES
from sessions.tasks import appointment_notify
from sessions.zones import real_zones
from teletherapy.errors import ServiceError

CLIENTS_PER_KIND = {AppointmentKind.INDIVIDUAL: (1, 1), AppointmentKind.COUPLE: (2, 2), AppointmentKind.FAMILY: (2, 3)}
MIN_MINUTES, MAX_MINUTES = 10, 240


AppointmentError = ServiceError  # one error channel: teletherapy.errors


def policy_update(*, actor: User, request: HttpRequest | None, **changes: object) -> SessionPolicy:
    if not actor.has_role(Role.ADMIN):
        raise AppointmentError("Only a practice admin changes the session settings.", code="not_allowed")
    before = int(changes.get("join_before_minutes", 15))  # type: ignore[call-overload]
    after = int(changes.get("join_after_minutes", 30))  # type: ignore[call-overload]
    if not 0 <= before <= 120:
        raise AppointmentError("Joining can open at most 120 minutes early.", field="join_before_minutes")
    if not 0 <= after <= 240:
        raise AppointmentError("Joining can stay open at most 240 minutes after the end.", field="join_after_minutes")
    hours = int(changes.get("reminder_hours", 24))  # type: ignore[call-overload]
    if not 1 <= hours <= 168:
        raise AppointmentError("Send reminders between 1 and 168 hours ahead.", field="reminder_hours")
    with transaction.atomic():
        policy, _ = SessionPolicy.objects.select_for_update().get_or_create(practice_id=actor.practice_id)
        policy.join_before_minutes = before
        policy.join_after_minutes = after
        policy.reminder_hours = hours
        policy.relay_only = bool(changes.get("relay_only", False))
        policy.block_unlicensed_location = bool(changes.get("block_unlicensed_location", False))
        policy.save()
        audit_record(
            action=Action.SESSION_POLICY_CHANGE,
            actor=actor,
            request=request,
            target=policy,
            details={
                "join_before_minutes": before,
                "join_after_minutes": after,
                "relay_only": policy.relay_only,
                "block_unlicensed_location": policy.block_unlicensed_location,
                "reminder_hours": hours,
            },
        )
    return policy


def licenses_set(*, therapist: User, regions: Iterable[str], request: HttpRequest | None) -> list[str]:
    if not therapist.has_role(Role.THERAPIST):
        raise AppointmentError("Only therapists hold licenses here.", code="not_allowed")
    wanted = sorted(set(regions))
    unknown = [r for r in wanted if r not in REGION_NAMES or r == "OUTSIDE-US"]
    if unknown:
        raise AppointmentError("Choose states from the list.", field="regions")
    with transaction.atomic():
        TherapistLicense.objects.filter(therapist=therapist).exclude(region__in=wanted).delete()
        have = set(TherapistLicense.objects.filter(therapist=therapist).values_list("region", flat=True))
        TherapistLicense.objects.bulk_create(
            [TherapistLicense(therapist=therapist, region=r) for r in wanted if r not in have]
        )
        audit_record(
            action=Action.LICENSES_CHANGE,
            actor=therapist,
            request=request,
            target=therapist,
            details={"regions": wanted},
        )
    return wanted


def licensed_in(therapist_id: int, region: str) -> bool:
    return TherapistLicense.objects.filter(therapist_id=therapist_id, region=region).exists()


# Scheduling ------------------------------------------------------------------------------------


def _check_time(starts_at: datetime, minutes: int) -> None:
    if timezone.is_naive(starts_at):
        raise AppointmentError("The start time needs a time zone.", field="starts_at")
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise AppointmentError("A session lasts between 10 minutes and 4 hours.", field="minutes")
    if starts_at < timezone.now() - timedelta(minutes=5):
        raise AppointmentError("Choose a time in the future.", field="starts_at")
    if starts_at > timezone.now() + timedelta(days=366):
        raise AppointmentError("Schedule at most a year ahead.", field="starts_at")


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
        raise AppointmentError(
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
        raise AppointmentError("Only a therapist schedules sessions.", code="not_allowed")
    if kind not in CLIENTS_PER_KIND:
        raise AppointmentError("Choose individual, couple or family.", field="kind")
    low, high = CLIENTS_PER_KIND[AppointmentKind(kind)]
    unique = {c.pk: c for c in clients}
    if not low <= len(unique) <= high:
        raise AppointmentError(
            f"A {kind} session has {low}{'' if low == high else f' to {high}'} client(s).", field="clients"
        )
    for client in unique.values():
        if client.practice_id != therapist.practice_id or not client.has_role(Role.CLIENT) or not client.is_active:
            raise AppointmentError("Every participant must be an active client of this practice.", field="clients")
    if not set(unique) <= _caseload_ids(therapist):
        raise AppointmentError("You can schedule only clients on your caseload.", field="clients")
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
    request: HttpRequest | None = None,
    notify: bool = True,
) -> Appointment:
    unique = _check_people(therapist, clients, kind)
    _check_time(starts_at, minutes)
    with transaction.atomic():
        _lock_therapist(therapist)
        _check_free(therapist, starts_at, starts_at + timedelta(minutes=minutes))
        appointment = _create(therapist, list(unique.values()), kind, starts_at, minutes)
        audit_record(
            action=Action.APPOINTMENT_SCHEDULE,
            actor=therapist,
            request=request,
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
    request: HttpRequest | None = None,
    notify: bool = True,
) -> list[Appointment]:
    """Every occurrence at once, or none: a time that clashes with another of the therapist's
    sessions refuses the whole series, naming it."""
    if repeat not in Repeat.values:
        raise AppointmentError("Choose how often it repeats.", field="repeat")
    if (count is None) == (until is None):
        raise AppointmentError("Say how many sessions, or until when.", field="count")
    if count is not None and not 2 <= count <= MAX_OCCURRENCES:
        raise AppointmentError(f"A series has 2 to {MAX_OCCURRENCES} sessions.", field="count")
    unique = _check_people(therapist, clients, kind)
    _check_time(starts_at, minutes)
    zone = practice_zone(therapist.zone_name)
    if until is not None and until < starts_at.astimezone(zone).date():
        raise AppointmentError("The series ends before it starts.", field="until")
    starts = occurrences(starts_at, repeat, zone=zone, count=count, until=until)
    if len(starts) < 2:
        raise AppointmentError("A series has at least two sessions: choose a later end.", field="until")
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
            request=request,
            target=made[0],
            details={"kind": kind, "clients": len(unique), "repeat": repeat, "occurrences": len(made)},
        )
        if notify:
            _notify_clients(made[0], "scheduled")  # once for the series; each session has its reminder
    return made


def _move(appointment: Appointment, starts_at: datetime, minutes: int) -> None:
    """A new time, and so a reminder still to send."""
    appointment.starts_at, appointment.ends_at = starts_at, starts_at + timedelta(minutes=minutes)
    appointment.reminder_sent_at = None
    appointment.save(update_fields=["starts_at", "ends_at", "reminder_sent_at"])


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
    *, therapist: User, appointment: Appointment, starts_at: datetime, minutes: int, request: HttpRequest | None
) -> list[Appointment]:
    """Move this occurrence and every later one by the same change of day and local time."""
    if appointment.series_id is None:
        return [
            appointment_reschedule(
                therapist=therapist, appointment=appointment, starts_at=starts_at, minutes=minutes, request=request
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
            request=request,
            target=first,
            details={"from": was.isoformat(), "to": now.isoformat(), "minutes": minutes, "occurrences": len(moving)},
        )
        _notify_clients(first, "rescheduled")
        for item in moving:
            if not join_window(item).is_open:
                close_group(room_group(item.pk), CloseCode.APPOINTMENT_OVER, "rescheduled")
        presence_changed(therapist.pk)
    return moving


def series_cancel_onward(*, therapist: User, appointment: Appointment, request: HttpRequest | None) -> int:
    """Cancel this occurrence and every later one; the earlier ones stand."""
    if appointment.series_id is None:
        appointment_cancel(therapist=therapist, appointment=appointment, request=request)
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
            request=request,
            target=first,
            details={"occurrences": len(cancelled), "onward": True},
        )
        _notify_clients(first, "cancelled")
        presence_changed(therapist.pk)
    return len(cancelled)


def _lock_own(therapist: User, appointment: Appointment) -> Appointment:
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if locked.therapist_id != therapist.pk:
        raise AppointmentError("Only the session's therapist can change it.", code="not_allowed")
    if locked.status != AppointmentStatus.SCHEDULED:
        raise AppointmentError(f"This session is already {locked.get_status_display().lower()}.", code="conflict")
    return locked


def appointment_reschedule(
    *, therapist: User, appointment: Appointment, starts_at: datetime, minutes: int, request: HttpRequest | None
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
            request=request,
            target=locked,
            details={"from": was.isoformat(), "to": starts_at.isoformat(), "minutes": minutes},
        )
        _notify_clients(locked, "rescheduled")
        # Anyone already in the room for the old time is let go.
        if not join_window(locked).is_open:
            close_group(room_group(locked.pk), CloseCode.APPOINTMENT_OVER, "rescheduled")
            presence_changed(locked.therapist_id)
    return locked


def appointment_cancel(*, therapist: User, appointment: Appointment, request: HttpRequest | None) -> Appointment:
    with transaction.atomic():
        locked = _lock_own(therapist, appointment)
        locked.status = AppointmentStatus.CANCELLED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        audit_record(action=Action.APPOINTMENT_CANCEL, actor=therapist, request=request, target=locked)
        _notify_clients(locked, "cancelled")
        close_group(room_group(locked.pk), CloseCode.APPOINTMENT_OVER, "cancelled")
        presence_changed(locked.therapist_id)
    return locked


def appointment_end(*, therapist: User, appointment: Appointment, request: HttpRequest | None = None) -> Appointment:
    """End the call for everyone. Nobody can join again."""
    with transaction.atomic():
        locked = _lock_own(therapist, appointment)
        locked.status = AppointmentStatus.ENDED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        audit_record(action=Action.VIDEO_END, actor=therapist, request=request, target=locked)
        close_group(room_group(locked.pk), CloseCode.APPOINTMENT_OVER, "ended")
        presence_changed(locked.therapist_id)
    return locked


def _notify_clients(appointment: Appointment, what: str) -> None:
    appointment_id = str(appointment.pk)
    transaction.on_commit(lambda: appointment_notify.delay(appointment_id, what))


# Before and during the call ---------------------------------------------------------------------


def check_in_record(
    *,
    user: User,
    appointment: Appointment,
    location: str,
    private_device: bool,
    private_network: bool,
    private_space: bool,
    request: HttpRequest | None,
) -> CheckIn:
    if location not in REGION_NAMES:
        raise AppointmentError("Choose where you are from the list.", field="location")
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
        )
        audit_record(
            action=Action.VIDEO_CHECK_IN,
            actor=user,
            request=request,
            target=appointment,
            details={
                "location": location,
                "licensed": licensed,
                "checklist": [private_device, private_network, private_space],
            },
        )
    if policy.block_unlicensed_location and not licensed:
        raise AppointmentError(
            f"Your therapist is not licensed to see clients in {REGION_NAMES[location]}, and this practice does not "
            "hold sessions there. Contact your practice to rearrange.",
            code="location_blocked",
            field="location",
        )
    presence_changed(appointment.therapist_id)
    return check_in


def check_in_latest(*, user_id: int, appointment_id: uuid.UUID | str) -> CheckIn | None:
    return CheckIn.objects.filter(appointment_id=appointment_id, user_id=user_id).order_by("-created_at").first()


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


def admission_grant(*, therapist: User, appointment: Appointment, user_id: int) -> None:
    with transaction.atomic():
        if not admission_active(appointment_id=appointment.pk, user_id=user_id):
            Admission.objects.create(appointment=appointment, user_id=user_id, admitted_by=therapist)
        audit_record(
            action=Action.VIDEO_ADMIT,
            actor=therapist,
            target=appointment,
            details={"admitted": user_id, "channel": "websocket"},
        )
        presence_changed(appointment.therapist_id)


def admission_revoke(*, therapist: User, appointment: Appointment, user_id: int) -> None:
    with transaction.atomic():
        Admission.objects.filter(appointment=appointment, user_id=user_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        audit_record(
            action=Action.VIDEO_REMOVE,
            actor=therapist,
            target=appointment,
            details={"removed": user_id, "channel": "websocket"},
        )
        presence_changed(appointment.therapist_id)


def time_zone_set(*, user: User, zone: str) -> None:
    """Show times in this zone; an empty value means the practice's zone."""
    if zone and zone not in real_zones():
        raise AppointmentError("Choose a time zone from the list.", field="zone")
    user.time_zone = zone
    user.save(update_fields=["time_zone"])
