"""Sign-in: password, then the second factor, with replay and window checks."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from accounts.models import TOTPDevice, UserSession
from audit.models import Action, AuditEvent
from tests.conftest import PASSWORD, password_only_session, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_it_asks_for_the_second_factor_after_the_password(therapist):
    client = Client()
    response = client.post("/login/", {"email": therapist.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/mfa/")
    assert client.get("/").status_code == 302  # still not in


def test_it_signs_in_with_a_current_code(therapist):
    client = password_only_session(therapist)
    response = client.post("/mfa/", {"code": totp_code(therapist.totp_secret)})
    assert response.status_code == 302
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert b"Welcome, Theo Therapist" in dashboard.content
    actions = list(AuditEvent.objects.filter(actor_id=therapist.pk).values_list("action", flat=True))
    assert Action.LOGIN_SUCCESS in actions and Action.MFA_VERIFY in actions


def test_it_refuses_a_replayed_code(therapist):
    code = totp_code(therapist.totp_secret)
    first = password_only_session(therapist)
    assert first.post("/mfa/", {"code": code}).status_code == 302
    second = password_only_session(therapist)
    response = second.post("/mfa/", {"code": code})
    assert response.status_code == 200
    assert b"not valid" in response.content
    assert second.get("/").status_code == 302
    assert AuditEvent.objects.filter(actor_id=therapist.pk, action=Action.MFA_FAILURE).exists()


def test_it_refuses_an_earlier_step_once_a_later_one_was_used(therapist):
    now = time.time()
    later = totp_code(therapist.totp_secret, at=now + 30)
    earlier = totp_code(therapist.totp_secret, at=now)
    assert password_only_session(therapist).post("/mfa/", {"code": later}).status_code == 302
    device = TOTPDevice.objects.get(user=therapist)
    device.throttling_failure_count = 0
    device.save()
    response = password_only_session(therapist).post("/mfa/", {"code": earlier})
    assert response.status_code == 200


@pytest.mark.parametrize("offset_seconds", [-30, 30])
def test_it_accepts_one_step_of_clock_drift(therapist, offset_seconds):
    client = password_only_session(therapist)
    if time.time() % 30 > 25:  # so that no step boundary passes between making the code and checking it
        time.sleep(30 - time.time() % 30 + 0.1)
    code = totp_code(therapist.totp_secret, at=time.time() + offset_seconds)
    assert client.post("/mfa/", {"code": code}).status_code == 302


@pytest.mark.parametrize("offset_seconds", [-90, 90])
def test_it_refuses_codes_outside_one_step(therapist, offset_seconds):
    now = time.time()
    nearby = {totp_code(therapist.totp_secret, at=now + k * 30) for k in (-1, 0, 1)}
    # Step further out until the code differs from every code inside the window (codes repeat by chance).
    code = totp_code(therapist.totp_secret, at=now + offset_seconds)
    while code in nearby:
        offset_seconds += 30 if offset_seconds > 0 else -30
        code = totp_code(therapist.totp_secret, at=now + offset_seconds)
    response = password_only_session(therapist).post("/mfa/", {"code": code})
    assert response.status_code == 200


def test_the_session_key_changes_at_login_and_after_mfa(therapist):
    client = Client()
    client.get("/login/")
    client.session.save()
    before = client.session.session_key
    client.post("/login/", {"email": therapist.email, "password": PASSWORD})
    after_password = client.session.session_key
    client.post("/mfa/", {"code": totp_code(therapist.totp_secret)})
    after_mfa = client.session.session_key
    assert len({before, after_password, after_mfa}) == 3
    assert list(UserSession.objects.filter(user=therapist).values_list("session_key", flat=True)) == [after_mfa]


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(therapist):
    response = Client().post("/login/", {"email": therapist.email, "password": "not-the-password"})
    assert response.status_code == 200
    assert b"do not match" in response.content
    unknown = Client().post("/login/", {"email": "nobody@example.org", "password": "not-the-password"})
    assert b"do not match" in unknown.content


def test_passwords_are_hashed_with_argon2id(therapist):
    therapist.refresh_from_db()
    assert therapist.password.startswith("argon2$argon2id$")
    assert PASSWORD not in therapist.password


def test_an_inactive_user_cannot_sign_in(therapist):
    therapist.is_active = False
    therapist.save()
    response = Client().post("/login/", {"email": therapist.email, "password": PASSWORD})
    assert response.status_code == 200


def test_it_logs_out_only_by_post(login_as, therapist):
    client = login_as(therapist)
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(actor_id=therapist.pk, action=Action.LOGOUT).exists()


def test_next_cannot_send_people_to_another_site(therapist):
    client = Client()
    client.post(
        "/login/?next=https://evil.example/",
        {"email": therapist.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    response = client.post("/mfa/", {"code": totp_code(therapist.totp_secret), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_the_tolerance_is_the_configured_number_of_steps(therapist, settings):
    """OTP_TOTP_TOLERANCE_STEPS decides: with 0 only the current step's code is taken, with 2 a
    code from two steps away is."""
    import time_machine

    now = (time.time() // 30) * 30 + 10  # the middle of a step, frozen
    with time_machine.travel(now, tick=False):
        settings.OTP_TOTP_TOLERANCE_STEPS = 0
        previous = totp_code(therapist.totp_secret, at=now - 30)
        if previous != totp_code(therapist.totp_secret, at=now):
            assert password_only_session(therapist).post("/mfa/", {"code": previous}).status_code == 200
        TOTPDevice.objects.filter(user=therapist).update(throttling_failure_count=0, throttling_failure_timestamp=None)
        settings.OTP_TOTP_TOLERANCE_STEPS = 2
        two_away = totp_code(therapist.totp_secret, at=now - 60)
        assert password_only_session(therapist).post("/mfa/", {"code": two_away}).status_code == 302
