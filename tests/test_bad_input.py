"""Bad input of every kind gets a clear answer, never a 500, and changes nothing stored."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Invitation, User
from audit.models import AuditEvent
from tests.conftest import PASSWORD, enrolling_session, password_only_session

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

NASTY = [
    "",
    " ",
    "x" * 10_000,
    "'; DROP TABLE accounts_user; --",
    "<script>alert(1)</script>",
    "\u202e\u0000\ud7ff",
    "💥" * 50,
    "1e309",
    "-1",
]


@pytest.mark.parametrize("value", NASTY)
def test_login_form(therapist, value):
    for data in ({"email": value, "password": value}, {"email": therapist.email, "password": value}, {}):
        response = Client().post("/login/", data)
        assert response.status_code in (200, 429)
        assert b"<script>alert(1)</script>" not in response.content


@pytest.mark.parametrize("value", NASTY)
def test_mfa_form(therapist, value, settings):
    settings.OTP_THROTTLE_FACTOR = 0
    settings.LOCKOUT_THRESHOLD = 1000
    response = password_only_session(therapist).post("/mfa/", {"code": value})
    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.content


@pytest.mark.parametrize("value", NASTY)
def test_enroll_form(make_user, value):
    user = make_user("client", mfa=False)
    response = enrolling_session(user).post("/mfa/enroll/", {"code": value})
    assert response.status_code == 200
    assert b'class="error"' in response.content


@pytest.mark.parametrize("value", NASTY)
def test_invitation_form(login_as, admin, value):
    client = login_as(admin)
    for data in (
        {"email": value, "role": value},
        {"email": "ok@example.org", "role": value},
        {"email": value, "role": "therapist"},
    ):
        response = client.post("/practice/invitations/", data)
        assert response.status_code == 400
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("value", NASTY)
def test_invitation_accept_form(admin, value):
    from accounts.services import invitation_send

    _, token = invitation_send(actor=admin, context=None, email="new@example.org", role="therapist")
    response = Client().post(f"/invite/{token}/", {"full_name": value, "password": value, "confirm_password": value})
    if response.status_code == 302:
        # Some hostile-looking strings are a fine name and password; they are stored as text.
        assert User.objects.get(email="new@example.org").full_name == " ".join(value.split())
    else:
        assert response.status_code == 200
        assert b'class="error"' in response.content
        assert not User.objects.filter(email="new@example.org").exists()


@pytest.mark.parametrize("value", NASTY)
def test_password_and_reauth_forms(login_as, therapist, value, settings):
    settings.LOCKOUT_THRESHOLD = 1000
    client = login_as(therapist)
    response = client.post(
        "/account/password/", {"current_password": value, "new_password": value, "confirm_password": value}
    )
    assert response.status_code == 400
    assert client.post("/account/reauth/", {"password": value, "code": value}).status_code == 200
    therapist.refresh_from_db()
    assert therapist.check_password(PASSWORD)


@pytest.mark.parametrize("value", NASTY)
def test_member_forms(login_as, admin, therapist, value):
    client = login_as(admin)
    assert client.post(f"/practice/members/{therapist.pk}/role/", {"role": value, "change": value}).status_code == 302
    therapist.forget_roles()
    assert therapist.role_names() == ["therapist"]


@pytest.mark.parametrize(
    "body,content_type",
    [
        ("{not json", "application/json"),
        ("[]", "application/json"),
        ('{"email": 5, "role": null}', "application/json"),
        ('{"email": "a@example.org", "role": "client", "guardian_for": "zzz"}', "application/json"),
        ("email=a@example.org", "application/x-www-form-urlencoded"),
        ("\x00\xff", "application/json"),
        ('{"email": "' + "a" * 5000 + '@example.org", "role": "client"}', "application/json"),
    ],
)
def test_api_bodies(login_as, therapist, body, content_type):
    response = login_as(therapist).post("/api/v1/accounts/invitations/", body, content_type=content_type)
    assert 400 <= response.status_code < 500
    payload = response.json()
    assert payload["code"] and payload["detail"]
    assert not Invitation.objects.exists()


def test_an_oversized_body_is_refused(login_as, therapist):
    big = '{"email": "a@example.org", "role": "client", "pad": "' + "x" * (2 * 1024 * 1024) + '"}'
    response = login_as(therapist).post("/api/v1/accounts/invitations/", big, content_type="application/json")
    assert response.status_code in (400, 413)
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    "path", ["/practice/invitations/not-a-uuid/revoke/", "/practice/members/abc/role/", "/invite/" + "x" * 300 + "/"]
)
def test_malformed_ids_are_404s(login_as, admin, path):
    assert login_as(admin).post(path).status_code == 404


def test_a_garbled_session_cookie_is_just_signed_out(therapist):
    client = Client()
    client.cookies["sessionid"] = "garbage'\"<>"
    assert client.get("/").status_code == 302


def test_a_form_without_csrf_token_gets_a_clear_page(therapist):
    response = Client(enforce_csrf_checks=True).post("/login/", {"email": therapist.email, "password": PASSWORD})
    assert response.status_code == 403
    assert b"expired or came from another site" in response.content
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("value", NASTY)
def test_consent_forms(login_as, admin, therapist, client_user, chart, value):
    from consent.models import ConsentSignature, ConsentVersion, ConsentWithdrawal, ParticipantAgreement
    from consent.services import consent_defaults_seed, consent_draft_create
    from tests.conftest import sign

    consent_defaults_seed(practice=admin.practice)
    version = ConsentVersion.objects.get(document__kind="telehealth")
    client = login_as(client_user)
    response = client.post(
        f"/consent/versions/{version.pk}/sign/?for={value[:50]}", {"typed_name": value, "confirm_read": value}
    )
    assert response.status_code in (400, 404)
    assert not ConsentSignature.objects.exists()
    signature = sign(client_user, "telehealth")
    response = client.post(f"/consent/signatures/{signature.pk}/withdraw/", {"reason": value * 200})
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert not ConsentWithdrawal.objects.exists()
    draft = consent_draft_create(actor=admin, document=version.document, context=None)
    before = draft.body
    response = login_as(admin).post(f"/consent/manage/versions/{draft.pk}/", {"save": "1", "body": value})
    draft.refresh_from_db()
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert draft.body == before
    response = login_as(therapist).post(f"/consent/caseload/{client_user.pk}/agreements/", {"text": value * 1000})
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert not ParticipantAgreement.objects.exists()
    assert login_as(therapist).post(f"/consent/caseload/{client_user.pk}/request/", {"kind": value}).status_code == 302
