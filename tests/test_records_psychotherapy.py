"""Psychotherapy notes: stored only in the psychotherapy database, readable only by their author."""

from __future__ import annotations

import pytest
from django.db import connections

from audit.models import Action, AuditEvent
from records.models import PsychotherapyNote
from records.services import emergency_access_start

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
SECRET_TEXT = "Client disclosed the childhood event for the first time; keep the wording exact."


@pytest.fixture
def psy_note(login_as, therapist, chart):
    response = login_as(therapist).post(f"/records/charts/{chart.pk}/psychotherapy-notes/", {"body": SECRET_TEXT})
    note = PsychotherapyNote.objects.using("psychotherapy").get()
    assert response["Location"] == f"/records/psychotherapy-notes/{note.pk}/"
    return note


def test_it_is_stored_only_in_the_psychotherapy_database(psy_note):
    assert PsychotherapyNote.objects.db_manager("psychotherapy").filter(pk=psy_note.pk).exists()
    with connections["default"].cursor() as cursor:
        tables = connections["default"].introspection.table_names(cursor)
    assert "records_psychotherapynote" not in tables
    raw = PsychotherapyNote.objects.using("psychotherapy").values_list("body", flat=True).get()
    assert raw.startswith("tt1:psy") and "childhood" not in raw


def test_its_key_family_is_separate(psy_note):
    from teletherapy.keyring import keyring

    raw = PsychotherapyNote.objects.using("psychotherapy").values_list("body", flat=True).get()
    assert keyring().key_id_of(raw) == keyring().current("psychotherapy").key_id
    assert keyring().current("psychotherapy").secret != keyring().current("field").secret


def test_the_author_reads_it(login_as, therapist, psy_note):
    page = login_as(therapist).get(f"/records/psychotherapy-notes/{psy_note.pk}/")
    assert page.status_code == 200 and SECRET_TEXT.encode() in page.content
    assert AuditEvent.objects.filter(action=Action.PSYCHOTHERAPY_NOTE_VIEW, actor_id=therapist.pk).exists()


@pytest.mark.parametrize("who", ["client_user", "admin", "care_team_colleague", "emergency_colleague", "stranger"])
def test_nobody_else_can_reach_it_or_learn_it_exists(request, login_as, chart, psy_note, who, make_user, therapist):
    if who == "care_team_colleague":
        user = make_user("therapist")
        chart.care_team.add(user)
    elif who == "emergency_colleague":
        user = make_user("therapist")
        emergency_access_start(
            actor=user, chart=chart, reason="Client in crisis, care team unreachable tonight.", context=None
        )
    else:
        user = request.getfixturevalue(who)
    client = login_as(user)
    assert client.get(f"/records/psychotherapy-notes/{psy_note.pk}/").status_code in (403, 404)
    if user.has_role("therapist", "admin"):
        chart_page = client.get(f"/records/charts/{chart.pk}/").content.decode()
        assert str(psy_note.pk) not in chart_page and SECRET_TEXT not in chart_page
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=user.pk).exists()
    assert SECRET_TEXT not in client.get("/records/portal/").content.decode()


def test_the_api_never_lists_it_for_others(login_as, therapist, make_user, chart, psy_note):
    colleague = make_user("therapist")
    chart.care_team.add(colleague)
    mine = login_as(therapist).get(f"/api/v1/records/charts/{chart.pk}/psychotherapy-notes/").json()
    theirs = login_as(colleague).get(f"/api/v1/records/charts/{chart.pk}/psychotherapy-notes/").json()
    assert [n["id"] for n in mine] == [str(psy_note.pk)]
    assert theirs == []
    assert login_as(colleague).get(f"/api/v1/records/psychotherapy-notes/{psy_note.pk}/").status_code == 404


def test_the_record_export_leaves_it_out(login_as, client_user, chart, psy_note, django_capture_on_commit_callbacks):
    from records.models import RecordExport

    client = login_as(client_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/records/charts/{chart.pk}/exports/")
    export = RecordExport.objects.get()
    assert export.status == "ready"
    from tests.test_records_export import pdf_text

    for fmt in ("json", "html", "pdf"):
        content = client.get(f"/records/exports/{export.pk}/?format={fmt}").content
        data = pdf_text(content) if fmt == "pdf" else content.decode()
        assert "childhood" not in data and "Psychotherapy notes are kept apart" in " ".join(data.split()), fmt


def test_a_psychotherapy_note_is_written_on_a_page_of_its_own(login_as, therapist, chart):
    """The chart offers a deliberate step, never an open box; the page says who reads the note."""
    team = login_as(therapist)
    page = team.get(f"/records/charts/{chart.pk}/").content.decode()
    address = f"/records/charts/{chart.pk}/psychotherapy-notes/"
    assert f'href="{address}">Write a psychotherapy note</a>' in page and 'name="body"' not in page.split("psy-h")[1]
    before = AuditEvent.objects.count()
    own = team.get(address)
    assert own.status_code == 200 and "Only you can read it" in own.content.decode()
    # It names the client: exactly one read of the chart's summary, as the chart page records.
    read = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1 and read.action == Action.CHART_VIEW
    assert read.details.get("sections") == "summary" and read.subject_client_id == chart.client_id
    empty = team.post(address, {"body": ""})
    assert empty.status_code == 400 and 'class="error"' in empty.content.decode()
