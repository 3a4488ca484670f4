"""The week calendar and the private calendar feed: each therapist's own sessions (an admin the
practice's), in the viewer's zone; the feed carries times and an opaque link, never a name, and
its address can be renewed or turned off."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from audit.models import Action, AuditEvent
from sessions.services import appointment_cancel

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def feed_address(page: str) -> str:
    return re.search(r'id="feed-url" readonly value="([^"]+)"', page).group(1)


def test_the_feed_carries_times_and_links_never_names(login_as, therapist, colleague, client_user, schedule):
    mine = schedule(client_user, in_hours=30)
    gone = schedule(client_user, in_hours=54)
    appointment_cancel(therapist=therapist, appointment=gone, context=None)
    browser = login_as(therapist)
    assert "Make a private calendar feed" in browser.get("/sessions/").content.decode()
    made = browser.post("/sessions/calendar-feed/", {"action": "renew"})
    address = feed_address(made.content.decode())
    path = address.split("localhost:8000", 1)[-1] if "localhost:8000" in address else address
    fetched = Client().get(path)  # a calendar app: no session, no cookie
    assert fetched.status_code == 200 and fetched["Content-Type"].startswith("text/calendar")
    body = fetched.content.decode()
    assert client_user.full_name not in body and client_user.email not in body and "individual" not in body.lower()
    events = {str(e["uid"]): e for e in Calendar.from_ical(fetched.content).walk("VEVENT")}
    event = events[f"{mine.pk}@teletherapy"]
    assert event.decoded("dtstart") == mine.starts_at.replace(microsecond=0) and str(event["summary"]) == "Session"
    assert str(event["url"]).endswith(f"/sessions/{mine.pk}/")
    assert str(events[f"{gone.pk}@teletherapy"]["status"]) == "CANCELLED"  # calendars drop it
    # Renewed: the old address stops working; turned off: the new one too.
    again = feed_address(browser.post("/sessions/calendar-feed/", {"action": "renew"}).content.decode())
    assert Client().get(path).status_code == 404
    new_path = again.split("localhost:8000", 1)[-1]
    assert Client().get(new_path).status_code == 200
    browser.post("/sessions/calendar-feed/", {"action": "stop"})
    assert Client().get(new_path).status_code == 404
    assert AuditEvent.objects.filter(action=Action.CALENDAR_FEED_CHANGE, actor_id=therapist.pk).count() == 3
    # Nobody else's sessions, and a guessed address finds nothing.
    assert Client().get("/sessions/feed/not-a-real-address.ics").status_code == 404


def test_the_week_shows_each_therapists_own_sessions_and_the_admin_the_practices(
    login_as, therapist, colleague, admin, client_user, schedule, make_user
):
    from records.models import ClientChart

    soon = schedule(client_user, in_hours=26)
    other_client = make_user("client", name="Olive Other")
    ClientChart.objects.create(client=other_client, practice_id=other_client.practice_id).care_team.add(colleague)
    from sessions.services import appointment_schedule

    theirs = appointment_schedule(
        therapist=colleague, clients=[other_client], kind="individual", starts_at=timezone.now() + timedelta(hours=27)
    )
    week = timezone.localtime(soon.starts_at).date().isoformat()
    page = login_as(therapist).get(f"/sessions/calendar/?week={week}").content.decode()
    assert "Casey Client" in page and "Olive Other" not in page
    assert f"{timezone.localtime(soon.starts_at):%H:%M}" in page and f'/sessions/{soon.pk}/"' in page
    overview = login_as(admin).get(f"/sessions/calendar/?week={week}").content.decode()
    assert "The practice&#x27;s week" in overview or "The practice's week" in overview
    assert "Casey Client" in overview and "Olive Other" in overview and str(theirs.pk) not in overview
    # Nonsense for the week is today's week, not an error; a client has no calendar.
    assert login_as(therapist).get("/sessions/calendar/?week=soon").status_code == 200
    assert login_as(client_user).get("/sessions/calendar/").status_code in (403, 404)
