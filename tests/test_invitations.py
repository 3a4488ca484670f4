"""Onboarding by invitation only: single use, expiring, revocable, role-limited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import GuardianLink, Invitation, User
from accounts.services import invitation_send
from audit.models import Action, AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
NEW_PASSWORD = "A-fresh-passphrase-42"


def _send(client: Client, **data: str):
    return client.post("/practice/invitations/", data)


def _link_from_mail() -> str:
    return re.search(r"http://[^/]+(/invite/[^/\s]+/)", mail.outbox[-1].body).group(1)


def test_an_admin_invites_a_therapist_who_joins(login_as, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(login_as(admin), email="New.Therapist@Example.org", role="therapist", full_name="Nia New")
    assert response.status_code == 302
    assert mail.outbox[-1].to == ["new.therapist@example.org"]
    link = _link_from_mail()
    page = Client().get(link)
    assert page.status_code == 200 and b"therapist" in page.content
    joined = Client().post(link, {"full_name": "Nia New", "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert joined.status_code == 302
    user = User.objects.get(email="new.therapist@example.org")
    assert user.role_names() == ["therapist"] and user.practice_id == admin.practice_id
    assert AuditEvent.objects.filter(action=Action.INVITATION_SENT, actor_id=admin.pk).exists()
    assert AuditEvent.objects.filter(action=Action.INVITATION_ACCEPTED, actor_id=user.pk).exists()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_invitation_mail_goes_through_the_real_broker_and_worker(login_as, admin, celery_worker):
    import time

    response = _send(login_as(admin), email="queued@example.org", role="therapist")
    assert response.status_code == 302
    deadline = time.monotonic() + 20
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.1)
    assert mail.outbox and mail.outbox[-1].to == ["queued@example.org"]
    token = _link_from_mail().split("/")[2]
    assert Invitation.objects.get(email="queued@example.org").token_hash != token
    assert token.encode() not in b"".join(str(v).encode() for v in Invitation.objects.values_list()[0])


def test_the_link_works_only_once(login_as, admin):
    _invitation, token = invitation_send(actor=admin, context=None, email="once@example.org", role="therapist")
    data = {"full_name": "Olive Once", "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert Client().post(f"/invite/{token}/", data).status_code == 302
    again = Client().post(f"/invite/{token}/", data)
    assert again.status_code == 410
    assert User.objects.filter(email="once@example.org").count() == 1


def test_an_expired_invitation_cannot_be_used(admin):
    invitation, token = invitation_send(actor=admin, context=None, email="late@example.org", role="therapist")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().post(
        f"/invite/{token}/", {"full_name": "L", "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert response.status_code == 410
    assert not User.objects.filter(email="late@example.org").exists()


def test_invitations_expire_after_72_hours_by_default(admin):
    invitation, _ = invitation_send(actor=admin, context=None, email="ttl@example.org", role="therapist")
    assert invitation.expires_at - invitation.created_at == timedelta(hours=72)


def test_a_revoked_invitation_cannot_be_used(login_as, admin):
    invitation, token = invitation_send(actor=admin, context=None, email="gone@example.org", role="admin")
    assert login_as(admin).post(f"/practice/invitations/{invitation.pk}/revoke/").status_code == 302
    assert Client().get(f"/invite/{token}/").status_code == 410
    assert AuditEvent.objects.filter(action=Action.INVITATION_REVOKED).exists()


def test_a_made_up_token_is_a_404():
    assert Client().get("/invite/not-a-real-token/").status_code == 404


def test_a_therapist_cannot_invite_an_admin(login_as, therapist):
    response = _send(login_as(therapist), email="boss@example.org", role="admin")
    assert response.status_code == 400
    assert not Invitation.objects.exists()


def test_an_admin_cannot_invite_a_client_directly(login_as, admin):
    assert _send(login_as(admin), email="c@example.org", role="client").status_code == 400


def test_a_client_cannot_reach_invitations(login_as, client_user):
    assert login_as(client_user).get("/practice/invitations/").status_code == 403


def test_a_guardian_invitation_links_the_minor(login_as, therapist, client_user, django_capture_on_commit_callbacks):
    from records.services import chart_create

    chart_create(actor=None, client=client_user, therapists=[therapist], is_minor=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(
            login_as(therapist), email="mum@example.org", role="guardian", guardian_for=str(client_user.pk)
        )
    assert response.status_code == 302
    data = {"full_name": "Mo Mum", "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert Client().post(_link_from_mail(), data).status_code == 302
    guardian = User.objects.get(email="mum@example.org")
    assert GuardianLink.objects.filter(guardian=guardian, client=client_user).exists()


def test_a_guardian_invitation_needs_a_client_of_this_practice(login_as, therapist, stranger):
    response = _send(login_as(therapist), email="g@example.org", role="guardian", guardian_for=str(stranger.pk))
    assert response.status_code == 400


def test_a_weak_password_is_refused_with_the_reason(admin):
    _, token = invitation_send(actor=admin, context=None, email="weak@example.org", role="therapist")
    response = Client().post(f"/invite/{token}/", {"full_name": "W", "password": "short", "confirm_password": "short"})
    assert response.status_code == 200
    assert b"at least 12 characters" in response.content
    assert not User.objects.filter(email="weak@example.org").exists()


def test_another_practice_cannot_revoke_our_invitation(login_as, admin, stranger):
    invitation, _ = invitation_send(actor=admin, context=None, email="ours@example.org", role="therapist")
    assert login_as(stranger).post(f"/practice/invitations/{invitation.pk}/revoke/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


def test_a_second_pending_invitation_for_the_same_address_is_refused(admin):
    from teletherapy.errors import ServiceError

    invitation_send(actor=admin, context=None, email="dup@example.org", role="therapist")
    with pytest.raises(ServiceError):
        invitation_send(actor=admin, context=None, email="dup@example.org", role="therapist")
