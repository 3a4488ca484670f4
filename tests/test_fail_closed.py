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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_audit_write_that_finds_the_database_gone_says_so(postgres, therapist, rf):
    """The audit trail is not at fault when the database itself went away under the request (a
    restart, a failover): the answer is the database's 503, not the audit trail's."""
    import psycopg
    from django.db import connection

    from audit.middleware import FailClosedMiddleware
    from audit.models import Action
    from audit.services import AuditWriteError, audit_record

    therapist.role_names()  # known before the database goes: only the audit write is left to fail
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    settings_dict = connection.settings_dict
    with psycopg.connect(
        host=settings_dict["HOST"], port=settings_dict["PORT"], user="postgres", dbname="postgres", autocommit=True
    ) as superuser:
        superuser.execute("SELECT pg_terminate_backend(%s)", [pid])
    request = rf.get("/api/v1/accounts/me/", HTTP_ACCEPT="application/json")
    try:
        with pytest.raises(AuditWriteError) as refused:
            audit_record(action=Action.LOGIN_SUCCESS, actor=therapist, target=therapist)
        answer = FailClosedMiddleware(lambda request: None).process_exception(request, refused.value)
        assert answer is not None and answer.status_code == 503
        assert answer["Content-Type"] == "application/json"
        assert b'"database_unavailable"' in answer.content
    finally:
        connection.close()
