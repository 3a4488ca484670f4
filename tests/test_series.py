"""Repeating sessions: weekly, every other week or monthly, ending after a count or on a date;
every occurrence at the same local time across daylight saving; a clash refuses the whole
series; one occurrence or the rest of the series moved or cancelled; reminders per session."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from sessions.models import Appointment, AppointmentStatus, Repeat
from sessions.services import appointment_schedule, occurrences, series_schedule
from teletherapy.errors import ServiceError

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def test_occurrences_keep_the_local_time_and_the_day_of_the_month():
    first = datetime(2027, 3, 1, 10, 0, tzinfo=NEW_YORK)  # daylight saving starts on 14 March
    weekly = occurrences(first, Repeat.WEEKLY, zone=NEW_YORK, count=4, until=None)
    assert [m.hour for m in weekly] == [10, 10, 10, 10] and weekly[-1].date() == date(2027, 3, 22)
    assert weekly[1].utcoffset() != weekly[3].utcoffset()  # the same 10:00 on both sides of the change
    fortnightly = occurrences(first, Repeat.BIWEEKLY, zone=NEW_YORK, count=None, until=date(2027, 4, 12))
    assert [m.date() for m in fortnightly] == [
        date(2027, 3, 1),
        date(2027, 3, 15),
        date(2027, 3, 29),
        date(2027, 4, 12),
    ]
    monthly = occurrences(
        datetime(2027, 1, 31, 9, 0, tzinfo=NEW_YORK), Repeat.MONTHLY, zone=NEW_YORK, count=3, until=None
    )
    assert [m.date() for m in monthly] == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31)]


@pytest.fixture
def start(therapist):
    therapist.time_zone = "America/New_York"
    therapist.save(update_fields=["time_zone"])
    local = (timezone.now() + timedelta(days=2)).astimezone(NEW_YORK)
    return local.replace(hour=10, minute=0, second=0, microsecond=0)


def test_a_weekly_series_is_scheduled_from_the_page(login_as, therapist, client_user, chart, start):
    browser = login_as(therapist)
    with timezone.override(NEW_YORK):
        response = browser.post(
            "/sessions/new/",
            {
                "kind": "individual",
                "clients": [client_user.pk],
                "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                "minutes": 50,
                "repeat": "weekly",
                "count": 6,
            },
        )
    assert response.status_code == 302
    made = list(Appointment.objects.filter(therapist=therapist).order_by("starts_at"))
    assert len(made) == 6 and len({a.series_id for a in made}) == 1
    assert all(a.starts_at.astimezone(NEW_YORK).hour == 10 for a in made)
    # Asking for a repeat without saying how long is a clear error, and nothing is made.
    again = browser.post(
        "/sessions/new/",
        {
            "kind": "individual",
            "clients": [client_user.pk],
            "starts_at": "2030-01-01T10:00",
            "minutes": 50,
            "repeat": "weekly",
        },
    )
    assert again.status_code == 400 and "Say how many sessions, or until when." in again.content.decode()


def test_a_clash_refuses_the_whole_series(therapist, client_user, chart, start):
    appointment_schedule(
        therapist=therapist, clients=[client_user], kind="individual", starts_at=start + timedelta(days=14)
    )
    with pytest.raises(ServiceError, match="You already have a session then"):
        series_schedule(
            therapist=therapist, clients=[client_user], kind="individual", starts_at=start, minutes=50,
            repeat="weekly", count=4,
        )  # fmt: skip
    assert Appointment.objects.filter(therapist=therapist).count() == 1


def test_one_or_the_rest_moved_or_cancelled(login_as, therapist, client_user, chart, start):
    made = series_schedule(
        therapist=therapist, clients=[client_user], kind="individual", starts_at=start, minutes=50,
        repeat="weekly", count=5,
    )  # fmt: skip
    browser = login_as(therapist)
    page = browser.get(f"/sessions/{made[1].pk}/").content.decode()
    assert "every week, 3 more after this one" in page and "This and every later session of the series" in page
    # The third and after move an hour later; the first two stay.
    later = made[2].starts_at.astimezone(NEW_YORK) + timedelta(hours=1)
    with timezone.override(NEW_YORK):
        moved = browser.post(
            f"/sessions/{made[2].pk}/",
            {"starts_at": later.strftime("%Y-%m-%dT%H:%M"), "minutes": 50, "move-scope": "onward"},
        )
    assert moved.status_code == 302
    hours = [
        a.starts_at.astimezone(NEW_YORK).hour
        for a in Appointment.objects.filter(series_id=made[0].series_id).order_by("starts_at")
    ]
    assert hours == [10, 10, 11, 11, 11]
    # Only the second one is cancelled; then the fourth and after.
    browser.post(f"/sessions/{made[1].pk}/cancel/", {"cancel-scope": "this"})
    browser.post(f"/sessions/{made[3].pk}/cancel/", {"cancel-scope": "onward"})
    statuses = list(
        Appointment.objects.filter(series_id=made[0].series_id).order_by("starts_at").values_list("status", flat=True)
    )
    scheduled, cancelled = AppointmentStatus.SCHEDULED, AppointmentStatus.CANCELLED
    assert statuses == [scheduled, cancelled, scheduled, cancelled, cancelled]
