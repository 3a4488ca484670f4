"""Weighty actions ask first and say what will happen; what can be undone can be, and the undo is
audited: deactivate and reactivate an account, sign and lock a note, share a note and stop."""

from __future__ import annotations

import pytest

from accounts.models import Role
from audit.models import Action, AuditEvent
from records.models import ProgressNote
from records.selectors import Access
from records.services import note_create, note_share, note_sign

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

SECTIONS = {"subjective": "s", "objective": "o", "assessment": "a", "plan": "p"}


def test_deactivating_asks_first_then_reactivating_undoes_it(login_as, admin, therapist):
    client = login_as(admin)
    url = f"/practice/members/{therapist.pk}/deactivate/"
    asked = client.post(url)
    page = asked.content.decode()
    assert asked.status_code == 200 and "Deactivate Theo Therapist?" in page
    assert "end every session they are signed in to" in page and "You can reactivate" in page
    assert 'name="confirmed" value="yes"' in page
    therapist.refresh_from_db()
    assert therapist.is_active and not AuditEvent.objects.filter(action=Action.DEACTIVATION).exists()
    assert client.post(url, {"confirmed": "yes"}).status_code == 302
    therapist.refresh_from_db()
    assert not therapist.is_active
    member = client.get(f"/practice/members/{therapist.pk}/").content.decode()
    assert "deactivated" in member and "Reactivate" in member
    assert client.post(f"/practice/members/{therapist.pk}/reactivate/").status_code == 302
    therapist.refresh_from_db()
    assert therapist.is_active
    assert AuditEvent.objects.filter(
        action=Action.REACTIVATION, actor_id=admin.pk, target_id=str(therapist.pk)
    ).exists()
    # Reactivating an active account is a clear no, not a second event.
    client.post(f"/practice/members/{therapist.pk}/reactivate/")
    assert AuditEvent.objects.filter(action=Action.REACTIVATION).count() == 1


def test_roles_are_changed_on_the_members_own_page(login_as, admin, therapist):
    client = login_as(admin)
    listing = client.get("/practice/members/").content.decode()
    table = listing[listing.index("<table>") : listing.index("</table>")]
    assert f'href="/practice/members/{therapist.pk}/"' in table and "<select" not in table
    page = client.get(f"/practice/members/{therapist.pk}/").content.decode()
    assert "Make Theo Therapist a practice admin" in page and "Remove the therapist role" in page
    done = client.post(f"/practice/members/{therapist.pk}/role/", {"role": "admin", "change": "grant"})
    assert done["Location"] == f"/practice/members/{therapist.pk}/"
    therapist.forget_roles()
    assert therapist.has_role(Role.ADMIN)
    # Their own page does not offer an admin changes to their own roles.
    mine = client.get(f"/practice/members/{admin.pk}/").content.decode()
    assert "Nobody changes their own roles" in mine and "Deactivate" not in mine


def test_signing_and_sharing_ask_first_and_sharing_can_be_stopped(login_as, therapist, client_user, chart):
    note = note_create(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, template="soap", sections=SECTIONS, context=None
    )
    client = login_as(therapist)
    asked = client.post(f"/records/notes/{note.pk}/sign/")
    assert asked.status_code == 200 and "Sign and lock this note?" in asked.content.decode()
    note.refresh_from_db()
    assert note.signed_at is None
    client.post(f"/records/notes/{note.pk}/sign/", {"confirmed": "yes"})
    asked = client.post(f"/records/notes/{note.pk}/share/").content.decode()
    assert "let Casey Client read this note in their portal" in asked and "You can stop sharing it later" in asked
    client.post(f"/records/notes/{note.pk}/share/", {"confirmed": "yes"})
    portal = login_as(client_user)
    assert portal.get(f"/records/notes/{note.pk}/").status_code == 200
    # Stopped: the client loses access from now on; their access log keeps what happened.
    assert client.post(f"/records/notes/{note.pk}/unshare/").status_code == 302
    note.refresh_from_db()
    assert note.shared_at is None and note.signed_at is not None
    assert portal.get(f"/records/notes/{note.pk}/").status_code == 404
    log = portal.get("/audit/record-access/").content.decode()
    assert "shared a session note with you" in log and "stopped sharing a session note with you" in log


def test_only_the_care_team_stops_sharing(login_as, therapist, colleague, client_user, chart):
    note = note_create(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, template="soap", sections=SECTIONS, context=None
    )
    note_share(actor=therapist, note=note_sign(actor=therapist, note=note, context=None), context=None)
    for outsider in (colleague, client_user):
        assert login_as(outsider).post(f"/records/notes/{note.pk}/unshare/").status_code in (403, 404)
    assert ProgressNote.objects.get(pk=note.pk).shared_at is not None
