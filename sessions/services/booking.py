"""Booking online: a therapist's working hours and session types, the open times they give, and
a client on the therapist's caseload booking, moving or cancelling a session within the
practice's policy (until ``late_cancel_hours`` before it; after that they ask the therapist).

An open time fits a session type's length inside a span of working hours, at least its notice
from now and at most its horizon ahead, with its buffer clear of the therapist's other sessions.
Times start on the hour and half hour, in the therapist's zone; pages show them in the viewer's.
A booking re-checks its time after locking the therapist's row, as every scheduling write does,
so two clients taking the same time at once cannot both have it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.login_session import practice_zone
from accounts.models import Role, User
from accounts.selectors import on_care_team_of
from audit.models import Action
from audit.services import audit_record
from sessions.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    SessionMode,
    SessionType,
    TimeOff,
    WorkingHours,
)
from sessions.policy import policy_for
from sessions.services.scheduling import _lock_therapist, _move, _notify_clients, appointment_schedule
from sessions.signals import appointment_cancelled
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, NotAllowed, NotVisible, ServiceError
from teletherapy.ids import as_uuid

STEP = timedelta(minutes=30)


def _therapist_only(user: User) -> None:
    if not user.has_role(Role.THERAPIST):
        raise NotAllowed("Only a therapist sets working hours and session types.", target_type="accounts.user",
                         target_id=user.pk)  # fmt: skip


# The therapist's side -----------------------------------------------------------------------------


def hours_set(*, therapist: User, spans: Iterable[tuple[int, time, time]], context: AuditContext | None) -> int:
    """Replace the therapist's working hours with ``spans`` (weekday, from, to); none may overlap."""
    _therapist_only(therapist)
    wanted = sorted({(int(d), a, b) for d, a, b in spans})
    for day, starts, ends in wanted:
        if not 0 <= day <= 6:
            raise ServiceError("Choose a day of the week.", field="hours")
        if ends <= starts:
            raise ServiceError("Each span of working hours ends after it starts.", field="hours")
    for (day, _a, first_end), (next_day, next_start, _b) in pairwise(wanted):
        if day == next_day and next_start < first_end:
            raise ServiceError("Two spans of working hours overlap on the same day.", field="hours")
    with transaction.atomic():
        WorkingHours.objects.filter(therapist=therapist).delete()
        WorkingHours.objects.bulk_create(
            [WorkingHours(therapist=therapist, weekday=d, starts=a, ends=b) for d, a, b in wanted]
        )
        audit_record(
            action=Action.BOOKING_SETTINGS_CHANGE, actor=therapist, context=context, target=therapist,
            details={"what": "working_hours", "spans": len(wanted)},
        )  # fmt: skip
    return len(wanted)


def time_off_add(*, therapist: User, first: date, last: date, context: AuditContext | None) -> TimeOff:
    """Days away, from the start of ``first`` to the end of ``last`` in the therapist's zone.
    Sessions already booked in them stay: the therapist moves or cancels those themself."""
    _therapist_only(therapist)
    if last < first:
        raise ServiceError("The last day off comes on or after the first.", field="last")
    if first < timezone.localdate() - timedelta(days=1) or (last - first).days > 366:
        raise ServiceError("Choose days from today on, a year at most.", field="first")
    zone = practice_zone(therapist.zone_name)
    with transaction.atomic():
        away = TimeOff.objects.create(
            therapist=therapist,
            starts_at=datetime.combine(first, time(0), zone),
            ends_at=datetime.combine(last + timedelta(days=1), time(0), zone),
        )
        audit_record(
            action=Action.BOOKING_SETTINGS_CHANGE, actor=therapist, context=context, target=away,
            details={"what": "time_off", "days": (last - first).days + 1},
        )  # fmt: skip
    return away


def time_off_remove(*, therapist: User, time_off_id: object, context: AuditContext | None) -> None:
    _therapist_only(therapist)
    with transaction.atomic():
        away = TimeOff.objects.select_for_update().filter(pk=_as_int(time_off_id), therapist=therapist).first()
        if away is None:
            raise NotVisible("video.timeoff", time_off_id)
        audit_record(
            action=Action.BOOKING_SETTINGS_CHANGE, actor=therapist, context=context, target=away,
            details={"what": "time_off_removed"},
        )  # fmt: skip
        away.delete()


def _number(value: object, field: str, low: int, high: int, message: str) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise ServiceError(message, field=field) from None
    if not low <= number <= high:
        raise ServiceError(message, field=field)
    return number


def session_type_save(
    *, therapist: User, context: AuditContext | None, type_id: object = None, **fields: object
) -> SessionType:
    """Make or change one of the therapist's session types."""
    _therapist_only(therapist)
    name = " ".join(str(fields.get("name") or "").split())[:80]
    if not name:
        raise ServiceError("Give the session type a name clients will recognise.", field="name")
    try:
        fee = Decimal(str(fields.get("fee") or "0")).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ServiceError("Give the fee as a number, such as 120 or 95.50.", field="fee") from None
    if not Decimal("0") <= fee <= Decimal("99999.99"):
        raise ServiceError("Give the fee as a number, such as 120 or 95.50.", field="fee")
    mode = str(fields.get("mode") or SessionMode.TELEHEALTH)
    if mode not in SessionMode.values:
        raise ServiceError("Choose video or in person.", field="mode")
    values = {
        "name": name,
        "fee": fee,
        "mode": mode,
        "minutes": _number(fields.get("minutes", 50), "minutes", 10, 240, "A session lasts 10 to 240 minutes."),
        "buffer_minutes": _number(fields.get("buffer_minutes", 0), "buffer_minutes", 0, 120,
                                  "Keep 0 to 120 minutes free after a session."),
        "notice_hours": _number(fields.get("notice_hours", 24), "notice_hours", 0, 720,
                                "Ask for 0 to 720 hours of notice."),
        "horizon_days": _number(fields.get("horizon_days", 60), "horizon_days", 1, 365,
                                "Let clients book 1 to 365 days ahead."),
        "bookable": bool(fields.get("bookable", True)),
    }  # fmt: skip
    with transaction.atomic():
        if type_id:
            found = SessionType.objects.select_for_update().filter(pk=_as_int(type_id), therapist=therapist).first()
            if found is None:
                raise NotVisible("video.sessiontype", type_id)
            for key, value in values.items():
                setattr(found, key, value)
            found.save()
        else:
            found = SessionType.objects.create(practice_id=therapist.practice_id, therapist=therapist, **values)
        audit_record(
            action=Action.BOOKING_SETTINGS_CHANGE, actor=therapist, context=context, target=found,
            details={"what": "session_type", "minutes": found.minutes, "bookable": found.bookable},
        )  # fmt: skip
    return found


def _as_int(value: object) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return -1


# What a client may book ---------------------------------------------------------------------------


def bookable_types_for(*, client: User) -> QuerySet[SessionType]:
    """Session types a client may book: their care team's, open to booking online, of a therapist
    who keeps working hours."""
    if not client.has_role(Role.CLIENT):
        return SessionType.objects.none()
    return (
        SessionType.objects.filter(
            practice_id=client.practice_id,
            bookable=True,
            therapist__is_active=True,
            therapist__working_hours__isnull=False,
            therapist__care_charts__client=client,
        )
        .select_related("therapist")
        .distinct()
    )


def type_for_client(*, client: User, type_id: object) -> SessionType:
    """One session type this client may book, or NotVisible."""
    found = bookable_types_for(client=client).filter(pk=_as_int(type_id)).first()
    if found is None:
        raise NotVisible("video.sessiontype", type_id)
    return found


def open_times(
    *, session_type: SessionType, now: datetime | None = None, on: date | None = None, moving: Appointment | None = None
) -> list[datetime]:
    """Every time a client may book ``session_type`` (only on the day ``on``, in the therapist's
    zone, when given); ``moving``: a session of theirs being moved, which frees its own time."""
    therapist = session_type.therapist
    zone = practice_zone(therapist.zone_name)
    now = now or timezone.now()
    earliest = now + timedelta(hours=session_type.notice_hours)
    latest = now + timedelta(days=session_type.horizon_days)
    length = timedelta(minutes=session_type.minutes)
    buffer = timedelta(minutes=session_type.buffer_minutes)
    spans: dict[int, list[tuple[time, time]]] = {}
    for span in WorkingHours.objects.filter(therapist=therapist):
        spans.setdefault(span.weekday, []).append((span.starts, span.ends))
    if not spans:
        return []
    first_day = earliest.astimezone(zone).date()
    last_day = latest.astimezone(zone).date()
    if on is not None:
        if not first_day <= on <= last_day:
            return []
        first_day = last_day = on
    busy_qs = Appointment.objects.filter(
        therapist=therapist,
        status=AppointmentStatus.SCHEDULED,
        starts_at__lt=datetime.combine(last_day + timedelta(days=1), time(0), zone) + buffer,
        ends_at__gt=datetime.combine(first_day, time(0), zone) - buffer,
    )
    if moving is not None:
        busy_qs = busy_qs.exclude(pk=moving.pk)
    busy = [(a.starts_at - buffer, a.ends_at + buffer) for a in busy_qs]
    busy += [
        (away.starts_at, away.ends_at)
        for away in TimeOff.objects.filter(
            therapist=therapist,
            starts_at__lt=datetime.combine(last_day + timedelta(days=1), time(0), zone),
            ends_at__gt=datetime.combine(first_day, time(0), zone),
        )
    ]
    found: list[datetime] = []
    day = first_day
    while day <= last_day:
        for starts, ends in sorted(spans.get(day.weekday(), [])):
            moment = datetime.combine(day, starts, zone)
            close = datetime.combine(day, ends, zone)
            while moment + length <= close:
                if earliest <= moment <= latest and not any(b < moment + length and moment < e for b, e in busy):
                    found.append(moment)
                moment += STEP
        day += timedelta(days=1)
    return found


def _still_open(session_type: SessionType, starts_at: datetime, moving: Appointment | None = None) -> None:
    day = starts_at.astimezone(practice_zone(session_type.therapist.zone_name)).date()
    if starts_at not in open_times(session_type=session_type, on=day, moving=moving):
        raise Conflict("That time is no longer free. Choose another.")


def client_book(
    *, client: User, session_type: SessionType, starts_at: datetime, context: AuditContext | None
) -> Appointment:
    """A client books one session of a type their care team offers, at an open time."""
    therapist = session_type.therapist
    if not on_care_team_of(therapist=therapist, client=client):
        raise NotVisible("video.sessiontype", session_type.pk)
    with transaction.atomic():
        _lock_therapist(therapist)
        _still_open(session_type, starts_at)
        made = appointment_schedule(
            therapist=therapist, clients=[client], kind=AppointmentKind.INDIVIDUAL, starts_at=starts_at,
            minutes=session_type.minutes, context=context, actor=client,
        )  # fmt: skip
        made.session_type = session_type
        made.save(update_fields=["session_type"])
        _tell_therapist(made, "booked")
    return made


def _own_session(client: User, appointment_id: object) -> Appointment:
    key = as_uuid(appointment_id)
    found = (
        Appointment.objects.select_for_update()
        .filter(pk=key, participants__client=client, practice_id=client.practice_id)
        .first()
        if key is not None
        else None
    )
    if found is None:
        raise NotVisible("video.appointment", appointment_id)
    if found.status != AppointmentStatus.SCHEDULED:
        raise Conflict(f"This session is already {found.get_status_display().lower()}.")
    if found.is_joint:
        raise Conflict("A couples or family session is changed by the therapist, for everyone in it.")
    return found


def own_booked(*, client: User, appointment_id: object) -> Appointment:
    """One of the client's own upcoming sessions, to read (not to change), or NotVisible."""
    key = as_uuid(appointment_id)
    found = (
        Appointment.objects.select_related("therapist", "session_type")
        .filter(pk=key, participants__client=client, practice_id=client.practice_id)
        .first()
        if key is not None
        else None
    )
    if found is None:
        raise NotVisible("video.appointment", appointment_id)
    return found


def late_window(appointment: Appointment) -> timedelta:
    return timedelta(hours=policy_for(appointment.practice_id).late_cancel_hours)


def changeable_until(appointment: Appointment) -> datetime:
    """Until when the client may cancel or move it online."""
    return appointment.starts_at - late_window(appointment)


def _within_policy(appointment: Appointment) -> None:
    if timezone.now() > changeable_until(appointment):
        hours = policy_for(appointment.practice_id).late_cancel_hours
        raise Conflict(
            f"Less than {hours} hours before the session it can no longer be changed online: ask your therapist. "
            "The practice may charge a late cancellation."
        )


def client_cancel(*, client: User, appointment_id: object, context: AuditContext | None) -> Appointment:
    with transaction.atomic():
        found = _own_session(client, appointment_id)
        _within_policy(found)
        found.status = AppointmentStatus.CANCELLED
        found.closed_at = timezone.now()
        found.save(update_fields=["status", "closed_at"])
        audit_record(
            action=Action.APPOINTMENT_CANCEL, actor=client, context=context, target=found,
            details={"by": "client"},
        )  # fmt: skip
        _notify_clients(found, "cancelled")
        _tell_therapist(found, "cancelled")
        appointment_cancelled.send(sender=Appointment, appointment=found)
    return found


def client_move(
    *, client: User, appointment_id: object, starts_at: datetime, context: AuditContext | None
) -> Appointment:
    """Move a session the client booked to another open time of its type."""
    with transaction.atomic():
        found = _own_session(client, appointment_id)
        _within_policy(found)
        session_type = found.session_type
        if session_type is None or session_type.therapist_id != found.therapist_id:
            raise Conflict("This session was scheduled by your therapist: ask them to move it.")
        _lock_therapist(found.therapist)
        _still_open(session_type, starts_at, moving=found)
        was = found.starts_at
        _move(found, starts_at, session_type.minutes)
        audit_record(
            action=Action.APPOINTMENT_RESCHEDULE, actor=client, context=context, target=found,
            details={"from": was.isoformat(), "to": starts_at.isoformat(), "by": "client"},
        )  # fmt: skip
        _notify_clients(found, "rescheduled")
        _tell_therapist(found, "moved")
    return found


def _tell_therapist(appointment: Appointment, what: str) -> None:
    from sessions.tasks import therapist_notify

    appointment_id = str(appointment.pk)
    transaction.on_commit(lambda: therapist_notify.delay(appointment_id, what))
