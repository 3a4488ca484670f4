"""The client's copy of the record asks the same door as the pages, section by section, in every
form (JSON, page, PDF), and every download asks it again; the clinical gate (training overdue,
where the practice blocks) is asked by the messages and intake doors as by the records doors.

A minor (Casey) has written to her therapist, filed an intake history form herself and has an
agreement recorded with her therapist; her chart decides whether her guardian reads clinical
content."""

from __future__ import annotations

import json

import pytest

from accounts.models import GuardianLink, Role
from consent.models import ParticipantAgreement
from intake import services as intake_services
from intake.models import IntakeForm, PacketItem
from records.models import ClientChart, RecordExport
from records.selectors import Access
from tests.test_records_export import pdf_text

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

SECRET_MESSAGE = "I have not told my parents about this."
SECRET_HISTORY = "Trouble at home since the spring."
SECRET_AGREEMENT = "We keep what Casey says about home between us unless she is at risk."
CLINICAL_SECTIONS = {"progress_notes", "assessments", "intake_forms", "messages", "documents", "agreements"}


@pytest.fixture
def minor_world(login_as, therapist, client_user, guardian, consent_docs, django_capture_on_commit_callbacks):
    chart = ClientChart.objects.get(client=client_user)
    chart.care_team.add(therapist)
    casey = login_as(client_user)
    started = casey.post("/messages/new/", {"therapist": therapist.pk})
    conversation = started["Location"].strip("/").split("/")[-1]
    casey.post(f"/messages/{conversation}/send/", {"body": SECRET_MESSAGE})
    intake_services.forms_ready(practice=client_user.practice)
    history = IntakeForm.objects.get(practice=client_user.practice, purpose="history")
    with django_capture_on_commit_callbacks(execute=True):
        packet = intake_services.packet_send(
            actor=therapist, chart=chart, access=Access.CARE_TEAM, form_ids=[str(history.pk)],
            consent_kinds=[], questionnaires=[], context=None,
        )  # fmt: skip
    item = packet.items.get()
    answers = {"reason": SECRET_HISTORY, "therapy_before": "no"}
    assert casey.post(f"/intake/items/{item.pk}/", answers).status_code == 302
    assert casey.post(f"/intake/{packet.pk}/sign/", {"typed_name": client_user.full_name}).status_code == 302
    item.refresh_from_db()
    assert item.filed_at is not None
    ParticipantAgreement.objects.create(
        practice=client_user.practice, client=client_user, recorded_by=therapist, text=SECRET_AGREEMENT
    )
    return {"chart": chart, "conversation": conversation, "item": item}


def copy_of(browser, chart, capture) -> RecordExport:
    with capture(execute=True):
        response = browser.post(f"/records/charts/{chart.pk}/exports/")
    assert response.status_code == 302, response.status_code
    return RecordExport.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[1])


def every_form(browser, export) -> tuple[dict, str, str]:
    data = json.loads(browser.get(f"/records/exports/{export.pk}/?format=json").content)
    page = browser.get(f"/records/exports/{export.pk}/?format=html").content.decode()
    pdf = pdf_text(browser.get(f"/records/exports/{export.pk}/?format=pdf").content)
    return data, page, pdf


def test_the_client_reads_every_section_in_every_form(
    login_as, client_user, minor_world, django_capture_on_commit_callbacks
):
    casey = login_as(client_user)
    data, page, pdf = every_form(casey, copy_of(casey, minor_world["chart"], django_capture_on_commit_callbacks))
    assert data["withheld"] == []
    assert [m["text"] for m in data["messages"]] == [SECRET_MESSAGE]
    assert data["intake_forms"][0]["answers"]["What brings you to therapy now?"] == SECRET_HISTORY
    assert [a["text"] for a in data["agreements"]] == [SECRET_AGREEMENT]
    for text in (page, pdf):
        # The readable forms carry what the JSON carries.
        for heading in ("Messages", "Intake forms", "Agreements", "Documents", "Consent forms signed", "Sessions"):
            assert heading in text, heading
        for secret in (SECRET_MESSAGE, SECRET_HISTORY, SECRET_AGREEMENT):
            assert secret in " ".join(text.split()), secret


def test_a_guardian_of_this_minor_gets_only_what_the_chart_shares_with_guardians(
    login_as, guardian, minor_world, django_capture_on_commit_callbacks
):
    chart = minor_world["chart"]
    parent = login_as(guardian)
    # The pages refuse the minor's conversation and her filed answers...
    assert parent.get(f"/messages/{minor_world['conversation']}/").status_code == 404
    assert parent.get(f"/intake/items/{minor_world['item'].pk}/").status_code == 404
    # ...and so does every form of the copy.
    export = copy_of(parent, chart, django_capture_on_commit_callbacks)
    data, page, pdf = every_form(parent, export)
    assert set(data["withheld"]) == CLINICAL_SECTIONS
    assert not CLINICAL_SECTIONS & set(data)
    for text in (export.payload, page, pdf):
        flat = " ".join(text.split())
        for secret in (SECRET_MESSAGE, SECRET_HISTORY, SECRET_AGREEMENT):
            assert secret not in flat, secret
    assert "Not part of your copy" in page and "Not part of your copy" in pdf
    assert "billing" in data and "consent_signatures" in data and "appointments" in data

    # Where the chart shares clinical content with guardians, the copy follows.
    ClientChart.objects.filter(pk=chart.pk).update(guardian_sees_notes=True)
    assert parent.get(f"/messages/{minor_world['conversation']}/").status_code == 200
    shared = copy_of(parent, chart, django_capture_on_commit_callbacks)
    data, page, _pdf = every_form(parent, shared)
    assert data["withheld"] == [] and [m["text"] for m in data["messages"]] == [SECRET_MESSAGE]
    assert SECRET_HISTORY in page

    # A copy built then is not downloadable once the chart stops sharing: the door is asked again.
    ClientChart.objects.filter(pk=chart.pk).update(guardian_sees_notes=False)
    stale = parent.get(f"/records/exports/{shared.pk}/?format=json")
    assert stale.status_code == 409 and b"Prepare a new copy" in stale.content
    assert SECRET_MESSAGE.encode() not in stale.content
    # And nothing at all once the guardian's authority ends (Casey turned 18).
    ClientChart.objects.filter(pk=chart.pk).update(is_minor=False)
    for built in (export, shared):
        for fmt in ("json", "html", "pdf"):
            assert parent.get(f"/records/exports/{built.pk}/?format={fmt}").status_code == 404
        assert parent.get(f"/records/exports/{built.pk}/").status_code == 404


def test_a_guardian_of_another_minor_or_of_an_adult_gets_no_copy(
    login_as, make_user, client_user, minor_world, django_capture_on_commit_callbacks
):
    chart = minor_world["chart"]
    other = make_user(Role.GUARDIAN, name="Other Guardian")
    assert login_as(other).post(f"/records/charts/{chart.pk}/exports/").status_code in (403, 404)
    adult = make_user(Role.CLIENT, name="Adult Client")
    from records.services import chart_create

    adult_chart = chart_create(actor=None, client=adult, therapists=[])
    GuardianLink.objects.create(guardian=other, client=adult)
    assert login_as(other).post(f"/records/charts/{adult_chart.pk}/exports/").status_code in (403, 404)
    assert not RecordExport.objects.filter(requested_by=other).exists()


def test_a_therapist_overdue_with_training_is_kept_out_of_messages_and_intake_answers(
    login_as, admin, therapist, minor_world
):
    import datetime as dt

    from django.utils import timezone

    from compliance.models import TrainingPolicy, TrainingVersion

    staff = login_as(admin)
    module = staff.post("/practice/training/", {"title": "Privacy basics", "body": "Lock your screen."})["Location"]
    staff.post(module, {"publish": "1"})
    team = login_as(therapist)
    conversation, item = minor_world["conversation"], minor_world["item"]
    assert team.get(f"/messages/{conversation}/").status_code == 200
    assert team.get(f"/intake/items/{item.pk}/").status_code == 200
    TrainingPolicy.objects.update_or_create(practice_id=therapist.practice_id, defaults={"enforcement": "block"})
    then = timezone.now() - dt.timedelta(days=40)
    type(therapist).objects.filter(pk=therapist.pk).update(date_joined=then)
    TrainingVersion.objects.update(published_at=then)
    assert team.get(f"/messages/{conversation}/").status_code == 403
    assert team.get(f"/intake/items/{item.pk}/").status_code == 403
    assert team.get(f"/intake/{item.packet_id}/").status_code == 403
    assert conversation not in team.get("/messages/").content.decode()
    assert SECRET_HISTORY in PacketItem.objects.get(pk=item.pk).answers  # nothing stored changed
