"""Signed-in sessions: see them, end them; deactivation, password and MFA changes end them."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts.models import BackupCode
from audit.models import Action, AuditEvent, chain_of
from tests.conftest import PASSWORD, enrolling_session, password_only_session, totp_code, totp_secret_of

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_a_user_sees_their_sessions_and_signs_out_the_others(login_as, therapist):
    laptop, phone = login_as(therapist), login_as(therapist)
    page = laptop.get("/account/security/").content.decode()
    assert page.count("<tr><td>") == 2 and "(this one)" in page
    assert laptop.post("/account/sessions/revoke-others/").status_code == 302
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 200
    assert AuditEvent.objects.filter(action=Action.SESSION_REVOKED, actor_id=therapist.pk).exists()


def test_deactivation_ends_every_session(login_as, admin, therapist):
    victim = login_as(therapist)
    assert (
        login_as(admin).post(f"/practice/members/{therapist.pk}/deactivate/", {"confirmed": "yes"}).status_code == 302
    )
    assert victim.get("/").status_code == 302
    assert Client().post("/login/", {"email": therapist.email, "password": PASSWORD}).status_code == 200
    assert AuditEvent.objects.filter(action=Action.DEACTIVATION, target_id=str(therapist.pk)).exists()


def test_a_therapist_cannot_deactivate_anyone(login_as, admin, therapist):
    assert login_as(therapist).post(f"/practice/members/{admin.pk}/deactivate/").status_code == 403
    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED)
    assert denied.actor_id == therapist.pk and denied.outcome == "denied"


def test_an_admin_of_another_practice_gets_a_404(login_as, stranger, therapist):
    assert login_as(stranger).post(f"/practice/members/{therapist.pk}/deactivate/").status_code == 404
    therapist.refresh_from_db()
    assert therapist.is_active
    denied = AuditEvent.objects.get(action=Action.ACCESS_DENIED)
    assert denied.actor_id == stranger.pk and denied.target_id == str(therapist.pk)
    assert denied.practice_id == stranger.practice_id  # recorded in the prober's practice, not ours
    assert denied.chain == chain_of(stranger.practice_id)


def test_times_are_shown_in_the_practice_zone(login_as, therapist):
    therapist.practice.time_zone = "America/New_York"
    therapist.practice.save()
    page = login_as(therapist).get("/account/security/").content.decode()
    assert " EST</td>" in page or " EDT</td>" in page


def test_a_password_change_ends_the_other_sessions(login_as, therapist):
    me, elsewhere = login_as(therapist), login_as(therapist)
    new = "Another-long-passphrase-7"
    response = me.post(
        "/account/password/", {"current_password": PASSWORD, "new_password": new, "confirm_password": new}
    )
    assert response.status_code == 302
    assert me.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302


def test_a_password_change_needs_the_current_password(login_as, therapist):
    new = "Another-long-passphrase-7"
    response = login_as(therapist).post(
        "/account/password/", {"current_password": "nope", "new_password": new, "confirm_password": new}
    )
    assert response.status_code == 400
    assert b"not your current password" in response.content


def test_roles_change_and_are_audited(login_as, admin, therapist):
    client = login_as(admin)
    assert (
        client.post(f"/practice/members/{therapist.pk}/role/", {"role": "admin", "change": "grant"}).status_code == 302
    )
    therapist.forget_roles()
    assert therapist.role_names() == ["admin", "therapist"]
    assert AuditEvent.objects.filter(action=Action.ROLE_CHANGE, target_id=str(therapist.pk)).exists()


def test_the_last_admin_cannot_remove_their_own_admin_role(login_as, admin):
    login_as(admin).post(f"/practice/members/{admin.pk}/role/", {"role": "admin", "change": "revoke"})
    admin.forget_roles()
    assert admin.has_role("admin")


def test_changing_mfa_needs_recent_reauthentication(login_as, therapist):
    client = login_as(therapist)
    session = client.session
    session["reauth_at"] -= 601
    session.save()
    response = client.get("/account/mfa/replace/")
    assert response.status_code == 302 and response["Location"].startswith("/account/reauth/")
    assert client.post("/account/reauth/", {"password": PASSWORD}).status_code == 302
    assert client.get("/account/mfa/replace/").status_code == 200
    assert AuditEvent.objects.filter(action=Action.REAUTHENTICATE, actor_id=therapist.pk, outcome="allowed").exists()


def test_replacing_the_authenticator_ends_the_other_sessions(login_as, therapist):
    me, elsewhere = login_as(therapist), login_as(therapist)
    page = me.get("/account/mfa/replace/").content.decode()
    secret = totp_secret_of(page)
    result = me.post("/account/mfa/replace/", {"code": totp_code(secret)})
    assert result.status_code == 200 and b"backup codes" in result.content
    assert elsewhere.get("/").status_code == 302
    assert me.get("/").status_code == 200
    # The old authenticator no longer works.
    response = password_only_session(therapist).post("/mfa/", {"code": totp_code(therapist.totp_secret)})
    assert response.status_code == 200


def test_backup_codes_are_single_use_and_can_be_regenerated(make_user):
    user = make_user("client", mfa=False)
    client = enrolling_session(user)
    secret = totp_secret_of(client.get("/mfa/enroll/").content.decode())
    codes = re.findall(
        r"<code>([a-z0-9-]{11})</code>", client.post("/mfa/enroll/", {"code": totp_code(secret)}).content.decode()
    )
    assert len(codes) == 10
    first = password_only_session(user)
    assert first.post("/mfa/", {"code": codes[0].upper()}).status_code == 302
    assert AuditEvent.objects.filter(action=Action.BACKUP_CODE_USED, actor_id=user.pk).exists()
    assert password_only_session(user).post("/mfa/", {"code": codes[0]}).status_code == 200
    regenerated = first.post("/account/backup-codes/")
    new_codes = re.findall(r"<code>([a-z0-9-]{11})</code>", regenerated.content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert BackupCode.objects.filter(device__user=user).count() == 10
    assert password_only_session(user).post("/mfa/", {"code": codes[1]}).status_code == 200
