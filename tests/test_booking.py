"""Booking online: open times from working hours, a session type's length, buffer, notice and
horizon, and the therapist's other sessions; a client books, moves and cancels within the
practice's late-cancellation window, and two clients cannot take one time."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.core import mail

from audit.models import Action, AuditEvent
from records.models import ClientChart
from sessions.models import Appointment, AppointmentStatus
from sessions.services import appointment_schedule
from sessions.services.booking import (
    client_book,
    client_cancel,
    client_move,
    hours_set,
    open_times,
    session_type_save,
    type_for_client,
)
from teletherapy.errors import Conflict, NotAllowed, NotVisible, ServiceError

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
NY = zoneinfo.ZoneInfo("America/New_York")
SUNDAY = dt.datetime(2026, 12, 13, 8, 0, tzinfo=NY)  # a Sunday morning
MONDAY = dt.date(2026, 12, 14)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), NY)


@pytest.fixture
def offer(therapist, client_user, practice, django_capture_on_commit_callbacks):
    """Mondays 09:00-12:00 in New York; a 50-minute video session, 10 minutes kept free after it,
    a day's notice, two weeks ahead; the client on the therapist's caseload."""
    practice.time_zone = "America/New_York"
    practice.save(update_fields=["time_zone"])
    therapist.refresh_from_db()
    ClientChart.objects.create(client=client_user, practice_id=practice.pk).care_team.add(therapist)
    hours_set(therapist=therapist, spans=[(0, dt.time(9), dt.time(12))], context=None)
    return session_type_save(
        therapist=therapist, context=None, name="Individual session", minutes=50, buffer_minutes=10,
        notice_hours=24, horizon_days=14, fee="120",
    )  # fmt: skip


def test_open_times_fit_the_hours_and_keep_clear_of_other_sessions(offer, therapist, client_user):
    with time_machine.travel(SUNDAY - dt.timedelta(days=1), tick=False):
        every_half_hour = [at(MONDAY, h, m) for h, m in ((9, 0), (9, 30), (10, 0), (10, 30), (11, 0))]
        assert open_times(session_type=offer, on=MONDAY) == every_half_hour
        appointment_schedule(
            therapist=therapist, clients=[client_user], kind="individual", starts_at=at(MONDAY, 10), notify=False
        )
        # 10:00-10:50 taken, with ten minutes kept free either side.
        assert open_times(session_type=offer, on=MONDAY) == [at(MONDAY, 9), at(MONDAY, 11)]
    # A day's notice: on Sunday at 10:00, Monday 09:30 is too soon.
    with time_machine.travel(at(MONDAY - dt.timedelta(days=1), 9, 45), tick=False):
        assert open_times(session_type=offer, on=MONDAY) == [at(MONDAY, 11)]
    # Two weeks ahead at most.
    with time_machine.travel(SUNDAY, tick=False):
        days = {t.date() for t in open_times(session_type=offer)}
        assert days == {MONDAY, MONDAY + dt.timedelta(days=7)}


def test_a_client_books_an_open_time_and_nobody_else_can_take_it(
    offer, therapist, client_user, make_user, django_capture_on_commit_callbacks
):
    other = make_user("client", name="Other Client")
    ClientChart.objects.create(client=other, practice_id=other.practice_id).care_team.add(therapist)
    with time_machine.travel(SUNDAY - dt.timedelta(days=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            booked = client_book(client=client_user, session_type=offer, starts_at=at(MONDAY, 9), context=None)
        assert booked.session_type == offer and booked.minutes == 50 and booked.therapist == therapist
        event = AuditEvent.objects.get(action=Action.APPOINTMENT_SCHEDULE)
        assert event.actor_id == client_user.pk
        told = {m.to[0]: m.body for m in mail.outbox}
        assert "booked a session" in told[therapist.email] and client_user.full_name not in told[therapist.email]
        assert client_user.email in told
        with pytest.raises(Conflict):
            client_book(client=other, session_type=offer, starts_at=at(MONDAY, 9), context=None)
        with pytest.raises(Conflict):  # inside the buffer of the first
            client_book(client=other, session_type=offer, starts_at=at(MONDAY, 9, 30), context=None)
        with pytest.raises(Conflict):  # not a time it offers
            client_book(client=other, session_type=offer, starts_at=at(MONDAY, 13), context=None)
        assert Appointment.objects.count() == 1


def test_only_the_care_team_s_clients_see_and_book_its_types(offer, make_user, stranger):
    outsider = make_user("client", name="Not On The Team")
    for person in (outsider, stranger):
        with pytest.raises(NotVisible):
            type_for_client(client=person, type_id=offer.pk)
        with pytest.raises(NotVisible):
            client_book(client=person, session_type=offer, starts_at=at(MONDAY, 9), context=None)


def test_cancelling_and_moving_within_the_window_and_not_after(offer, therapist, client_user):
    with time_machine.travel(SUNDAY - dt.timedelta(days=2), tick=False):
        booked = client_book(client=client_user, session_type=offer, starts_at=at(MONDAY, 9), context=None)
        moved = client_move(client=client_user, appointment_id=booked.pk, starts_at=at(MONDAY, 11), context=None)
        assert moved.starts_at == at(MONDAY, 11)
        assert AuditEvent.objects.get(action=Action.APPOINTMENT_RESCHEDULE).details["by"] == "client"
    # Less than 24 hours before: refused, and the session stays as it is.
    with time_machine.travel(at(MONDAY, 0), tick=False):
        with pytest.raises(Conflict, match="ask your therapist"):
            client_cancel(client=client_user, appointment_id=booked.pk, context=None)
        with pytest.raises(Conflict):
            client_move(client=client_user, appointment_id=booked.pk, starts_at=at(MONDAY, 9), context=None)
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.SCHEDULED and booked.starts_at == at(MONDAY, 11)
    with time_machine.travel(SUNDAY - dt.timedelta(days=1), tick=False):
        client_cancel(client=client_user, appointment_id=booked.pk, context=None)
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.CANCELLED


def test_a_session_the_therapist_scheduled_is_moved_by_the_therapist(offer, therapist, client_user):
    with time_machine.travel(SUNDAY - dt.timedelta(days=2), tick=False):
        theirs = appointment_schedule(
            therapist=therapist, clients=[client_user], kind="individual", starts_at=at(MONDAY, 10), notify=False
        )
        with pytest.raises(Conflict, match="ask them to move it"):
            client_move(client=client_user, appointment_id=theirs.pk, starts_at=at(MONDAY, 9), context=None)
        # Cancelling it is the client's, within the window.
        client_cancel(client=client_user, appointment_id=theirs.pk, context=None)


def test_bad_settings_are_refused_with_a_reason(therapist, client_user):
    with pytest.raises(ServiceError, match="ends after it starts"):
        hours_set(therapist=therapist, spans=[(0, dt.time(12), dt.time(9))], context=None)
    with pytest.raises(ServiceError, match="overlap"):
        hours_set(
            therapist=therapist, spans=[(1, dt.time(9), dt.time(12)), (1, dt.time(11), dt.time(14))], context=None
        )
    with pytest.raises(ServiceError, match="10 to 240"):
        session_type_save(therapist=therapist, context=None, name="Too long", minutes=500)
    with pytest.raises(ServiceError, match="as a number"):
        session_type_save(therapist=therapist, context=None, name="Odd fee", fee="lots")
    with pytest.raises(NotAllowed):
        hours_set(therapist=client_user, spans=[], context=None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clients_booking_one_time_at_once_one_gets_it(postgres, therapist, client_user, make_user, practice):
    import threading

    from django.db import connections

    practice.time_zone = "America/New_York"
    practice.save(update_fields=["time_zone"])
    therapist.refresh_from_db()
    other = make_user("client", name="Other Client")
    for person in (client_user, other):
        ClientChart.objects.create(client=person, practice_id=practice.pk).care_team.add(therapist)
    hours_set(therapist=therapist, spans=[(0, dt.time(9), dt.time(12))], context=None)
    offer = session_type_save(therapist=therapist, context=None, name="Session", minutes=50, buffer_minutes=10,
                              notice_hours=0, horizon_days=30)  # fmt: skip
    monday = next(d for d in (dt.date.today() + dt.timedelta(days=n) for n in range(2, 10)) if d.weekday() == 0)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def book(person) -> None:
        try:
            barrier.wait()
            client_book(client=person, session_type=offer, starts_at=at(monday, 9), context=None)
            outcomes.append("booked")
        except Conflict:
            outcomes.append("taken")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=book, args=(p,)) for p in (client_user, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "taken"]
    assert Appointment.objects.filter(therapist=therapist, status=AppointmentStatus.SCHEDULED).count() == 1


def test_the_therapist_sets_hours_and_types_on_their_availability_page(
    login_as, therapist, client_user, admin, make_user
):
    from sessions.models import SessionType, WorkingHours

    browser = login_as(therapist)
    page = browser.get("/sessions/availability/").content.decode()
    assert "No session types yet" in page and "Monday from" in page
    half = browser.post("/sessions/availability/", {"action": "hours", "d0_from": "09:00"})
    assert half.status_code == 400 and "both a start and an end" in half.content.decode()
    backwards = browser.post("/sessions/availability/", {"action": "hours", "d1_from": "17:00", "d1_to": "09:00"})
    assert backwards.status_code == 400 and "ends after it starts" in backwards.content.decode()
    assert not WorkingHours.objects.exists()
    saved = browser.post(
        "/sessions/availability/", {"action": "hours", "d0_from": "09:00", "d0_to": "12:00", "d2_from": "13:00",
                                    "d2_to": "17:30"},
    )  # fmt: skip
    assert saved.status_code == 302
    assert sorted(WorkingHours.objects.values_list("weekday", flat=True)) == [0, 2]
    added = browser.post(
        "/sessions/availability/",
        {"action": "type", "name": "First session", "minutes": "60", "fee": "150", "mode": "telehealth",
         "buffer_minutes": "10", "notice_hours": "48", "horizon_days": "30", "bookable": "on"},
    )  # fmt: skip
    assert added.status_code == 302
    kind = SessionType.objects.get(therapist=therapist)
    assert (kind.minutes, str(kind.fee), kind.notice_hours) == (60, "150.00", 48)
    changed = browser.post(
        "/sessions/availability/",
        {"action": "type", "type": kind.pk, f"t{kind.pk}-name": "First session", f"t{kind.pk}-minutes": "50",
         f"t{kind.pk}-fee": "150", f"t{kind.pk}-mode": "in_person", f"t{kind.pk}-buffer_minutes": "0",
         f"t{kind.pk}-notice_hours": "24", f"t{kind.pk}-horizon_days": "30"},
    )  # fmt: skip
    assert changed.status_code == 302
    kind.refresh_from_db()
    assert (kind.minutes, kind.mode, kind.bookable) == (50, "in_person", False)
    # Another therapist cannot change it by naming it.
    colleague = make_user("therapist", name="Cole Colleague")
    taken = login_as(colleague).post(
        "/sessions/availability/",
        {"action": "type", "type": kind.pk, f"t{kind.pk}-name": "Mine now", f"t{kind.pk}-minutes": "50",
         f"t{kind.pk}-fee": "0", f"t{kind.pk}-mode": "telehealth", f"t{kind.pk}-buffer_minutes": "0",
         f"t{kind.pk}-notice_hours": "0", f"t{kind.pk}-horizon_days": "30"},
    )  # fmt: skip
    assert taken.status_code == 404
    kind.refresh_from_db()
    assert kind.name == "First session"
    assert AuditEvent.objects.filter(action=Action.BOOKING_SETTINGS_CHANGE).count() == 3
    for other in (client_user, admin):
        assert login_as(other).get("/sessions/availability/").status_code == 403


def test_time_off_closes_its_days_to_booking(offer, therapist, login_as):
    from sessions.models import TimeOff
    from sessions.services.booking import time_off_add

    with time_machine.travel(SUNDAY - dt.timedelta(days=2), tick=False):
        assert open_times(session_type=offer, on=MONDAY)
        away = time_off_add(therapist=therapist, first=MONDAY, last=MONDAY, context=None)
        assert open_times(session_type=offer, on=MONDAY) == []
        assert open_times(session_type=offer, on=MONDAY + dt.timedelta(days=7))  # the next Monday is open
        with pytest.raises(ServiceError, match="on or after the first"):
            time_off_add(therapist=therapist, first=MONDAY, last=MONDAY - dt.timedelta(days=1), context=None)
        browser = login_as(therapist)
        page = browser.get("/sessions/availability/").content.decode()
        assert "Monday 14 December" in page and "Add time off" in page
        bad = browser.post("/sessions/availability/", {"action": "time_off", "off-first": "soon"}, follow=True)
        assert "Give the first and the last day off" in bad.content.decode()
        browser.post("/sessions/availability/", {"action": "time_off_remove", "time_off": away.pk})
        assert not TimeOff.objects.exists() and open_times(session_type=offer, on=MONDAY)
        added = browser.post(
            "/sessions/availability/", {"action": "time_off", "off-first": "2026-12-21", "off-last": "2026-12-25"}
        )
        assert added.status_code == 302 and TimeOff.objects.get().ends_at == at(dt.date(2026, 12, 26), 0)
