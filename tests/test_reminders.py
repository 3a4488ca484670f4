"""Every session of a series is reminded at the practice's two times, through beat's own
scheduler ticking the real schedule entry under a frozen clock: a moved session is reminded for
its new time, a cancelled one not at all, and a message holds a time and a link only."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from celery.beat import Scheduler
from django.conf import settings
from django.core import mail
from django.utils import timezone

from records.models import ClientChart
from sessions.models import SessionPolicy
from sessions.services import appointment_cancel, appointment_reschedule, policy_update
from sessions.services.scheduling import series_schedule
from teletherapy.celery import app as celery_app

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
START = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


class OnlyReminders(Scheduler):
    """Beat's scheduler, holding only the reminders' entry of the real schedule."""

    def setup_schedule(self) -> None:
        entry = settings.CELERY_BEAT_SCHEDULE["session-reminders"]
        self.merge_inplace({"session-reminders": entry})


def run_beat(until: dt.datetime, step: dt.timedelta, traveller) -> list[tuple[dt.datetime, str]]:
    """Tick beat every ``step`` until ``until``; what each reminder said, and when it went."""
    scheduler = OnlyReminders(app=celery_app, lazy=False)
    seen: list[tuple[dt.datetime, str]] = []
    while timezone.now() < until:
        scheduler.tick()
        for message in mail.outbox:
            seen.append((timezone.now(), message.body))
        mail.outbox.clear()
        traveller.shift(step)
    return seen


def test_every_session_of_a_series_gets_both_reminders_and_moves_and_cancels_are_kept(
    therapist, client_user, admin, django_capture_on_commit_callbacks
):
    assert settings.CELERY_BEAT_SCHEDULE["session-reminders"]["task"] == "sessions.tasks.reminders_send_due"
    chart, _ = ClientChart.objects.get_or_create(client=client_user, defaults={"practice_id": client_user.practice_id})
    chart.care_team.add(therapist)
    with time_machine.travel(START, tick=False) as traveller:
        policy_update(actor=admin, context=None, reminder_hours=48, last_reminder_hours=2)
        first = START + dt.timedelta(days=3, hours=6)  # Friday 14:00 UTC, then weekly
        with django_capture_on_commit_callbacks(execute=True):
            series = series_schedule(
                therapist=therapist, clients=[client_user], kind="individual", starts_at=first, minutes=50,
                repeat="weekly", count=4,
            )  # fmt: skip
        mail.outbox.clear()
        # The third is moved a day later; the fourth is cancelled.
        moved_to = series[2].starts_at + dt.timedelta(days=1, hours=1)
        appointment_reschedule(therapist=therapist, appointment=series[2], starts_at=moved_to, minutes=50, context=None)
        appointment_cancel(therapist=therapist, appointment=series[3], context=None)
        mail.outbox.clear()
        step = dt.timedelta(seconds=settings.CELERY_BEAT_SCHEDULE["session-reminders"]["schedule"])
        sent = run_beat(series[3].starts_at + dt.timedelta(days=1), step, traveller)

    times = [series[0].starts_at, series[1].starts_at, moved_to]
    expected = sorted(t - dt.timedelta(hours=h) for t in times for h in (48, 2))
    assert len(sent) == len(expected), [at for at, _ in sent]
    for (at, body), due in zip(sent, expected, strict=True):
        assert due <= at < due + step, (at, due)
        assert "/sessions/" in body and therapist.full_name not in body
    # Each says the session's own time, in the client's zone.
    assert len({re.search(r"session on (.+?)\.", body).group(1) for _, body in sent}) == 3


def test_one_message_when_both_are_due_and_none_second_when_the_practice_wants_one(
    therapist, client_user, admin, schedule
):
    from sessions.tasks import reminders_send_due

    policy_update(actor=admin, context=None, reminder_hours=24, last_reminder_hours=2)
    # Booked at short notice: the first and the second are both due; one message goes.
    soon = schedule(client_user, in_hours=1)
    mail.outbox.clear()
    assert reminders_send_due() == 1 and reminders_send_due() == 0
    soon.refresh_from_db()
    assert soon.reminder_sent_at is not None and soon.last_reminder_sent_at is not None

    policy_update(actor=admin, context=None, reminder_hours=24, last_reminder_hours=0)
    later = schedule(client_user, in_hours=10)
    assert reminders_send_due() == 1
    with time_machine.travel(later.starts_at - dt.timedelta(minutes=30)):
        assert reminders_send_due() == 0


def test_the_practice_chooses_both_times_and_a_second_after_the_first_is_refused(login_as, admin):
    browser = login_as(admin)
    page = browser.get("/sessions/settings/").content.decode()
    assert "And again, closer to the time" in page
    refused = browser.post(
        "/sessions/settings/",
        {
            "join_before_minutes": 15,
            "join_after_minutes": 30,
            "reminder_hours": 24,
            "last_reminder_hours": 30,
            "late_cancel_hours": 24,
        },
    )
    assert refused.status_code == 400 and "closer to the session than the first" in refused.content.decode()
    saved = browser.post(
        "/sessions/settings/",
        {
            "join_before_minutes": 15,
            "join_after_minutes": 30,
            "reminder_hours": 48,
            "last_reminder_hours": 2,
            "late_cancel_hours": 24,
        },
    )
    assert saved.status_code == 302
    policy = SessionPolicy.objects.get(practice_id=admin.practice_id)
    assert (policy.reminder_hours, policy.last_reminder_hours) == (48, 2)
