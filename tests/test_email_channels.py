"""E-mails ask the same door as the pages they point to: who is told of a new message, of a
document to sign, of an emergency access, persona by persona."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.models import GuardianLink, Role
from records.models import ClientChart
from tests.conftest import verified_session

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def write(client, conversation, text, capture):
    with capture(execute=True):
        assert client.post(f"/messages/{conversation}/send/", {"body": text}).status_code == 302


def told(address: str) -> bool:
    return any(address in m.to for m in mail.outbox)


def test_a_new_message_is_mailed_only_to_those_who_can_open_the_conversation(
    login_as, therapist, colleague, client_user, guardian, chart, django_capture_on_commit_callbacks
):
    chart.is_minor = True
    chart.guardian_sees_notes = True
    chart.save()
    parent = login_as(guardian)
    started = parent.post("/messages/new/", {"client": client_user.pk, "therapist": therapist.pk})
    assert started.status_code == 302, started.content[:300]
    conversation = started["Location"].strip("/").split("/")[-1]
    write(parent, conversation, "How is she doing?", django_capture_on_commit_callbacks)
    assert told(therapist.email)
    # The chart stops sharing with guardians: the therapist's reply is not mailed to the guardian.
    ClientChart.objects.filter(pk=chart.pk).update(guardian_sees_notes=False)
    mail.outbox.clear()
    write(login_as(therapist), conversation, "Let us talk at the next session.", django_capture_on_commit_callbacks)
    assert not told(guardian.email)
    # The therapist leaves the care team: the client's message is not mailed to them.
    mine = login_as(client_user).post("/messages/new/", {"therapist": therapist.pk})["Location"].split("/")[-2]
    chart.care_team.remove(therapist)
    chart.care_team.add(colleague)
    mail.outbox.clear()
    write(login_as(client_user), mine, "Are you there?", django_capture_on_commit_callbacks)
    assert not told(therapist.email)


def test_a_document_to_sign_is_mailed_to_a_guardian_only_while_the_client_is_a_minor(
    admin, client_user, guardian, consent_docs, make_user, django_capture_on_commit_callbacks
):
    from consent.tasks import send_consent_request_emails

    adult = make_user(Role.CLIENT, name="Ada Adult")
    from records.services import chart_create

    chart_create(actor=None, client=adult, therapists=[])
    GuardianLink.objects.create(guardian=guardian, client=adult)  # a link left from before she turned 18
    document = consent_docs["treatment"].document
    send_consent_request_emails([client_user.pk, adult.pk], document.pk)
    to_minor = next(m for m in mail.outbox if client_user.email in m.to)
    to_adult = next(m for m in mail.outbox if adult.email in m.to)
    assert guardian.email in to_minor.to and guardian.email not in to_adult.to


def test_emergency_access_is_mailed_to_the_admins_and_never_its_reason(
    login_as, colleague, admin, make_user, chart, django_capture_on_commit_callbacks
):
    director = make_user(Role.THERAPIST, name="Dana Director")
    from accounts.models import RoleGrant

    RoleGrant.objects.create(user=director, role=Role.ADMIN)
    other = make_user(Role.THERAPIST, name="Theo Other")
    reason = "Client called the crisis line; care team unreachable, need the safety plan."
    with django_capture_on_commit_callbacks(execute=True):
        verified_session(login_as(colleague), colleague).post(
            f"/records/charts/{chart.pk}/emergency/", {"reason": reason}
        )
    [notice] = [m for m in mail.outbox if "emergency access" in m.subject]
    assert set(notice.to) == {admin.email, director.email}
    assert other.email not in notice.to and reason not in notice.body
