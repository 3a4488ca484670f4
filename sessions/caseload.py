"""A therapist's caseload as work to do: the clients whose consents hold up a coming session, the
sessions still without a note, the clients seen this week. The therapist's home lists them; the
charts list filters by them (registered in ``teletherapy.hooks.chart_filters``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.login_session import practice_zone
from accounts.models import User
from consent.selectors import consent_missing_for, consent_withdrawn
from records.models import ProgressNote
from sessions.models import Appointment, AppointmentStatus
from sessions.selectors import appointments_upcoming_for

CONSENT_AHEAD = timedelta(days=14)


@dataclass
class ConsentGap:
    client: User
    missing: list[str]  # the forms never signed
    withdrawn: list[str]  # the forms signed, then withdrawn
    before: datetime  # the first session they hold up


def consent_gaps(user: User, now: datetime | None = None) -> list[ConsentGap]:
    """Consents missing or withdrawn for the therapist's sessions in the next two weeks: one line
    per client, under the first session they hold up; withdrawals first."""
    now = now or timezone.now()
    gaps: dict[int, ConsentGap] = {}
    seen: set[tuple[int, str]] = set()
    upcoming = appointments_upcoming_for(user=user).filter(therapist=user, starts_at__lt=now + CONSENT_AHEAD)
    for appointment in upcoming:
        for missing in consent_missing_for(appointment, user).missing:
            if (missing.client.pk, missing.kind) in seen:
                continue
            seen.add((missing.client.pk, missing.kind))
            gap = gaps.setdefault(missing.client.pk, ConsentGap(missing.client, [], [], appointment.starts_at))
            withdrawn = consent_withdrawn(client=missing.client, kind=missing.kind)
            (gap.withdrawn if withdrawn else gap.missing).append(missing.label.lower())
    return sorted(gaps.values(), key=lambda gap: (not gap.withdrawn, gap.before))


WRITE_UP_BACK = timedelta(days=14)


@dataclass
class WriteUp:
    appointment: Appointment
    client: User
    chart_id: Any


def sessions_to_write_up(user: User, now: datetime | None = None) -> list[WriteUp]:
    """The therapist's sessions of the last two weeks that have begun, for each client on whose
    care team they still are, with no progress note linked to that session yet: newest first."""
    now = now or timezone.now()
    appointments = list(
        Appointment.objects.filter(therapist=user, starts_at__lte=now, starts_at__gte=now - WRITE_UP_BACK)
        .exclude(status=AppointmentStatus.CANCELLED)
        .prefetch_related("participants__client__chart__care_team")
        .order_by("-starts_at")
    )
    written = set(
        ProgressNote.objects.filter(session_id__in=[a.pk for a in appointments]).values_list("session_id", "chart_id")
    )
    found = []
    for appointment in appointments:
        for participant in appointment.participants.all():
            chart = getattr(participant.client, "chart", None)
            if chart is None or user not in chart.care_team.all() or (appointment.pk, chart.pk) in written:
                continue
            found.append(WriteUp(appointment=appointment, client=participant.client, chart_id=chart.pk))
    return found


def clients_seen_this_week(user: User, now: datetime | None = None) -> set[int]:
    """The clients with a session with this therapist this week (Monday to Sunday, in their zone),
    held or still to come, not cancelled."""
    now = now or timezone.now()
    local = now.astimezone(practice_zone(user.zone_name))
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return set(
        Appointment.objects.filter(therapist=user, starts_at__gte=monday, starts_at__lt=monday + timedelta(days=7))
        .exclude(status=AppointmentStatus.CANCELLED)
        .values_list("participants__client_id", flat=True)
    )


def clients_needing_a_note(user: User) -> set[Any]:
    return {write_up.client.pk for write_up in sessions_to_write_up(user)}


def clients_missing_consent(user: User) -> set[Any]:
    return {gap.client.pk for gap in consent_gaps(user)}
