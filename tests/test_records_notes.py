"""Progress notes: drafts with optimistic concurrency, signing locks, addenda, sharing."""

from __future__ import annotations

import re

import pytest

from audit.models import Action, AuditEvent
from records.models import NoteAddendum, ProgressNote
from teletherapy.errors import ServiceError

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
SOAP = {
    "subjective": "Reports poor sleep.",
    "objective": "Calm, engaged.",
    "assessment": "Improving.",
    "plan": "Continue CBT.",
}


def _new_note(client, chart, sections=SOAP):
    return client.post(f"/records/charts/{chart.pk}/notes/new/?template=soap", {"template": "soap", **sections})


def test_a_therapist_writes_a_draft_note(login_as, therapist, chart):
    response = _new_note(login_as(therapist), chart)
    note = ProgressNote.objects.get()
    assert response["Location"] == f"/records/notes/{note.pk}/"
    assert note.author == therapist and note.signed_at is None and note.version == 1
    assert AuditEvent.objects.filter(action=Action.NOTE_CREATE, subject_client_id=chart.client_id).exists()


def test_a_stale_edit_gets_409_and_loses_nothing(login_as, therapist, chart):
    client = login_as(therapist)
    _new_note(client, chart)
    note = ProgressNote.objects.get()
    first = client.post(f"/records/notes/{note.pk}/", {**SOAP, "plan": "Plan A", "version": 1})
    assert first.status_code == 302
    stale = client.post(f"/records/notes/{note.pk}/", {**SOAP, "plan": "Plan B from an old tab", "version": 1})
    assert stale.status_code == 409
    assert b"Plan B from an old tab" in stale.content  # the stale text is still on screen
    note.refresh_from_db()
    assert '"plan": "Plan A"' in note.body and note.version == 2


CONFIRMED = {"confirmed": "yes"}


def test_signing_locks_the_note(login_as, therapist, chart):
    client = login_as(therapist)
    _new_note(client, chart)
    note = ProgressNote.objects.get()
    assert client.post(f"/records/notes/{note.pk}/sign/", CONFIRMED).status_code == 302
    edit = client.post(f"/records/notes/{note.pk}/", {**SOAP, "plan": "Changed", "version": 2})
    assert edit.status_code == 409 and b"addendum" in edit.content
    note.refresh_from_db()
    assert note.signed_at and '"plan": "Continue CBT."' in note.body
    from records.services import note_update

    with pytest.raises(ServiceError, match="signed"):
        note_update(actor=therapist, note=note, sections=SOAP, expected_version=note.version, context=None)


def test_after_signing_only_signed_addenda(login_as, therapist, chart):
    client = login_as(therapist)
    _new_note(client, chart)
    note = ProgressNote.objects.get()
    early = client.post(f"/records/notes/{note.pk}/addenda/", {"body": "Too early"})
    assert early.status_code == 302 and not NoteAddendum.objects.exists()
    client.post(f"/records/notes/{note.pk}/sign/", CONFIRMED)
    client.post(f"/records/notes/{note.pk}/addenda/", {"body": "Client called to clarify the sleep pattern."})
    addendum = NoteAddendum.objects.get()
    assert addendum.signed_at and addendum.author == therapist
    assert b"clarify the sleep pattern" in client.get(f"/records/notes/{note.pk}/").content


def test_a_shared_signed_note_appears_in_the_client_portal(login_as, therapist, client_user, chart):
    client = login_as(therapist)
    _new_note(client, chart)
    note = ProgressNote.objects.get()
    portal = login_as(client_user)
    assert portal.get(f"/records/notes/{note.pk}/").status_code == 404  # draft: not the client's to see
    assert client.post(f"/records/notes/{note.pk}/share/", CONFIRMED).status_code == 302
    note.refresh_from_db()
    assert note.shared_at is None  # sharing needs a signature first
    client.post(f"/records/notes/{note.pk}/sign/", CONFIRMED)
    client.post(f"/records/notes/{note.pk}/share/", CONFIRMED)
    assert str(note.pk) in portal.get("/records/portal/").content.decode()
    page = portal.get(f"/records/notes/{note.pk}/")
    assert page.status_code == 200 and b"Reports poor sleep." in page.content
    assert b"Sign and lock" not in page.content and b"Sign and add addendum" not in page.content
    assert AuditEvent.objects.filter(action=Action.NOTE_VIEW, actor_id=client_user.pk).exists()


def test_only_the_author_signs(login_as, therapist, make_user, chart):
    other = make_user("therapist")
    chart.care_team.add(other)
    _new_note(login_as(therapist), chart)
    note = ProgressNote.objects.get()
    login_as(other).post(f"/records/notes/{note.pk}/sign/")
    note.refresh_from_db()
    assert note.signed_at is None


@pytest.mark.parametrize("template", ["dap", "birp"])
def test_every_template_has_its_sections(login_as, therapist, chart, template):
    page = login_as(therapist).get(f"/records/charts/{chart.pk}/notes/new/?template={template}").content.decode()
    names = re.findall(r'<textarea name="(\w+)"', page)
    assert (
        names
        == {"dap": ["data", "assessment", "plan"], "birp": ["behavior", "intervention", "response", "plan"]}[template]
    )
