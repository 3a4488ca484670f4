"""Endpoint x role x relationship: nobody reaches clinical data they should not, and every read is audited."""

from __future__ import annotations

import json

import pytest

from audit.models import Action, AuditEvent
from records.models import Assessment, BillingRecord, ProgressNote
from records.selectors import Access
from records.services import (
    assessment_assign,
    billing_create,
    chart_create,
    note_create,
    note_share,
    note_sign,
)

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
PLANTED = "zebra-quartz-4471"


@pytest.fixture
def world(make_user, therapist, client_user, guardian, admin, stranger, other_practice):
    chart = chart_create(actor=None, client=client_user, therapists=[therapist], is_minor=True)
    note = note_create(
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        template="soap",
        sections={"subjective": PLANTED},
        context=None,
    )
    note_sign(actor=therapist, note=note, context=None)
    note_share(actor=therapist, note=note, context=None)
    draft = note_create(
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        template="dap",
        sections={"data": "draft " + PLANTED},
        context=None,
    )
    assessment_assign(actor=therapist, chart=chart, access=Access.CARE_TEAM, kind="gad7", context=None)
    billing_create(
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        service_date="2026-11-01",
        cpt_code="90834",
        diagnosis_codes=["F41.1"],
        fee="150",
        context=None,
    )
    other_client = make_user("client", name="Other Client")
    other_therapist = make_user("therapist", name="Other Therapist")
    chart_create(actor=None, client=other_client, therapists=[other_therapist])
    outside_therapist = make_user("therapist", practice_=other_practice, name="Outside Therapist")
    return {
        "chart": chart,
        "note": note,
        "draft": draft,
        "people": {
            "care_team": therapist,
            "colleague": make_user("therapist", name="Not On Team"),
            "client": client_user,
            "other_client": other_client,
            "guardian": guardian,
            "admin": admin,
            "outside_admin": stranger,
            "outside_therapist": outside_therapist,
        },
    }


def endpoints(world) -> dict[str, str]:
    chart, note, draft = world["chart"], world["note"], world["draft"]
    assessment = Assessment.objects.get()
    return {
        "chart_page": f"/records/charts/{chart.pk}/",
        "note_page": f"/records/notes/{note.pk}/",
        "draft_page": f"/records/notes/{draft.pk}/",
        "api_chart": f"/api/v1/records/charts/{chart.pk}/",
        "api_notes": f"/api/v1/records/charts/{chart.pk}/notes/",
        "api_note": f"/api/v1/records/notes/{note.pk}/",
        "api_draft": f"/api/v1/records/notes/{draft.pk}/",
        "api_assessments": f"/api/v1/records/charts/{chart.pk}/assessments/",
        "api_billing": f"/api/v1/records/charts/{chart.pk}/billing/",
        "assessment_page": f"/records/assessments/{assessment.pk}/",
    }


OK, NO = True, False
ENDPOINT_NAMES = [
    "chart_page", "note_page", "draft_page", "api_chart", "api_notes", "api_note", "api_draft",
    "api_assessments", "api_billing", "assessment_page",
]  # fmt: skip
NOTHING = dict.fromkeys(ENDPOINT_NAMES, NO)
# Who may read what. "draft" notes are the care team's alone; the guardian's chart setting is
# off (the default), so a guardian sees billing and the summary, never notes.
MATRIX = {
    "care_team": {
        "chart_page": OK,
        "note_page": OK,
        "draft_page": OK,
        "api_chart": OK,
        "api_notes": OK,
        "api_note": OK,
        "api_draft": OK,
        "api_assessments": OK,
        "api_billing": OK,
        "assessment_page": NO,
    },
    "colleague": NOTHING,
    "client": {
        "chart_page": NO,
        "note_page": OK,
        "draft_page": NO,
        "api_chart": OK,
        "api_notes": OK,
        "api_note": OK,
        "api_draft": NO,
        "api_assessments": OK,
        "api_billing": OK,
        "assessment_page": OK,
    },
    "other_client": NOTHING,
    "guardian": {
        "chart_page": NO,
        "note_page": NO,
        "draft_page": NO,
        "api_chart": OK,
        "api_notes": NO,
        "api_note": NO,
        "api_draft": NO,
        "api_assessments": NO,
        "api_billing": OK,
        "assessment_page": NO,
    },
    "admin": {
        "chart_page": OK,
        "note_page": NO,
        "draft_page": NO,
        "api_chart": OK,
        "api_notes": NO,
        "api_note": NO,
        "api_draft": NO,
        "api_assessments": NO,
        "api_billing": OK,
        "assessment_page": NO,
    },
    "outside_admin": NOTHING,
    "outside_therapist": NOTHING,
}


@pytest.mark.parametrize("who", list(MATRIX))
def test_the_access_matrix(world, login_as, who):
    user = world["people"][who]
    client = login_as(user)
    for name, url in endpoints(world).items():
        response = client.get(url)
        allowed = MATRIX[who][name]
        if allowed:
            assert response.status_code == 200, (who, name, response.status_code)
        else:
            assert response.status_code in (403, 404), (who, name, response.status_code)
            assert PLANTED.encode() not in response.content, (who, name)


@pytest.mark.parametrize("who", ["admin", "guardian"])
def test_admins_and_guardians_never_see_clinical_content_anywhere(world, login_as, who):
    client = login_as(world["people"][who])
    pages = [*endpoints(world).values(), "/", "/records/portal/", "/records/charts/", "/api/v1/records/charts/"]
    for url in pages:
        assert PLANTED.encode() not in client.get(url).content, url


def test_the_guardian_sees_notes_only_where_the_chart_allows(world, login_as):
    chart = world["chart"]
    client = login_as(world["people"]["guardian"])
    assert client.get(f"/records/notes/{world['note'].pk}/").status_code == 404
    chart.guardian_sees_notes = True
    chart.save()
    assert PLANTED.encode() in client.get(f"/records/notes/{world['note'].pk}/").content
    assert client.get(f"/records/notes/{world['draft'].pk}/").status_code == 404


def test_every_read_names_the_client(world, login_as):
    before = AuditEvent.objects.count()
    client = login_as(world["people"]["care_team"])
    for url in endpoints(world).values():
        client.get(url)
    reads = AuditEvent.objects.filter(pk__gt=before, subject_client_id=world["chart"].client_id)
    assert {Action.CHART_VIEW, Action.NOTE_VIEW, Action.NOTE_LIST, Action.ASSESSMENT_VIEW, Action.BILLING_VIEW} <= set(
        reads.values_list("action", flat=True)
    )


def test_writes_are_refused_outside_the_care_team(world, login_as):
    chart = world["chart"]
    for who in ("colleague", "client", "admin", "guardian"):
        client = login_as(world["people"][who])
        response = client.post(
            f"/api/v1/records/charts/{chart.pk}/notes/",
            {"template": "soap", "sections": {"subjective": "x"}},
            content_type="application/json",
        )
        assert response.status_code in (403, 404), who
    assert ProgressNote.objects.count() == 2
    bill = login_as(world["people"]["admin"]).post(
        f"/api/v1/records/charts/{chart.pk}/billing/",
        {"service_date": "2026-11-02", "cpt_code": "90837", "diagnosis_codes": ["F32.1"], "fee": "175.00"},
        content_type="application/json",
    )
    assert bill.status_code == 201  # admins do billing
    assert BillingRecord.objects.count() == 2


def test_api_note_edit_conflict_and_lock(world, login_as):
    client = login_as(world["people"]["care_team"])
    draft = world["draft"]
    url = f"/api/v1/records/notes/{draft.pk}/"
    ok = client.patch(url, {"sections": {"data": "v2"}, "version": 1}, content_type="application/json")
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = client.patch(url, {"sections": {"data": "from an old tab"}, "version": 1}, content_type="application/json")
    assert stale.status_code == 409 and stale.json() | {"detail": ""} == {
        "code": "stale_version",
        "detail": "",
        "current_version": 2,
    }
    signed = client.post(f"/api/v1/records/notes/{world['note'].pk}/", content_type="application/json")
    assert signed.status_code == 405
    locked = client.patch(
        f"/api/v1/records/notes/{world['note'].pk}/",
        {"sections": {"subjective": "x"}, "version": 3},
        content_type="application/json",
    )
    assert locked.status_code == 409 and locked.json()["code"] == "signed"
    assert json.loads(ProgressNote.objects.get(pk=world["note"].pk).body)["subjective"] == PLANTED
