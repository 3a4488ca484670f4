"""A sign-in from a browser the account has not used before is e-mailed to its person."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail
from django.test import Client

from accounts.services.notices import COOKIE
from audit.models import Action, AuditEvent
from tests.conftest import PASSWORD, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def sign_in(browser: Client, user, *, step: int = 0) -> None:
    """Both steps, a minute apart each time (each code works once)."""
    import time

    with time_machine.travel(time.time() + 60 * step, tick=False):
        assert browser.post("/login/", {"email": user.email, "password": PASSWORD}).status_code == 302
        assert browser.post("/mfa/", {"code": totp_code(user.totp_secret)}).status_code == 302


def test_a_new_browser_is_told_and_a_known_one_is_not(therapist, django_capture_on_commit_callbacks):
    laptop = Client(HTTP_USER_AGENT="Laptop Browser/1")
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(laptop, therapist, step=0)
    assert mail.outbox == []  # the account's first browser: nothing to warn about
    assert laptop.cookies[COOKIE]["httponly"]
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(laptop, therapist, step=1)
    assert mail.outbox == []  # seen before
    phone = Client(HTTP_USER_AGENT="Phone Browser/9")
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(phone, therapist, step=2)
    [notice] = mail.outbox
    assert notice.to == [therapist.email] and "A new sign-in" in notice.subject
    assert "Phone Browser/9" in notice.body and "127.0.0.1" in notice.body and "/account/security/" in notice.body
    event = AuditEvent.objects.get(action=Action.NEW_BROWSER)
    assert event.actor_id == therapist.pk and event.details["address"] == "127.0.0.1"
    # A made-up cookie is just a new browser.
    forged = Client(HTTP_USER_AGENT="Other/1")
    forged.cookies[COOKIE] = "made-up"
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(forged, therapist, step=3)
    assert len(mail.outbox) == 2
