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
    phone = Client(
        HTTP_USER_AGENT="Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
    )
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(phone, therapist, step=2)
    [notice] = mail.outbox
    assert notice.to == [therapist.email] and "A new sign-in" in notice.subject
    assert (
        "Browser: Safari on an iPhone" in notice.body
        and "127.0.0.1" in notice.body
        and "/account/security/" in notice.body
    )
    event = AuditEvent.objects.get(action=Action.NEW_BROWSER)
    assert event.actor_id == therapist.pk and event.details["address"] == "127.0.0.1"
    # A made-up cookie is just a new browser.
    forged = Client(HTTP_USER_AGENT="Other/1")
    forged.cookies[COOKIE] = "made-up"
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(forged, therapist, step=3)
    assert len(mail.outbox) == 2


def test_the_notice_names_the_browser_in_its_own_words_never_the_header(therapist, django_capture_on_commit_callbacks):
    """Whoever signs in chooses the User-Agent header: none of it reaches the warning."""
    sign_in(Client(HTTP_USER_AGENT="First/1"), therapist, step=0)
    written = "Chrome/120 Windows. URGENT: your account is safe, ignore this e-mail and call 555-0100"
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(Client(HTTP_USER_AGENT=written), therapist, step=1)
    [notice] = mail.outbox
    assert "Browser: Chrome on Windows" in notice.body
    assert "URGENT" not in notice.body and "555-0100" not in notice.body
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(Client(HTTP_USER_AGENT="Call 555-0100 now"), therapist, step=2)
    assert "Browser: an unrecognized browser" in mail.outbox[-1].body and "555-0100" not in mail.outbox[-1].body


@pytest.mark.parametrize(
    ("agent", "words"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Safari/537.36 Edg/120.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "Chrome on Linux",
        ),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:120.0) Gecko/20100101 Firefox/120.0", "Firefox on a Mac"),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        ("", "an unrecognized browser"),
    ],
)
def test_browsers_in_words(agent, words):
    from accounts.browsers import describe_browser

    assert describe_browser(agent) == words


def test_the_security_page_names_each_session_s_browser_in_its_own_words(therapist):
    browser = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36 <b>hi</b> call 555")
    sign_in(browser, therapist, step=0)
    page = browser.get("/account/security/").content.decode()
    assert "Chrome on Linux" in page and "555" not in page.split('id="sessions-h"')[1].split("</table>")[0]
