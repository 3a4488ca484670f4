"""Recovering an account without a back door: two admins who are not the person, a delay the
person is told about and can cancel, then every old factor gone and a set-up link sent."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.test import Client

from accounts.models import BackupCodeDevice, RecoveryRequest, Role, TOTPDevice, UserSession
from accounts.services.recovery import recoveries_complete
from audit.models import Action, AuditEvent
from tests.conftest import password_only_session

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def ask(user) -> RecoveryRequest:
    browser = password_only_session(user)
    assert "Ask the practice to recover my account" in browser.get("/mfa/recovery/").content.decode()
    browser.post("/mfa/recovery/")
    assert "An admin will contact you" in browser.get("/mfa/recovery/").content.decode()
    return RecoveryRequest.objects.get(user=user, cancelled_at__isnull=True)


def act(client: Client, recovery: RecoveryRequest, action: str, **extra):
    return client.post("/practice/recoveries/", {"recovery": str(recovery.pk), "action": action, **extra}, follow=True)


def test_two_admins_then_a_day_then_the_old_factors_are_gone(
    login_as, make_user, client_user, admin, django_capture_on_commit_callbacks
):
    second_admin = make_user(Role.ADMIN, name="Sol Second")
    with time_machine.travel(START, tick=False):
        lost = password_only_session(client_user)
        recovery = ask(client_user)
        assert any("asks to recover their account" in m.subject for m in mail.outbox)
        first, second = login_as(admin), login_as(second_admin)
        assert "How you checked it is them" in first.get("/practice/recoveries/").content.decode()
        assert "Say how you checked" in act(first, recovery, "approve").content.decode()
        assert "Only an approved recovery" in act(second, recovery, "confirm").content.decode()
        act(first, recovery, "approve", identity_check="Called the number on file; she answered the questions.")
        # Sealed in the request; the audit trail (and so the witness, exports, backups) says only
        # that a check was recorded.
        approved = AuditEvent.objects.get(action=Action.RECOVERY_APPROVE)
        assert approved.details == {"identity_check": "recorded"}
        assert "Called the number" in first.get("/practice/recoveries/").content.decode()
        assert "not the one who approved" in act(first, recovery, "confirm").content.decode()
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            act(second, recovery, "confirm")
        [told] = mail.outbox
        assert told.to == [client_user.email] and "cancel it now" in told.body
        recovery.refresh_from_db()
        assert recovery.state == "waiting" and recovery.effective_at == START + dt.timedelta(hours=24)
    with time_machine.travel(START + dt.timedelta(hours=23, minutes=59), tick=False):
        assert recoveries_complete() == 0
        assert TOTPDevice.objects.filter(user=client_user, confirmed=True).exists()
    mail.outbox.clear()
    with time_machine.travel(START + dt.timedelta(hours=24, minutes=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert recoveries_complete() == 1
        assert not TOTPDevice.objects.filter(user=client_user).exists()
        assert not BackupCodeDevice.objects.filter(user=client_user).exists()
        assert not UserSession.objects.filter(user=client_user).exists()
        assert lost.get("/mfa/").status_code == 302  # the waiting session was ended too
        [link_mail] = mail.outbox
        link = urlsplit(re.search(r"(http://\S+/mfa/enroll/link/\S+/)", link_mail.body).group(1)).path
        fresh = password_only_session(client_user)
        fresh.get(link)
        assert b"totp-secret" in fresh.get("/mfa/enroll/").content  # the e-mailed link lets them enroll again
        assert recoveries_complete() == 0  # once
    actions = list(AuditEvent.objects.filter(subject_client_id=client_user.pk).values_list("action", flat=True))
    for step in (Action.RECOVERY_REQUEST, Action.RECOVERY_APPROVE, Action.RECOVERY_CONFIRM, Action.RECOVERY_COMPLETE):
        assert step in actions
    # The client sees it as account changes in "who opened my record".
    from oversight.access_log import record_access_for

    entries, _more = record_access_for(client=client_user)
    said = " ".join(e.what for e in entries)
    assert "approved resetting your account's second factors" in said and "confirmed resetting" in said


def test_the_person_can_cancel_while_it_waits(
    login_as, make_user, client_user, admin, django_capture_on_commit_callbacks
):
    second_admin = make_user(Role.ADMIN)
    with time_machine.travel(START, tick=False):
        recovery = ask(client_user)
        act(login_as(admin), recovery, "approve", identity_check="In person")
        with django_capture_on_commit_callbacks(execute=True):
            act(login_as(second_admin), recovery, "confirm")
        cancel = urlsplit(re.search(r"(http://\S+/mfa/recovery/cancel/\S+/)", mail.outbox[-1].body).group(1)).path
        anyone = Client()
        assert "Cancel the recovery" in anyone.get(cancel).content.decode()
        assert "Cancelled" in anyone.post(cancel).content.decode()
        assert anyone.post(cancel).status_code == 410
    with time_machine.travel(START + dt.timedelta(days=2), tick=False):
        assert recoveries_complete() == 0
    assert TOTPDevice.objects.filter(user=client_user, confirmed=True).exists()
    assert RecoveryRequest.objects.get(pk=recovery.pk).state == "cancelled"


def test_nobody_recovers_their_own_account(login_as, make_user, admin, stranger):
    other_admin = make_user(Role.ADMIN, name="Olive Other")
    third_admin = make_user(Role.ADMIN, name="Theo Third")
    recovery = ask(admin)
    mine = login_as(admin)
    assert (
        "Approve" not in mine.get("/practice/recoveries/").content.decode().split(admin.email)[1].split("</section>")[0]
    )
    assert (
        "Nobody recovers their own account"
        in act(mine, recovery, "approve", identity_check="It is me").content.decode()
    )
    assert RecoveryRequest.objects.get(pk=recovery.pk).state == "requested"
    # Another practice's admin does not even see it.
    assert (
        login_as(stranger)
        .post("/practice/recoveries/", {"recovery": str(recovery.pk), "action": "approve", "identity_check": "x"})
        .status_code
        == 404
    )
    assert login_as(make_user(Role.THERAPIST)).get("/practice/recoveries/").status_code == 403
    act(login_as(other_admin), recovery, "approve", identity_check="Video call, knows the office")
    act(login_as(third_admin), recovery, "confirm")
    assert RecoveryRequest.objects.get(pk=recovery.pk).state == "waiting"
