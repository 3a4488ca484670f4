"""Backoff and lockout per account and per client address, for passwords and codes."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from accounts.models import LoginThrottle
from audit.models import Action, AuditEvent
from tests.conftest import PASSWORD, password_only_session, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _fail(client: Client, email: str, **extra: str) -> int:
    return client.post("/login/", {"email": email, "password": "wrong-password-123"}, **extra).status_code


def test_it_locks_the_account_after_repeated_failures(therapist):
    for _ in range(4):
        assert _fail(Client(), therapist.email) == 200
    assert _fail(Client(), therapist.email) == 429
    # Even the right password is refused while locked, from anywhere.
    response = Client(REMOTE_ADDR="10.9.9.9").post("/login/", {"email": therapist.email, "password": PASSWORD})
    assert response.status_code == 429
    assert b"paused" in response.content
    assert AuditEvent.objects.filter(action=Action.LOCKOUT, target_id=str(therapist.pk)).exists()


def _wait_out_locks() -> None:
    LoginThrottle.objects.update(locked_until=None)


def test_the_lock_grows_exponentially(therapist):
    for _ in range(5):
        _fail(Client(), therapist.email)
    lengths = []
    for _ in range(3):
        row = LoginThrottle.objects.get(scope="account", key=therapist.email)
        lengths.append(round((row.locked_until - row.last_failure_at).total_seconds()))
        _wait_out_locks()
        assert _fail(Client(), therapist.email) == 429
    assert lengths == [30, 60, 120]


def test_attempts_while_locked_are_not_even_checked(therapist):
    for _ in range(5):
        _fail(Client(), therapist.email)
    before = LoginThrottle.objects.get(scope="account", key=therapist.email).failures
    _fail(Client(), therapist.email)
    assert LoginThrottle.objects.get(scope="account", key=therapist.email).failures == before


def test_it_locks_an_address_that_tries_many_accounts(make_user):
    users = [make_user("client") for _ in range(5)]
    attacker = Client(REMOTE_ADDR="203.0.113.7")
    for user in users:
        _fail(attacker, user.email)
    fresh = make_user("client")
    response = attacker.post("/login/", {"email": fresh.email, "password": PASSWORD})
    assert response.status_code == 429
    # Someone else, elsewhere, is not affected.
    assert (
        Client(REMOTE_ADDR="198.51.100.1").post("/login/", {"email": fresh.email, "password": PASSWORD}).status_code
        == 302
    )


def test_a_forged_forwarded_for_header_does_not_bypass_the_address_lock(make_user):
    users = [make_user("client") for _ in range(6)]
    for i, user in enumerate(users[:5]):
        _fail(Client(REMOTE_ADDR="203.0.113.7"), user.email, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    response = Client(REMOTE_ADDR="203.0.113.7").post(
        "/login/", {"email": users[5].email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="192.0.2.200"
    )
    assert response.status_code == 429


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_only_the_address_it_appended_counts(make_user):
    users = [make_user("client") for _ in range(6)]
    for i, user in enumerate(users[:5]):
        # The client forges a left-hand entry; the proxy appends the real address on the right.
        _fail(Client(REMOTE_ADDR="10.0.0.2"), user.email, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, 203.0.113.7")
    blocked = Client(REMOTE_ADDR="10.0.0.2").post(
        "/login/", {"email": users[5].email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.7"
    )
    assert blocked.status_code == 429
    other = Client(REMOTE_ADDR="10.0.0.2").post(
        "/login/", {"email": users[5].email, "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.4"
    )
    assert other.status_code == 302


@override_settings(OTP_THROTTLE_FACTOR=0)
def test_wrong_codes_count_towards_the_lockout(therapist):
    client = password_only_session(therapist)
    for _ in range(4):
        assert client.post("/mfa/", {"code": "000000"}).status_code == 200
    assert client.post("/mfa/", {"code": "000000"}).status_code == 429
    assert client.post("/mfa/", {"code": totp_code(therapist.totp_secret)}).status_code == 429
    assert client.get("/").status_code == 302


def test_the_lock_state_lives_in_the_database(therapist):
    for _ in range(5):
        _fail(Client(), therapist.email)
    assert LoginThrottle.objects.filter(scope="account", key=therapist.email, locked_until__isnull=False).exists()
    assert LoginThrottle.objects.filter(scope="address", key="127.0.0.1", locked_until__isnull=False).exists()
