"""A therapist's private calendar feed, as iCalendar (RFC 5545, written with ``icalendar``).

Each event carries the session's time and an opaque link to its page, which asks for sign-in
and a second factor; never a name, the kind of session or anything else about the client, since
calendars are synced to phones and shared more widely than anyone intends. The address is a
secret only a digest of which is kept: shown once when made or renewed, and renewing it makes
the old one stop working.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from sessions.models import Appointment, AppointmentStatus, CalendarFeed
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, NotVisible

PAST = timedelta(days=14)
AHEAD = timedelta(days=180)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(token: str) -> str:
    return (settings.SITE_URL or "").rstrip("/") + reverse("sessions:feed", args=[token])


def feed_renew(*, therapist: User, context: AuditContext | None) -> str:
    """Make the therapist's feed, or replace its address; returns the new address (shown once)."""
    if not therapist.has_role(Role.THERAPIST):
        raise NotAllowed("Only a therapist has a calendar feed.", target_type="accounts.user", target_id=therapist.pk)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        CalendarFeed.objects.update_or_create(
            therapist=therapist, defaults={"token_hash": _digest(token), "created_at": timezone.now()}
        )
        audit_record(
            action=Action.CALENDAR_FEED_CHANGE, actor=therapist, context=context, target=therapist,
            details={"change": "renewed"},
        )  # fmt: skip
    return feed_url(token)


def feed_stop(*, therapist: User, context: AuditContext | None) -> None:
    with transaction.atomic():
        deleted, _ = CalendarFeed.objects.filter(therapist=therapist).delete()
        if deleted:
            audit_record(
                action=Action.CALENDAR_FEED_CHANGE, actor=therapist, context=context, target=therapist,
                details={"change": "turned off"},
            )  # fmt: skip


def feed_for_token(token: str) -> bytes:
    """The calendar behind an address, or NotVisible (a wrong, renewed or turned-off address)."""
    feed = CalendarFeed.objects.select_related("therapist").filter(token_hash=_digest(token)).first()
    if feed is None or not feed.therapist.is_active or not feed.therapist.has_role(Role.THERAPIST):
        raise NotVisible("sessions.calendarfeed", "")
    now = timezone.now()
    calendar = Calendar()
    calendar.add("prodid", "-//Teletherapy//Sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Therapy sessions")
    calendar.add("refresh-interval;value=duration", "PT15M")
    appointments = Appointment.objects.filter(
        therapist=feed.therapist, starts_at__gte=now - PAST, starts_at__lte=now + AHEAD
    ).order_by("starts_at")
    site = (settings.SITE_URL or "").rstrip("/")
    for appointment in appointments:
        event = Event()
        event.add("uid", f"{appointment.pk}@teletherapy")
        event.add("dtstamp", now)
        event.add("dtstart", appointment.starts_at)
        event.add("dtend", appointment.ends_at)
        event.add("summary", "Session")
        event.add("url", site + reverse("sessions:detail", args=[appointment.pk]))
        event.add("description", "Open the link (signed in) to see the session and join it.")
        event.add("status", "CANCELLED" if appointment.status == AppointmentStatus.CANCELLED else "CONFIRMED")
        event.add("class", "PRIVATE")
        calendar.add_component(event)
    return calendar.to_ical()
