"""When the audit trail cannot be written, the access it would record does not happen."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import UserSession
from tests.conftest import PASSWORD, audit_table_away, password_only_session, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def audit_table_unwritable():
    with audit_table_away():
        yield


def test_a_sign_in_that_cannot_be_audited_does_not_sign_in(therapist, audit_table_unwritable):
    client = Client()
    response = client.post("/login/", {"email": therapist.email, "password": PASSWORD})
    assert response.status_code == 503
    assert b"could not be recorded" in response.content
    assert "_auth_user_id" not in client.session
    assert not UserSession.objects.filter(user=therapist).exists()


def test_a_second_factor_that_cannot_be_audited_does_not_verify(therapist):
    client = password_only_session(therapist)
    with audit_table_away():
        response = client.post("/mfa/", {"code": totp_code(therapist.totp_secret)})
        assert response.status_code == 503
        dashboard = client.get("/")
        assert dashboard.status_code == 302 and dashboard["Location"].startswith("/mfa/")


def test_the_api_answers_with_a_json_error(login_as, admin, audit_table_unwritable):
    client = login_as(admin)
    response = client.post(
        "/api/v1/accounts/invitations/",
        {"email": "new@example.org", "role": "therapist"},
        content_type="application/json",
    )
    assert response.status_code == 503
    assert response.json()["code"] == "audit_unavailable"
    from accounts.models import Invitation

    assert not Invitation.objects.exists()
