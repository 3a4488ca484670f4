"""Idle logoff, the absolute lifetime, and the warning banner."""

from __future__ import annotations

import pytest
from django.conf import settings

from accounts.login_session import AUTH_AT_KEY, LAST_SEEN_KEY
from audit.models import Action, AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _age(client, key: str, seconds: int) -> None:
    session = client.session
    session[key] = session[key] - seconds
    session.save()


def test_it_signs_out_after_idle_time(login_as, client_user):
    client = login_as(client_user)
    assert client.get("/").status_code == 200
    _age(client, LAST_SEEN_KEY, settings.SESSION_IDLE_TIMEOUT_SECONDS + 1)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302
    assert AuditEvent.objects.filter(actor_id=client_user.pk, action=Action.IDLE_TIMEOUT).exists()


def test_activity_keeps_the_session_alive(login_as, client_user):
    client = login_as(client_user)
    _age(client, LAST_SEEN_KEY, settings.SESSION_IDLE_TIMEOUT_SECONDS - 5)
    assert client.get("/").status_code == 200
    _age(client, LAST_SEEN_KEY, 10)
    assert client.get("/").status_code == 200


def test_the_status_poll_is_not_activity(login_as, client_user):
    client = login_as(client_user)
    _age(client, LAST_SEEN_KEY, settings.SESSION_IDLE_TIMEOUT_SECONDS - 60)
    status = client.get("/account/session/status/", HTTP_X_PASSIVE="1")
    assert 50 <= status.json()["seconds_left"] <= 60
    _age(client, LAST_SEEN_KEY, 61)
    assert client.get("/").status_code == 302


def test_stay_signed_in_resets_the_idle_clock(login_as, client_user):
    client = login_as(client_user)
    _age(client, LAST_SEEN_KEY, settings.SESSION_IDLE_TIMEOUT_SECONDS - 30)
    assert client.post("/account/session/keepalive/").status_code == 200
    _age(client, LAST_SEEN_KEY, 60)
    assert client.get("/").status_code == 200


def test_it_ends_the_session_at_its_absolute_lifetime(login_as, client_user):
    client = login_as(client_user)
    _age(client, AUTH_AT_KEY, settings.SESSION_ABSOLUTE_LIFETIME_SECONDS + 1)
    response = client.get("/")
    assert response.status_code == 302
    assert AuditEvent.objects.filter(actor_id=client_user.pk, action=Action.ABSOLUTE_TIMEOUT).exists()


def test_an_expired_api_session_gets_a_json_error(login_as, client_user):
    client = login_as(client_user)
    _age(client, LAST_SEEN_KEY, settings.SESSION_IDLE_TIMEOUT_SECONDS + 1)
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["code"] == "session_expired"


def test_pages_carry_the_warning_banner_settings(login_as, client_user):
    content = login_as(client_user).get("/").content.decode()
    assert f'data-idle-timeout="{settings.SESSION_IDLE_TIMEOUT_SECONDS}"' in content
    assert 'id="idle-banner"' in content
