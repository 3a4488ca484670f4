"""Reads every part of sessions relies on: the practice's policy, the join window, who hears
about a session and in which time zone. Below the services and the tasks, so neither imports
the other for them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.login_session import practice_zone
from accounts.models import User
from accounts.selectors import guardians_of
from sessions.models import Appointment, AppointmentStatus, SessionPolicy


def policy_for(practice_id: int) -> SessionPolicy:
    """The practice's policy, or the defaults from settings (unsaved) if it has not chosen."""
    policy = SessionPolicy.objects.filter(practice_id=practice_id).first()
    return policy or SessionPolicy(practice_id=practice_id)


@dataclass(frozen=True)
class JoinWindow:
    opens: datetime
    closes: datetime
    state: str  # "early", "open", "over", "cancelled", "ended"

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def message(self) -> str:
        if self.state == "early":
            local = timezone.localtime(self.opens)
            return f"This session opens for joining at {local:%H:%M} on {local:%A %-d %B} ({local:%Z})."
        if self.state == "over":
            return "The time to join this session has passed."
        if self.state == "cancelled":
            return "This session was cancelled."
        if self.state == "ended":
            return "Your therapist has ended this session."
        return "You can join now."


def join_window(
    appointment: Appointment, *, policy: SessionPolicy | None = None, now: datetime | None = None
) -> JoinWindow:
    policy = policy or policy_for(appointment.practice_id)
    now = now or timezone.now()
    opens = appointment.starts_at - timedelta(minutes=policy.join_before_minutes)
    closes = appointment.ends_at + timedelta(minutes=policy.join_after_minutes)
    if appointment.status == AppointmentStatus.CANCELLED:
        state = "cancelled"
    elif appointment.status == AppointmentStatus.ENDED:
        state = "ended"
    elif now < opens:
        state = "early"
    elif now > closes:
        state = "over"
    else:
        state = "open"
    return JoinWindow(opens=opens, closes=closes, state=state)


def recipients_of(appointment: Appointment) -> list[User]:
    """The clients of a session, and the guardians of those who are minors."""
    people: dict[int, User] = {}
    for participant in appointment.participants.select_related("client"):
        client = participant.client
        if client.is_active:
            people[client.pk] = client
        for guardian in guardians_of(client=client):
            people[guardian.pk] = guardian
    return list(people.values())


def local_time(moment: datetime, user: User) -> datetime:
    return moment.astimezone(practice_zone(user.zone_name))
