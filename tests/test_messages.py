"""Secure messages between a client and their care team, through the pages people use: only the
care team can be addressed; a couple's joint conversation holds both partners while each one's
individual conversation stays their own; bodies are sealed; reading is audited; read state is
shown; e-mail says only that there is a message; edits are short-lived and kept, retractions
show as such and stay in the record; attachments pass the documents' checks."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from accounts.models import GuardianLink, Role
from audit.models import Action, AuditEvent
from messaging.models import Conversation, Message, MessageRevision
from records.models import ChartDocument
from records.services import chart_create
from tests.conftest import EICAR

pytestmark = [pytest.mark.django_db]

PDF = b"%PDF-1.4\n% Homework: a thought record\n%%EOF\n"


def words(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def said(response) -> str:
    return " ".join(re.findall(r'<li class="[^"]*">([^<]+)</li>', response.content.decode()))


def start(browser_of, **fields) -> Conversation:
    response = browser_of.post("/messages/new/", fields)
    assert response.status_code == 302, response.status_code
    return Conversation.objects.get(pk=response["Location"].strip("/").split("/")[-1])


def send(client, conversation, body="", **extra):
    return client.post(f"/messages/{conversation.pk}/send/", {"body": body, **extra}, follow=True)


@pytest.fixture
def couple(make_user, therapist):
    one = make_user(Role.CLIENT, name="Alex Partner")
    two = make_user(Role.CLIENT, name="Blair Partner")
    for person in (one, two):
        chart_create(actor=None, client=person, therapists=[therapist])
    return one, two


def test_a_client_writes_to_their_therapist_who_reads_it(
    login_as, therapist, client_user, chart, django_capture_on_commit_callbacks
):
    client = login_as(client_user)
    page = client.get("/messages/").content.decode()
    assert "Messages are not for emergencies" in page and 'href="tel:988"' in page
    conversation = start(client, therapist=therapist.pk)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        send(client, conversation, "I had a hard week and would like to talk about it on Tuesday.")
    message = Message.objects.get()
    # Sealed at rest, bound to the message.
    with connection.cursor() as cursor:
        key = message.pk.hex if connection.vendor == "sqlite" else message.pk
        cursor.execute("SELECT body FROM messaging_message WHERE id = %s", [key])
        raw = cursor.fetchone()[0]
    assert raw.startswith("tt1:") and "hard week" not in raw
    # The e-mail says there is a message, and nothing of it.
    (notice,) = mail.outbox
    assert notice.to == [therapist.email] and notice.subject == "You have a new message"
    assert "hard week" not in notice.body and f"/messages/{conversation.pk}/" in notice.body
    # The therapist sees it as new, opens it (audited, naming the client), and the client sees it read.
    team = login_as(therapist)
    assert "1 new" in words(team.get("/messages/"))
    page = team.get(f"/messages/{conversation.pk}/")
    assert "I had a hard week" in words(page)
    event = AuditEvent.objects.filter(action=Action.CONVERSATION_VIEW, actor_id=therapist.pk).get()
    assert event.subject_client_id == client_user.pk
    # Marked as where what is new begins, once: opened again, nothing is new; the writer's own
    # message never is.
    assert page.content.decode().count('class="unread-marker"') == 1
    assert 'class="unread-marker"' not in team.get(f"/messages/{conversation.pk}/").content.decode()
    assert 'class="unread-marker"' not in client.get(f"/messages/{conversation.pk}/").content.decode()
    assert "Seen by Theo Therapist" in words(client.get(f"/messages/{conversation.pk}/"))
    assert "new" not in words(team.get("/messages/")).split("Conversations")[1].split("Start")[0]


def test_only_the_care_team_can_be_addressed(login_as, therapist, colleague, client_user, chart):
    client = login_as(client_user)
    response = client.post("/messages/new/", {"therapist": colleague.pk}, follow=True)
    assert "Only a therapist on the care team can be written to" in said(response)
    assert not Conversation.objects.exists()
    # A therapist cannot open a conversation with someone else's client either.
    assert login_as(colleague).post("/messages/new/", {"client": client_user.pk}).status_code == 404
    assert not Conversation.objects.exists()


def test_a_couples_joint_conversation_and_each_partners_own(login_as, therapist, couple):
    one, two = couple
    team = login_as(therapist)
    joint = start(team, client=[one.pk, two.pk])
    assert joint.kind == "joint"
    send(team, joint, "Welcome to you both.")
    alone = start(login_as(one), therapist=therapist.pk)
    send(login_as(one), alone, "Something I want to say without Blair reading it.")
    assert alone.kind == "individual" and alone.pk != joint.pk
    second = login_as(two)
    assert "Welcome to you both." in words(second.get(f"/messages/{joint.pk}/"))
    assert second.get(f"/messages/{alone.pk}/").status_code == 404
    assert "without Blair" not in words(second.get("/messages/"))
    assert str(alone.pk) not in second.get("/messages/").content.decode()
    # The same people again open the same conversation, not a second one.
    assert start(team, client=[two.pk, one.pk]).pk == joint.pk
    # Only the therapist starts a joint conversation.
    response = login_as(one).post("/messages/new/", {"client": [one.pk, two.pk], "therapist": therapist.pk})
    assert response.status_code in (302, 404) and Conversation.objects.filter(kind="joint").count() == 1


def test_edits_are_short_lived_and_kept_and_retractions_stay_in_the_record(
    login_as, therapist, client_user, chart, django_capture_on_commit_callbacks
):
    client = login_as(client_user)
    conversation = start(client, therapist=therapist.pk)
    send(client, conversation, "See you Tuesdy.")
    message = Message.objects.get()
    client.post(f"/messages/m/{message.pk}/edit/", {"body": "See you Tuesday."})
    message.refresh_from_db()
    assert message.body == "See you Tuesday." and message.edited_at is not None
    assert [r.body for r in MessageRevision.objects.filter(message=message)] == ["See you Tuesdy."]
    Message.objects.filter(pk=message.pk).update(sent_at=timezone.now() - timedelta(minutes=6))
    late = client.post(f"/messages/m/{message.pk}/edit/", {"body": "Changed later."}, follow=True)
    assert "only in the first 5 minutes" in said(late)
    # Someone else's message cannot be edited or retracted.
    team = login_as(therapist)
    assert team.post(f"/messages/m/{message.pk}/retract/").status_code == 404
    client.post(f"/messages/m/{message.pk}/retract/")
    message.refresh_from_db()
    assert message.retracted_at is not None and message.body == "See you Tuesday."  # kept
    page = words(team.get(f"/messages/{conversation.pk}/"))
    assert "Retracted" in page and "See you Tuesday" not in page
    # The client's copy of the record carries the conversation, the retracted message marked.
    from tests.test_records_export import _request

    export = _request(client, chart, django_capture_on_commit_callbacks)
    data = client.get(f"/records/exports/{export.pk}/?format=json").json()
    assert data["messages"] == [
        {
            "conversation": str(conversation.pk),
            "kind": "individual",
            "from": client_user.full_name,
            "sent_at": message.sent_at.isoformat(),
            "text": "See you Tuesday.",
            "retracted": True,
            "attachment": None,
        }
    ]


def test_who_else_is_kept_out(login_as, make_user, therapist, colleague, admin, stranger, client_user, chart):
    client = login_as(client_user)
    conversation = start(client, therapist=therapist.pk)
    send(client, conversation, "Private.")
    message = Message.objects.get()
    for outsider in (colleague, admin, stranger, make_user(Role.CLIENT)):
        other = login_as(outsider)
        assert other.get(f"/messages/{conversation.pk}/").status_code in (403, 404)
        assert other.post(f"/messages/{conversation.pk}/send/", {"body": "Hello"}).status_code in (403, 404)
        assert "Private." not in words(other.get("/messages/"))
    assert Message.objects.count() == 1
    # A therapist taken off the care team loses the conversation at once.
    chart.care_team.remove(therapist)
    assert login_as(therapist).get(f"/messages/{conversation.pk}/").status_code == 404
    assert login_as(therapist).get(f"/messages/m/{message.pk}/attachment/").status_code == 404


def test_a_guardian_writes_about_a_minor_only_where_the_chart_allows(login_as, make_user, therapist, guardian):
    minor = GuardianLink.objects.get(guardian=guardian).client
    chart = chart_create(actor=None, client=minor, therapists=[therapist], is_minor=True)
    parent = login_as(guardian)
    assert parent.post("/messages/new/", {"client": minor.pk, "therapist": therapist.pk}).status_code == 404
    type(chart).objects.filter(pk=chart.pk).update(guardian_sees_notes=True)
    conversation = start(parent, client=minor.pk, therapist=therapist.pk)
    send(parent, conversation, "Casey's school asked about a letter.")
    assert "school asked" in words(login_as(minor).get(f"/messages/{conversation.pk}/"))
    assert "school asked" in words(login_as(therapist).get(f"/messages/{conversation.pk}/"))
    other_guardian = make_user(Role.GUARDIAN)
    assert login_as(other_guardian).get(f"/messages/{conversation.pk}/").status_code == 404
    type(chart).objects.filter(pk=chart.pk).update(guardian_sees_notes=False)
    assert parent.get(f"/messages/{conversation.pk}/").status_code == 404


def test_attachments_pass_the_document_checks_and_reach_both_partners(login_as, therapist, couple, scanning):
    one, two = couple
    joint = start(login_as(therapist), client=[one.pk, two.pk])
    first = login_as(one)
    refused = send(first, joint, "Here it is", attachment=SimpleUploadedFile("worksheet.pdf", b"%PDF-1.4\n" + EICAR))
    assert "The virus scanner found Eicar-Test-Signature" in said(refused)
    assert not Message.objects.exists() and not ChartDocument.objects.exists()
    send(first, joint, "Here it is", attachment=SimpleUploadedFile("worksheet.pdf", PDF))
    message = Message.objects.get()
    response = login_as(two).get(f"/messages/m/{message.pk}/attachment/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("attachment;") and response["X-Content-Type-Options"] == "nosniff"


def test_bad_messages_get_a_clear_answer_and_nothing_is_stored(login_as, therapist, client_user, chart):
    client = login_as(client_user)
    conversation = start(client, therapist=therapist.pk)
    for body, answer in [
        ("", "Write a message first"),
        ("   \n ", "Write a message first"),
        ("x" * 10_001, "under 10,000 characters"),
        ("bad \x00 byte", "cannot be stored"),
    ]:
        response = send(client, conversation, body)
        assert response.status_code == 200 and answer in said(response), body[:20]
    assert client.get("/messages/not-a-conversation/").status_code == 404
    assert not Message.objects.exists()


def test_an_admin_who_is_also_a_therapist_reads_no_messages(login_as, make_user, therapist, client_user, chart):
    """Messages are clinical content: as with the chart, the admin role keeps them out."""
    from accounts.models import RoleGrant

    director = make_user(Role.ADMIN, name="Dana Director")
    RoleGrant.objects.create(user=director, role=Role.THERAPIST)
    chart.care_team.add(director)
    client = login_as(client_user)
    assert "Dana Director" not in client.get("/messages/").content.decode()  # not offered
    response = client.post("/messages/new/", {"therapist": director.pk}, follow=True)
    assert "Only a therapist on the care team" in said(response)
    conversation = start(client, therapist=therapist.pk)
    assert login_as(director).post("/messages/new/", {"client": client_user.pk}).status_code == 404
    assert login_as(director).get(f"/messages/{conversation.pk}/").status_code == 404


def test_a_therapist_files_a_message_into_a_note(login_as, therapist, client_user, chart, couple):
    from records.models import NoteAddendum, ProgressNote
    from records.selectors import Access
    from records.services import note_create, note_sign

    client = login_as(client_user)
    conversation = start(client, therapist=therapist.pk)
    send(client, conversation, "Slept badly all week; the new routine is not working.")
    message = Message.objects.get()
    team = login_as(therapist)
    page = team.get(f"/messages/{conversation.pk}/").content.decode()
    assert f'value="{client_user.pk}:new"' in page
    # Into a new draft note: the passage names who wrote it and when.
    filed = team.post(f"/messages/m/{message.pk}/file/", {"into": f"{client_user.pk}:new"})
    note = ProgressNote.objects.get(chart=chart)
    assert filed["Location"] == f"/records/notes/{note.pk}/"
    subjective = json.loads(note.body)["subjective"]
    assert subjective.startswith("Secure message from Casey Client, ") and "new routine is not working" in subjective
    assert AuditEvent.objects.filter(action=Action.MESSAGE_FILE, subject_client_id=client_user.pk).count() == 1
    assert AuditEvent.objects.filter(action=Action.NOTE_CREATE, actor_id=therapist.pk).count() == 1
    # Into that draft again: appended; into a signed note: an addendum, the note itself unchanged.
    send(client, conversation, "Also: Tuesday works.")
    second = Message.objects.latest("sent_at")
    team.post(f"/messages/m/{second.pk}/file/", {"into": f"{client_user.pk}:{note.pk}"})
    note.refresh_from_db()
    assert (
        "new routine" in json.loads(note.body)["subjective"] and "Tuesday works" in json.loads(note.body)["subjective"]
    )
    signed = note_create(actor=therapist, chart=chart, access=Access.CARE_TEAM, template="dap",
                         sections={"data": "Seen."}, context=None)  # fmt: skip
    note_sign(actor=therapist, note=signed, context=None)
    team.post(f"/messages/m/{second.pk}/file/", {"into": f"{client_user.pk}:{signed.pk}"})
    signed.refresh_from_db()
    assert json.loads(signed.body) == {"data": "Seen.", "assessment": "", "plan": ""}
    assert "Tuesday works" in NoteAddendum.objects.get(note=signed).body
    # Refused: a retracted message, someone else's note, a client filing, a bad target.
    client.post(f"/messages/m/{second.pk}/retract/")
    refused = team.post(f"/messages/m/{second.pk}/file/", {"into": f"{client_user.pk}:new"}, follow=True)
    assert "A retracted message is not filed" in said(refused)
    other = ProgressNote.objects.count()
    for into in (f"{client_user.pk}:00000000-0000-4000-8000-000000000000", "999999:new", "nonsense", ""):
        response = team.post(f"/messages/m/{message.pk}/file/", {"into": into}, follow=True)
        assert response.status_code == 200 and "Not filed" in said(response), into
    assert ProgressNote.objects.count() == other
    assert client.post(f"/messages/m/{message.pk}/file/", {"into": f"{client_user.pk}:new"}).status_code == 403
    # A joint conversation's message goes into the chart of the partner the therapist chooses.
    one, two = couple
    joint = start(team, client=[one.pk, two.pk])
    send(login_as(one), joint, "We argued again.")
    shared = Message.objects.filter(conversation=joint).get()
    team.post(f"/messages/m/{shared.pk}/file/", {"into": f"{two.pk}:new"})
    assert ProgressNote.objects.filter(chart__client=two).count() == 1
    assert not ProgressNote.objects.filter(chart__client=one).exists()
