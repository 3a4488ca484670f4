"""Separation of duties: one admin alone cannot make a therapist account (an invitation to a
mailbox they control) and break the glass with it. A second admin confirms the account first; a
practice with a single admin can not, and its fact sheet says so."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from accounts.models import Role, TOTPDevice, User
from accounts.services import invitation_send
from audit.models import Action, AuditEvent
from compliance.services.factsheet import practice_facts
from records.models import EmergencyAccess
from tests.conftest import verified_session

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
PASSWORD = "A-fresh-passphrase-42"
REASON = "Client called the crisis line; care team unreachable, need the safety plan."


def joined_by_invitation(admin) -> User:
    """An admin invites a therapist; whoever holds the link becomes one (here: the admin's own mailbox)."""
    _invitation, token = invitation_send(actor=admin, context=None, email="sock@example.org", role="therapist")
    data = {"full_name": "Sock Puppet", "password": PASSWORD, "confirm_password": PASSWORD}
    assert Client().post(f"/invite/{token}/", data).status_code == 302
    user = User.objects.get(email="sock@example.org")
    TOTPDevice.objects.create(user=user, name="app", confirmed=True, secret=base64.b32encode(b"x" * 20).decode())
    return user


def break_glass(user, chart):
    browser = verified_session(Client(), user)
    return browser, browser.post(f"/records/charts/{chart.pk}/emergency/", {"reason": REASON})


def test_a_second_admin_must_confirm_an_invited_therapist_before_emergency_access(admin, make_user, chart, login_as):
    second = make_user(Role.ADMIN, name="Sam Second")
    made = joined_by_invitation(admin)
    browser, refused = break_glass(made, chart)
    assert refused.status_code == 400 and "A second admin" in refused.content.decode()
    assert not EmergencyAccess.objects.exists()
    assert browser.get(f"/records/charts/{chart.pk}/").status_code == 404
    # The admin who invited them cannot confirm them; the page says who can.
    page = login_as(admin).get(f"/practice/members/{made.pk}/").content.decode()
    assert "waits for a second admin" in page and "Confirm Sock Puppet" not in page
    assert login_as(admin).post(f"/practice/members/{made.pk}/confirm/").status_code == 302
    made.refresh_from_db()
    assert made.staff_confirmed_by is None
    # The second admin confirms (audited); then the glass can be broken, loudly as ever.
    assert "Confirm Sock Puppet" in login_as(second).get(f"/practice/members/{made.pk}/").content.decode()
    login_as(second).post(f"/practice/members/{made.pk}/confirm/")
    made.refresh_from_db()
    assert made.staff_confirmed_by == second
    assert AuditEvent.objects.filter(action=Action.STAFF_CONFIRM, actor_id=second.pk, target_id=str(made.pk)).exists()
    _browser, allowed = break_glass(made, chart)
    assert allowed.status_code == 302 and EmergencyAccess.objects.filter(therapist=made).exists()


def test_a_practice_with_one_admin_says_so_on_its_fact_sheet(admin, make_user, chart, practice):
    made = joined_by_invitation(admin)
    _browser, allowed = break_glass(made, chart)
    assert allowed.status_code == 302  # nobody else could confirm
    fact = next(f.value for f in practice_facts(practice) if f.key == "audit.emergency")
    assert "single admin" in fact
    make_user(Role.ADMIN, name="Sam Second")
    fact = next(f.value for f in practice_facts(practice) if f.key == "audit.emergency")
    assert "only once a second admin confirms it" in fact


def test_therapists_set_up_by_the_command_need_no_confirmation(colleague, make_user, chart):
    make_user(Role.ADMIN, name="Sam Second")
    _browser, allowed = break_glass(colleague, chart)
    assert allowed.status_code == 302
