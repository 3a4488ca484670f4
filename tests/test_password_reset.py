"""A forgotten password: the same answer for any address, a single-use link bound to the
account that expires, Django's password rules, every session ended, the person told, each step
audited, limits per client address and per account, and the second factor still asked for."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.test import Client

from accounts.models import PasswordResetLink, Role
from audit.models import Action, AuditEvent, Outcome
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
NEW = "a quiet river under snow"
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def ask(email: str, client: Client | None = None, *, address: str = "203.0.113.7"):
    client = client or Client()
    return client.post("/password/forgot/", {"email": email}, REMOTE_ADDR=address)


def link_in(message) -> str:
    return urlsplit(re.search(r"https?://\S+/password/reset/\S+/", message.body).group(0)).path


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(
    client_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        known = ask(client_user.email)
        unknown = ask("nobody-here@example.org")
    assert known.status_code == unknown.status_code == 200

    def said(response, email: str) -> str:
        return response.content.decode().replace(email, "ADDRESS").split("<main", 1)[1]

    # Only the address typed differs; the token of the form differs per request and is not shown.
    assert said(known, client_user.email) == said(unknown, "nobody-here@example.org")
    [sent] = mail.outbox
    assert sent.to == [client_user.email] and "30 minutes" in sent.body
    events = list(AuditEvent.objects.filter(action=Action.PASSWORD_RESET_REQUEST).order_by("id"))
    assert [e.outcome for e in events] == [Outcome.ALLOWED, Outcome.DENIED]
    assert events[0].subject_client_id == client_user.pk
    assert "nobody-here" not in str(events[1].details)


def test_the_link_sets_a_new_password_ends_every_session_and_still_asks_for_the_second_factor(
    client_user, login_as, django_capture_on_commit_callbacks
):
    elsewhere = login_as(client_user)
    assert elsewhere.get("/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        ask(client_user.email)
    path = link_in(mail.outbox[0])
    browser = Client()
    opened = browser.get(path)
    # The token leaves the address bar at once.
    assert opened.status_code == 302 and opened["Location"] == "/password/reset/"
    page = browser.get("/password/reset/")
    assert client_user.email in page.content.decode() and 'autocomplete="new-password"' in page.content.decode()
    weak = browser.post("/password/reset/", {"password": "password123"})
    assert "too common" in weak.content.decode() or "too short" in weak.content.decode()
    client_user.refresh_from_db()
    assert client_user.check_password(PASSWORD)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = browser.post("/password/reset/", {"password": NEW})
    assert done.status_code == 302 and done["Location"] == "/mfa/"
    client_user.refresh_from_db()
    assert client_user.check_password(NEW)
    # The other browser is signed out; this one is half-way: the second factor comes next.
    assert elsewhere.get("/").status_code == 302
    assert browser.get("/").status_code == 302
    assert "authenticator" in browser.get("/mfa/").content.decode()
    [told] = mail.outbox
    assert told.to == [client_user.email] and "password of your account was changed" in told.body
    assert AuditEvent.objects.filter(action=Action.PASSWORD_RESET, outcome=Outcome.ALLOWED).count() == 1
    revoked = AuditEvent.objects.get(action=Action.SESSION_REVOKED)
    assert revoked.details["reason"] == "password_reset"
    # Used once: the link is spent.
    again = Client().get(path)
    assert again.status_code == 410 and "used or has expired" in again.content.decode()


def test_a_link_expires_after_thirty_minutes_and_a_new_one_spends_none_other_until_used(
    client_user, django_capture_on_commit_callbacks
):
    with time_machine.travel(START, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            ask(client_user.email)
            ask(client_user.email)
        first, second = link_in(mail.outbox[0]), link_in(mail.outbox[1])
    with time_machine.travel(START + dt.timedelta(minutes=29), tick=False):
        browser = Client()
        assert browser.get(first).status_code == 302
        assert browser.post("/password/reset/", {"password": NEW}).status_code == 302
        # Any new password spends every open link of the account.
        assert Client().get(second).status_code == 410
    with time_machine.travel(START + dt.timedelta(minutes=10), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            ask(client_user.email)
        third = link_in(mail.outbox[-1])
    with time_machine.travel(START + dt.timedelta(minutes=41), tick=False):
        assert Client().get(third).status_code == 410
        assert PasswordResetLink.objects.filter(used_at__isnull=True).count() == 1


def test_a_link_is_bound_to_its_account_and_a_session_cannot_carry_it_to_another(
    client_user, therapist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask(client_user.email)
    browser = Client()
    browser.get(link_in(mail.outbox[0]))
    # The form sets the password of the link's account; nothing in the post names another.
    browser.post("/password/reset/", {"password": NEW, "email": therapist.email, "username": therapist.email})
    therapist.refresh_from_db()
    client_user.refresh_from_db()
    assert therapist.check_password(PASSWORD) and client_user.check_password(NEW)
    assert Client().get("/password/reset/").status_code == 410
    assert Client().get("/password/reset/not-a-real-token/").status_code == 410


def test_requests_are_limited_per_address_openly_and_per_account_silently(
    client_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answers = [ask(client_user.email, address=f"198.51.100.{n}") for n in range(5)]
    assert {a.status_code for a in answers} == {200}
    # Three links an hour per account; the page says the same to the fourth and fifth.
    assert len(mail.outbox) == 3
    throttled = AuditEvent.objects.filter(action=Action.PASSWORD_RESET_REQUEST, details__reason="throttled")
    assert throttled.count() == 2
    for n in range(10):
        assert ask(f"someone-{n}@example.org", address="192.0.2.9").status_code == 200
    refused = ask("someone-else@example.org", address="192.0.2.9")
    assert refused.status_code == 429 and "Too many requests from this network" in refused.content.decode()


def test_bad_input_gets_a_clear_answer(client_user):
    page = Client().post("/password/forgot/", {"email": "not an address"})
    assert page.status_code == 200 and "valid email address" in page.content.decode()
    long = Client().post("/password/forgot/", {"email": "a" * 5000 + "@example.org"})
    assert long.status_code == 200
    assert Client().get("/password/reset/" + "x" * 5000 + "/").status_code == 410
    assert not mail.outbox


def test_an_inactive_account_gets_no_link(client_user, django_capture_on_commit_callbacks):
    client_user.is_active = False
    client_user.save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=True):
        assert ask(client_user.email).status_code == 200
    assert not mail.outbox


def test_an_admin_sends_the_link_to_the_members_own_address(
    login_as, admin, therapist, client_user, stranger, make_user, django_capture_on_commit_callbacks
):
    page = login_as(admin).get(f"/practice/members/{therapist.pk}/")
    assert "E-mail them a link to choose a new password" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        sent = login_as(admin).post(f"/practice/members/{therapist.pk}/password-reset/", follow=True)
    assert f"on its way to {therapist.email}" in sent.content.decode()
    [message] = mail.outbox
    assert message.to == [therapist.email] and admin.full_name in message.body
    event = AuditEvent.objects.get(action=Action.PASSWORD_RESET_REQUEST)
    assert event.actor_id == admin.pk and event.details == {"sent_by": "admin"}
    # Not an admin, or an admin of another practice: refused, and nothing is sent.
    assert login_as(therapist).post(f"/practice/members/{client_user.pk}/password-reset/").status_code == 403
    other_admin = make_user(Role.ADMIN, practice_=stranger.practice)
    assert login_as(other_admin).post(f"/practice/members/{therapist.pk}/password-reset/").status_code == 404
    assert len(mail.outbox) == 1


def test_the_sign_in_page_offers_it(client):
    page = client.get("/login/").content.decode()
    assert 'href="/password/forgot/"' in page and "Forgot your password?" in page
