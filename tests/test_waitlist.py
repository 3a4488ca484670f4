"""The waitlist: a cancelled time is offered to everyone waiting, in the order they asked, by an
e-mail with a link and nothing else; the first to accept has it, the others are told it is gone;
two accepting at once cannot both have it."""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo

import pytest
import time_machine
from django.core import mail

from accounts.models import Role
from records.models import ClientChart
from sessions.models import Appointment, AppointmentStatus, OfferOutcome, WaitlistOffer
from sessions.services import appointment_cancel, appointment_schedule
from sessions.services.booking import client_book, hours_set, session_type_save
from sessions.services.waitlist import offer_accept, waitlist_join
from teletherapy.errors import Conflict

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
NY = zoneinfo.ZoneInfo("America/New_York")
SATURDAY = dt.datetime(2026, 12, 12, 8, 0, tzinfo=NY)
MONDAY = dt.date(2026, 12, 14)


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), NY)


@pytest.fixture
def waiting(practice, therapist, client_user, make_user):
    """Mondays 09:00-17:00 in New York; three clients of the therapist: the first books Monday 16:00
    and waits for earlier, the second waits without a session, the third has Monday 10:00."""
    practice.time_zone = "America/New_York"
    practice.save(update_fields=["time_zone"])
    therapist.refresh_from_db()
    second = make_user(Role.CLIENT, name="Sid Second")
    third = make_user(Role.CLIENT, name="Tia Third")
    for person in (client_user, second, third):
        ClientChart.objects.create(client=person, practice_id=practice.pk).care_team.add(therapist)
    hours_set(therapist=therapist, spans=[(0, dt.time(9), dt.time(17))], context=None)
    kind = session_type_save(therapist=therapist, context=None, name="Session", minutes=50, buffer_minutes=10,
                             notice_hours=0, horizon_days=30)  # fmt: skip
    with time_machine.travel(SATURDAY, tick=False):
        late = client_book(client=client_user, session_type=kind, starts_at=at(MONDAY, 16), context=None)
        waitlist_join(client=client_user, type_id=kind.pk, appointment_id=late.pk, context=None)
        waitlist_join(client=second, type_id=kind.pk, context=None)
        freed = appointment_schedule(therapist=therapist, clients=[third], kind="individual",
                                     starts_at=at(MONDAY, 10), notify=False)  # fmt: skip
    return {"kind": kind, "late": late, "second": second, "third": third, "freed": freed}


def offers_by_mail() -> dict[str, str]:
    """Address -> the link in the offer e-mail sent to it."""
    found = {}
    for message in mail.outbox:
        if message.subject == "An earlier time may be open":
            found[message.to[0]] = re.search(r"/sessions/offers/([0-9a-f-]{36})/", message.body).group(1)
    return found


def test_a_cancelled_time_goes_to_the_first_who_takes_it_and_the_others_are_told(
    waiting, therapist, client_user, login_as, django_capture_on_commit_callbacks
):
    second, third = waiting["second"], waiting["third"]
    with time_machine.travel(SATURDAY, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            appointment_cancel(therapist=therapist, appointment=waiting["freed"], context=None)
        links = offers_by_mail()
        # Both waiting are offered it, in the order they asked; the one who cancelled is not.
        assert set(links) == {client_user.email, second.email}
        assert [o.entry.client for o in WaitlistOffer.objects.order_by("sent_at", "entry__created_at")] == [
            client_user,
            second,
        ]
        for message in mail.outbox:
            if message.subject.startswith("An earlier"):
                assert "Theo" not in message.body and "10:00" not in message.body and "Monday" not in message.body
        # The second takes it from the page: a new session at 10:00.
        page = login_as(second).get(f"/sessions/offers/{links[second.email]}/").content.decode()
        assert "Take this time" in page and "This books a new session" in page
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            took = login_as(second).post(f"/sessions/offers/{links[second.email]}/")
        assert took.status_code == 302
        assert (
            Appointment.objects.get(therapist=therapist, starts_at=at(MONDAY, 10), status="scheduled")
            .participants.get()
            .client
            == second
        )
        # The first is told it is gone, and their own link says so; taking it is refused.
        gone = [m for m in mail.outbox if m.subject == "The earlier time has been taken"]
        assert [m.to[0] for m in gone] == [client_user.email]
        mine = login_as(client_user)
        assert (
            "Someone else took this time first"
            in mine.get(f"/sessions/offers/{links[client_user.email]}/").content.decode()
        )
        refused = mine.post(f"/sessions/offers/{links[client_user.email]}/")
        assert refused.status_code == 409
        late = waiting["late"]
        late.refresh_from_db()
        assert late.starts_at == at(MONDAY, 16)  # their own session is untouched
        # Someone else's offer is not there for a client.
        assert login_as(third).get(f"/sessions/offers/{links[client_user.email]}/").status_code == 404


def test_taking_an_offer_moves_the_session_it_was_earlier_than(
    waiting, therapist, client_user, login_as, django_capture_on_commit_callbacks
):
    with time_machine.travel(SATURDAY, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            appointment_cancel(therapist=therapist, appointment=waiting["freed"], context=None)
        link = offers_by_mail()[client_user.email]
        browser = login_as(client_user)
        assert "moves to this time" in browser.get(f"/sessions/offers/{link}/").content.decode()
        # Through the API this time.
        taken = browser.post(f"/api/v1/waitlist/offers/{link}/accept/", "{}", content_type="application/json")
        assert taken.status_code == 201, taken.content
        late = waiting["late"]
        late.refresh_from_db()
        assert late.starts_at == at(MONDAY, 10) and late.status == AppointmentStatus.SCHEDULED
        assert not browser.get("/api/v1/waitlist/").json()  # the entry is closed
        again = browser.post(f"/api/v1/waitlist/offers/{link}/accept/", "{}", content_type="application/json")
        assert again.status_code == 409


def test_no_offer_goes_to_someone_who_has_left_the_care_team(
    waiting, therapist, client_user, django_capture_on_commit_callbacks
):
    ClientChart.objects.get(client=waiting["second"]).care_team.remove(therapist)
    with time_machine.travel(SATURDAY, tick=False), django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(therapist=therapist, appointment=waiting["freed"], context=None)
    assert set(offers_by_mail()) == {client_user.email}


def test_the_waitlist_from_the_pages_and_the_api(waiting, client_user, login_as, make_user, therapist):
    kind = waiting["kind"]
    with time_machine.travel(SATURDAY, tick=False):
        browser = login_as(client_user)
        assert "You are on the waitlist" in browser.get(f"/sessions/{waiting['late'].pk}/change/").content.decode()
        entries = browser.get("/api/v1/waitlist/").json()
        assert [e["type"] for e in entries] == [kind.pk]
        left = browser.delete(f"/api/v1/waitlist/{entries[0]['id']}/")
        assert left.status_code == 204 and browser.get("/api/v1/waitlist/").json() == []
        joined = browser.post("/api/v1/waitlist/", json.dumps({"type": kind.pk}), content_type="application/json")
        assert joined.status_code == 201
        bad = browser.post("/api/v1/waitlist/", json.dumps({"type": kind.pk, "appointment": "x"}),
                           content_type="application/json")  # fmt: skip
        assert bad.status_code == 400
        # A session of someone else's is not one to replace.
        theirs = browser.post(
            "/api/v1/waitlist/", json.dumps({"type": kind.pk, "appointment": str(waiting["freed"].pk)}),
            content_type="application/json",
        )  # fmt: skip
        assert theirs.status_code == 400
        # The book page offers it; a client of another therapist cannot join this one's list.
        assert "Leave the waitlist" in browser.get(f"/sessions/book/?type={kind.pk}").content.decode()
        outsider = make_user(Role.CLIENT, name="Ona Outside")
        refused = login_as(outsider).post("/sessions/waitlist/", {"type": kind.pk})
        assert refused.status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_accepting_at_once_one_gets_it(postgres, practice, therapist, client_user, make_user):
    import threading

    from django.db import connections

    other = make_user(Role.CLIENT, name="Other Client")
    holder = make_user(Role.CLIENT, name="Holder Client")
    for person in (client_user, other, holder):
        ClientChart.objects.create(client=person, practice_id=practice.pk).care_team.add(therapist)
    hours_set(therapist=therapist, spans=[(d, dt.time(0), dt.time(23)) for d in range(7)], context=None)
    kind = session_type_save(therapist=therapist, context=None, name="Session", minutes=50, buffer_minutes=0,
                             notice_hours=0, horizon_days=30)  # fmt: skip
    for person in (client_user, other):
        waitlist_join(client=person, type_id=kind.pk, context=None)
    soon = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
    held = appointment_schedule(therapist=therapist, clients=[holder], kind="individual", starts_at=soon, notify=False)
    appointment_cancel(therapist=therapist, appointment=held, context=None)  # the worker makes the offers
    offers = {o.entry.client_id: o for o in WaitlistOffer.objects.select_related("entry")}
    assert set(offers) == {client_user.pk, other.pk}
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(person) -> None:
        try:
            barrier.wait()
            offer_accept(client=person, offer_id=offers[person.pk].pk, context=None)
            outcomes.append("took")
        except Conflict as refusal:
            outcomes.append(refusal.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept, args=(p,)) for p in (client_user, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["offer_gone", "took"]
    assert Appointment.objects.filter(therapist=therapist, starts_at=soon, status="scheduled").count() == 1
    assert sorted(WaitlistOffer.objects.values_list("outcome", flat=True)) == [OfferOutcome.GONE, OfferOutcome.TAKEN]
