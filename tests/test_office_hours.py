"""A practice's office hours: admins set them on the Members page; every conversation shows them;
a client who writes outside them is told when to expect an answer."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from accounts.models import Practice
from accounts.office_hours import describe, next_opening
from audit.models import Action, AuditEvent
from messaging.views import sent_note

pytestmark = [pytest.mark.django_db]
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def weekdays(practice: Practice) -> Practice:
    practice.time_zone = "America/New_York"
    practice.office_days, practice.office_opens, practice.office_closes = "01234", time(9), time(17)
    practice.save()
    return practice


def test_the_next_opening_is_in_the_practices_zone(practice):
    assert next_opening(practice, timezone.now()) is None and describe(practice) == ""
    weekdays(practice)
    assert describe(practice) == "Monday to Friday, 09:00 to 17:00"
    friday_afternoon = datetime(2026, 12, 4, 16, 59, tzinfo=NEW_YORK)
    assert next_opening(practice, friday_afternoon) == friday_afternoon  # open now
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=NEW_YORK)
    assert next_opening(practice, datetime(2026, 12, 4, 17, 0, tzinfo=NEW_YORK)) == monday
    assert next_opening(practice, datetime(2026, 12, 5, 23, 0, tzinfo=NEW_YORK)) == monday
    assert next_opening(practice, datetime(2026, 12, 7, 6, 0, tzinfo=NEW_YORK)) == monday
    # Across the change to summer time, still 09:00 on the clock.
    assert next_opening(practice, datetime(2027, 3, 6, 12, 0, tzinfo=NEW_YORK)) == datetime(
        2027, 3, 8, 9, 0, tzinfo=NEW_YORK
    )
    practice.office_days = "06"
    assert describe(practice) == "Monday, Sunday, 09:00 to 17:00"


def test_a_client_writing_after_hours_is_told_when_to_expect_an_answer(practice, client_user, therapist):
    weekdays(practice)
    client_user.practice.refresh_from_db()
    saturday = datetime(2026, 12, 5, 11, 0, tzinfo=NEW_YORK)
    note = sent_note(client_user, now=saturday)
    assert "closed now (office hours: Monday to Friday, 09:00 to 17:00)" in note
    assert "opens on Monday 7 December at 09:00 (America/New_York)" in note and "988" in note
    assert sent_note(client_user, now=datetime(2026, 12, 7, 10, 0, tzinfo=NEW_YORK)) == "Sent."
    assert sent_note(therapist, now=saturday) == "Sent."  # staff are not told to wait for themselves


def test_admins_set_office_hours_and_conversations_show_them(practice, admin, therapist, client_user, chart, login_as):
    browser = login_as(admin)
    for bad, message in (
        ({"days": ["0"], "opens": "17:00", "closes": "09:00"}, "closes after it opens"),
        ({"days": ["0"], "opens": "25:00", "closes": "26:00"}, "HH:MM"),
        ({"days": ["9"], "opens": "09:00", "closes": "17:00"}, "days of the week"),
    ):
        page = browser.post("/practice/office-hours/", bad, follow=True)
        assert page.status_code == 200 and message in page.content.decode(), bad
    practice.refresh_from_db()
    assert practice.office_days == "" and practice.office_opens is None
    # Open only on tomorrow's weekday, so that now is outside them whatever the hour.
    tomorrow = (timezone.now().astimezone(zoneinfo.ZoneInfo(practice.time_zone)) + timedelta(days=1)).weekday()
    saved = browser.post(
        "/practice/office-hours/", {"days": [str(tomorrow)], "opens": "09:00", "closes": "17:00"}, follow=True
    )
    assert "Office hours:" in saved.content.decode()
    event = AuditEvent.objects.filter(action=Action.PRACTICE_SETTINGS_CHANGE).latest("id")
    assert event.details["office_hours_before"] == "none" and "09:00 to 17:00" in event.details["office_hours_after"]
    assert login_as(therapist).post("/practice/office-hours/", {"days": []}).status_code in (403, 404)
    client = login_as(client_user)
    started = client.post("/messages/new/", {"therapist": therapist.pk})
    conversation = client.get(started["Location"])
    assert "09:00 to 17:00" in conversation.content.decode()
    sent = client.post(started["Location"] + "send/", {"body": "Can we move Tuesday?"}, follow=True)
    assert "expect an answer after it opens on" in sent.content.decode()
    # Clearing them shows none.
    browser.post("/practice/office-hours/", {"opens": "09:00", "closes": "17:00"})
    practice.refresh_from_db()
    assert practice.office_days == "" and practice.office_opens is None
