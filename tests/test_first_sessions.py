"""Asking for a first session: a public page a practice turns on, nothing clinical asked, the
request sealed at rest, the admins told by a link only, answered with an invitation or declined
(and erased); limited per network; through the page and the API."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from accounts.models import Invitation, Role
from audit.models import Action, AuditEvent
from sessions.models import FirstSessionRequest, SessionPolicy
from sessions.services import requests

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def taking(practice):
    SessionPolicy.objects.update_or_create(practice=practice, defaults={"first_session_requests": True})
    return practice


def test_the_page_is_there_only_when_the_practice_turns_it_on(practice):
    assert Client().get(f"/sessions/ask/{practice.slug}/").status_code == 404
    assert Client().get("/sessions/ask/no-such-practice/").status_code == 404
    SessionPolicy.objects.update_or_create(practice=practice, defaults={"first_session_requests": True})
    page = Client().get(f"/sessions/ask/{practice.slug}/").content.decode()
    assert "Ask Lakeside Therapy for a first session" in page and "do not write anything about why" in page


def test_a_request_reaches_the_admins_and_becomes_an_invitation(
    taking, admin, therapist, login_as, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = Client().post(
            f"/sessions/ask/{taking.slug}/",
            {"full_name": "Pat Prospect", "email": "Pat@Example.org", "phone": "555 0100",
             "times": ["weekday_evenings", "weekends"]},
        )  # fmt: skip
    assert sent.status_code == 200 and "Thank you" in sent.content.decode()
    made = FirstSessionRequest.objects.get()
    assert made.preferred_times == "Weekday evenings, Weekends" and made.email == "pat@example.org"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT full_name, email FROM {FirstSessionRequest._meta.db_table}")
        raw = " ".join(str(v) for v in cursor.fetchone())
    assert "Pat" not in raw and "example.org" not in raw  # sealed at rest
    told = [m for m in mail.outbox if m.subject == "A request for a first session"]
    assert told and told[0].to == [admin.email] and "Pat" not in told[0].body
    assert therapist.email not in told[0].to
    # Only admins see it; one tap sends the ordinary invitation to the address given.
    assert login_as(therapist).get("/sessions/requests/").status_code == 403
    browser = login_as(admin)
    assert "Pat Prospect" in browser.get("/sessions/requests/").content.decode()
    # The list of people who are not clients yet is a read of their personal data: audited.
    seen = AuditEvent.objects.filter(action="sessions.first_requests_view").latest("id")
    assert seen.details["requests"] == str(made.pk) and seen.subject_client_id is None
    with django_capture_on_commit_callbacks(execute=True):
        browser.post("/sessions/requests/", {"request": made.pk, "answer": "invite", "therapist": therapist.pk})
    invitation = Invitation.objects.get(email="pat@example.org")
    # The client joins the chosen therapist's caseload on accepting.
    assert invitation.role == Role.CLIENT and invitation.full_name == "Pat Prospect"
    assert invitation.invited_by == therapist
    assert any("pat@example.org" in m.to for m in mail.outbox)
    made.refresh_from_db()
    assert made.invitation == invitation and made.answered_by == admin and made.email == ""
    assert "No requests waiting" in browser.get("/sessions/requests/").content.decode()
    again = browser.post("/sessions/requests/", {"request": made.pk, "answer": "decline"}, follow=True)
    assert "already been answered" in again.content.decode()


def test_a_declined_request_is_erased(taking, admin, login_as):
    made = requests.request_make(practice=taking, context=None, full_name="Dee Clined", email="dee@example.org")
    login_as(admin).post("/sessions/requests/", {"request": made.pk, "answer": "decline"})
    made.refresh_from_db()
    assert made.declined and (made.full_name, made.email, made.phone) == ("", "", "")
    assert AuditEvent.objects.filter(action=Action.FIRST_SESSION_ANSWER, details__answer="declined").exists()


def test_bad_input_and_too_many_requests_get_clear_answers(taking):
    browser = Client()
    url = f"/sessions/ask/{taking.slug}/"
    for body, says in (
        ({"full_name": "", "email": "a@example.org"}, "This field is required"),
        ({"full_name": "Al", "email": "not an address"}, "valid email"),
        ({"full_name": "Al", "email": "a@example.org", "phone": "call me maybe"}, "phone number in digits"),
        ({"full_name": "Al", "email": "a@example.org", "times": ["midnight"]}, "valid choice"),
    ):
        response = browser.post(url, body)
        assert response.status_code == 400 and says in response.content.decode(), body
    assert FirstSessionRequest.objects.count() == 0
    for _ in range(requests.PER_ADDRESS_PER_HOUR):
        assert browser.post(url, {"full_name": "Al", "email": "a@example.org"}).status_code == 200
    limited = browser.post(url, {"full_name": "Al", "email": "a@example.org"})
    assert limited.status_code == 429 and "Too many requests" in limited.content.decode()
    assert FirstSessionRequest.objects.count() == requests.PER_ADDRESS_PER_HOUR


def test_the_api_asks_lists_and_answers(taking, admin, therapist, login_as, django_capture_on_commit_callbacks):
    public = Client()

    def ask(body, slug=taking.slug):
        return public.post(f"/api/v1/first-sessions/ask/{slug}/", json.dumps(body), content_type="application/json")

    assert ask({"full_name": "Pat", "email": "pat@example.org"}, slug="elsewhere").status_code == 404
    assert ask({"full_name": "Pat", "email": "nope"}).status_code == 400
    assert ask({"full_name": "Pat", "email": "pat@example.org", "times": ["never"]}).status_code == 400
    assert ask(["not", "an", "object"]).status_code == 400
    accepted = ask({"full_name": "Pat Prospect", "email": "pat@example.org", "times": ["weekends"]})
    assert accepted.status_code == 202 and "will write to you" in accepted.json()["detail"]
    assert login_as(therapist).get("/api/v1/first-sessions/").status_code == 403
    listed = login_as(admin).get("/api/v1/first-sessions/").json()
    assert [r["full_name"] for r in listed] == ["Pat Prospect"] and listed[0]["preferred_times"] == "Weekends"
    nobody = login_as(admin).post(
        f"/api/v1/first-sessions/{listed[0]['id']}/answer/", json.dumps({"answer": "invite", "therapist": admin.pk}),
        content_type="application/json",
    )  # fmt: skip
    assert nobody.status_code == 400 and "therapist who will see them" in nobody.json()["detail"]
    answer = login_as(admin).post(
        f"/api/v1/first-sessions/{listed[0]['id']}/answer/",
        json.dumps({"answer": "invite", "therapist": therapist.pk}),
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 200 and Invitation.objects.filter(email="pat@example.org").exists()
    bad = login_as(admin).post(
        f"/api/v1/first-sessions/{listed[0]['id']}/answer/", json.dumps({"answer": "maybe"}),
        content_type="application/json",
    )  # fmt: skip
    assert bad.status_code == 400


def test_a_request_left_unanswered_is_erased_after_ninety_days(taking):
    import datetime as dt

    import time_machine

    requests.request_make(practice=taking, context=None, full_name="Old Ask", email="old@example.org")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=89)):
        assert requests.first_requests_forget() == 0
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=91)):
        assert requests.first_requests_forget() == 1
    assert not FirstSessionRequest.objects.exists()
