"""Booking online through the pages a client taps and the API: choose a type and a time in the
client's own zone, confirm with the late-cancellation window in view, move and cancel within it,
and be refused with a reason outside it; both calendars and the feed show what was booked."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
import time_machine
from django.core import mail

from accounts.models import Role
from records.models import ClientChart
from sessions.models import Appointment, AppointmentStatus
from sessions.services.booking import hours_set, open_times, session_type_save

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
NY = zoneinfo.ZoneInfo("America/New_York")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
SATURDAY = dt.datetime(2026, 12, 12, 8, 0, tzinfo=NY)
MONDAY = dt.date(2026, 12, 14)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), NY)


@pytest.fixture
def kind(practice, therapist, client_user):
    """Mondays 09:00-12:00 in New York, a 50-minute video session, a day's notice; the client is on
    the therapist's caseload and reads times in Berlin."""
    practice.time_zone = "America/New_York"
    practice.save(update_fields=["time_zone"])
    therapist.refresh_from_db()
    client_user.time_zone = "Europe/Berlin"
    client_user.save(update_fields=["time_zone"])
    ClientChart.objects.create(client=client_user, practice_id=practice.pk).care_team.add(therapist)
    hours_set(therapist=therapist, spans=[(0, dt.time(9), dt.time(12))], context=None)
    return session_type_save(
        therapist=therapist, context=None, name="Individual session", minutes=50, buffer_minutes=10,
        notice_hours=24, horizon_days=14, fee="120",
    )  # fmt: skip


def api(browser, method, url, body=None):
    call = getattr(browser, method)
    if method == "get":
        return call(url)
    return call(url, json.dumps(body or {}), content_type="application/json")


def test_a_client_books_from_the_pages_in_their_own_time_zone(
    kind, login_as, client_user, therapist, django_capture_on_commit_callbacks
):
    with time_machine.travel(SATURDAY, tick=False):
        browser = login_as(client_user)
        listing = browser.get("/sessions/").content.decode()
        assert 'href="/sessions/book/"' in listing
        # One type: straight to its times, in Berlin (09:00 New York is 15:00 there).
        page = browser.get("/sessions/book/").content.decode()
        assert "Individual session with Theo Therapist" in page and "15:00" in page and "Mon 14 Dec" in page
        nine = at(MONDAY, 9)
        confirm = browser.get(f"/sessions/book/?type={kind.pk}&at={nine.astimezone(BERLIN).isoformat()}")
        text = confirm.content.decode()
        # The window is shown before confirming: until 24 hours before, in the client's zone.
        assert "Check and confirm" in text and "Sunday 13 December, 15:00 CET" in text and "late cancellation" in text
        with django_capture_on_commit_callbacks(execute=True):
            done = browser.post("/sessions/book/", {"type": kind.pk, "starts_at": nine.isoformat()})
        assert done.status_code == 302
        booked = Appointment.objects.get(therapist=therapist, starts_at=nine)
        assert booked.session_type == kind and booked.status == AppointmentStatus.SCHEDULED
        assert {client_user.email, therapist.email} <= {m.to[0] for m in mail.outbox}
        assert all("Theo" not in m.body and "Casey" not in m.body for m in mail.outbox)
        # On the therapist's calendar, the client's list and the therapist's private feed.
        week = login_as(therapist).get("/sessions/calendar/?week=2026-12-14").content.decode()
        assert "Casey Client" in week
        assert f"session-{booked.pk}" in browser.get("/sessions/").content.decode()
        # The time is gone for the next person, and a stale confirmation is refused with a reason.
        again = browser.post("/sessions/book/", {"type": kind.pk, "starts_at": nine.isoformat()}, follow=True)
        assert "no longer free" in again.content.decode()
        assert nine not in open_times(session_type=kind)


def test_moving_and_cancelling_within_the_window_and_not_after(
    kind, login_as, client_user, therapist, django_capture_on_commit_callbacks
):
    with time_machine.travel(SATURDAY, tick=False):
        browser = login_as(client_user)
        browser.post("/sessions/book/", {"type": kind.pk, "starts_at": at(MONDAY, 9).isoformat()})
        booked = Appointment.objects.get(therapist=therapist)
        change = browser.get(f"/sessions/{booked.pk}/change/").content.decode()
        assert "Move to another time" in change and "until <strong>Sunday 13 December, 15:00 CET" in change
        moved = browser.post(
            f"/sessions/{booked.pk}/change/", {"action": "move", "starts_at": at(MONDAY, 11).isoformat()}
        )
        assert moved.status_code == 302
        booked.refresh_from_db()
        assert booked.starts_at == at(MONDAY, 11)
    # Less than a day before: the page says why and offers a message; a post changes nothing.
    with time_machine.travel(at(MONDAY, 0), tick=False):
        browser = login_as(client_user)
        late = browser.get(f"/sessions/{booked.pk}/change/").content.decode()
        assert "can no longer be changed online" in late and "Cancel this session" not in late
        refused = browser.post(f"/sessions/{booked.pk}/change/", {"action": "cancel"}, follow=True)
        assert "ask your therapist" in refused.content.decode()
        booked.refresh_from_db()
        assert booked.status == AppointmentStatus.SCHEDULED
    with time_machine.travel(SATURDAY, tick=False):
        browser = login_as(client_user)
        assert browser.post(f"/sessions/{booked.pk}/change/", {"action": "cancel"}).status_code == 302
        booked.refresh_from_db()
        assert booked.status == AppointmentStatus.CANCELLED


def test_the_api_books_moves_and_cancels_and_refuses_bad_input_clearly(
    kind, login_as, client_user, therapist, make_user
):
    with time_machine.travel(SATURDAY, tick=False):
        browser = login_as(client_user)
        types = api(browser, "get", "/api/v1/booking/types/").json()
        assert [t["name"] for t in types] == ["Individual session"]
        times = api(browser, "get", f"/api/v1/booking/types/{kind.pk}/times/?day=2026-12-14").json()["times"]
        assert times[0] == at(MONDAY, 9).astimezone(BERLIN).isoformat()
        made = api(browser, "post", "/api/v1/booking/", {"type": kind.pk, "starts_at": times[0]})
        assert made.status_code == 201, made.content
        booked = made.json()
        assert booked["changeable_until"].startswith("2026-12-13")
        taken = api(browser, "post", "/api/v1/booking/", {"type": kind.pk, "starts_at": times[0]})
        assert taken.status_code == 409 and "no longer free" in taken.json()["detail"]
        for body, status in (
            ({"type": kind.pk, "starts_at": "next monday"}, 400),
            ({"type": "one", "starts_at": times[1]}, 400),
            ({"type": kind.pk + 99, "starts_at": times[1]}, 404),
            ({"type": kind.pk, "starts_at": at(MONDAY, 9, 15).isoformat()}, 409),  # not a time it offers
        ):
            assert api(browser, "post", "/api/v1/booking/", body).status_code == status, body
        assert api(browser, "get", f"/api/v1/booking/types/{kind.pk}/times/?day=Monday").status_code == 400
        moved = api(browser, "post", f"/api/v1/sessions/{booked['id']}/move/", {"starts_at": times[-1]})
        assert moved.status_code == 200
        assert dt.datetime.fromisoformat(moved.json()["starts_at"]) == at(MONDAY, 11)
        # Someone else's session is not there for this client.
        other = make_user(Role.CLIENT, name="Olive Other")
        assert api(login_as(other), "post", f"/api/v1/sessions/{booked['id']}/cancel/").status_code == 404
        assert api(browser, "post", f"/api/v1/sessions/{booked['id']}/cancel/").json()["status"] == "cancelled"
    # The therapist cancels from the API at any time; a client cannot once it is close.
    with time_machine.travel(SATURDAY, tick=False):
        browser = login_as(client_user)
        again = api(browser, "post", "/api/v1/booking/", {"type": kind.pk, "starts_at": times[0]}).json()
    with time_machine.travel(at(MONDAY, 8), tick=False):
        browser = login_as(client_user)
        late = api(browser, "post", f"/api/v1/sessions/{again['id']}/cancel/")
        assert late.status_code == 409 and "ask your therapist" in late.json()["detail"]
        assert api(login_as(therapist), "post", f"/api/v1/sessions/{again['id']}/cancel/").status_code == 200


def test_who_may_book_with_whom(kind, login_as, client_user, therapist, make_user, admin):
    """Only a client books, and only with their own care team; a couples session is the therapist's to move."""
    with time_machine.travel(SATURDAY, tick=False):
        stranger = make_user(Role.CLIENT, name="Sam Stranger")  # a client of nobody here
        assert login_as(stranger).get("/sessions/book/").content.decode().count("nothing to book online") == 1
        assert login_as(stranger).get(f"/sessions/book/?type={kind.pk}").status_code == 404
        assert api(login_as(stranger), "get", f"/api/v1/booking/types/{kind.pk}/times/").status_code == 404
        for staff in (therapist, admin):
            assert login_as(staff).get("/sessions/book/").status_code == 403
            assert api(login_as(staff), "get", "/api/v1/booking/types/").status_code == 403
        partner = make_user(Role.CLIENT, name="Pat Partner")
        ClientChart.objects.create(client=partner, practice_id=partner.practice_id).care_team.add(therapist)
        from sessions.services import appointment_schedule

        couple = appointment_schedule(therapist=therapist, clients=[client_user, partner], kind="couple",
                                      starts_at=at(MONDAY, 10), notify=False)  # fmt: skip
        page = login_as(partner).get(f"/sessions/{couple.pk}/change/").content.decode()
        assert "moved or cancelled by your therapist" in page and "Cancel this session" not in page
        refused = api(login_as(partner), "post", f"/api/v1/sessions/{couple.pk}/cancel/")
        assert refused.status_code == 409
        couple.refresh_from_db()
        assert couple.status == AppointmentStatus.SCHEDULED
