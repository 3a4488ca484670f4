"""Right of access: a client (or a guardian, as the chart allows) downloads their record."""

from __future__ import annotations

import json

import pytest

from audit.models import Action, AuditEvent
from records.models import RecordExport
from records.selectors import Access
from records.services import note_create, note_sign

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _request(client, chart, capture):
    with capture(execute=True):
        response = client.post(f"/records/charts/{chart.pk}/exports/")
    return RecordExport.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[1])


def test_a_client_downloads_json_and_html(login_as, therapist, client_user, chart, django_capture_on_commit_callbacks):
    note = note_create(
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        template="soap",
        sections={"plan": "Walk daily"},
        request=None,
    )
    note_sign(actor=therapist, note=note, request=None)
    note_create(  # an unsigned draft, which is not part of the record yet
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        template="soap",
        sections={"plan": "Unsigned idea"},
        request=None,
    )
    client = login_as(client_user)
    export = _request(client, chart, django_capture_on_commit_callbacks)
    assert export.status == "ready" and export.progress == 100
    status = client.get(f"/records/exports/{export.pk}/", HTTP_ACCEPT="application/json").json()
    assert status == {"status": "ready", "progress": 100}
    data = json.loads(client.get(f"/records/exports/{export.pk}/?format=json").content)
    assert [n["sections"]["plan"] for n in data["progress_notes"]] == ["Walk daily"]
    assert "Unsigned idea" not in json.dumps(data)
    html = client.get(f"/records/exports/{export.pk}/?format=html")
    assert html["Content-Disposition"].startswith("attachment;") and b"Walk daily" in html.content
    assert b"<script" not in html.content
    stages = list(AuditEvent.objects.filter(action=Action.RECORD_EXPORT).values_list("details", flat=True))
    assert [s["stage"] for s in stages] == ["requested", "built", "downloaded", "downloaded"]


def test_the_page_shows_progress_until_ready(login_as, client_user, chart):
    client = login_as(client_user)
    response = client.post(f"/records/charts/{chart.pk}/exports/")  # the task has not run yet
    page = client.get(response["Location"]).content.decode()
    assert "Preparing your copy" in page and '<progress id="export-progress"' in page and "js/export.js" in page


def test_nobody_else_can_request_or_fetch_it(
    login_as, therapist, admin, client_user, chart, make_user, django_capture_on_commit_callbacks
):
    export = _request(login_as(client_user), chart, django_capture_on_commit_callbacks)
    for other in (therapist, admin, make_user("client")):
        assert login_as(other).get(f"/records/exports/{export.pk}/?format=json").status_code == 404
    assert login_as(therapist).post(f"/records/charts/{chart.pk}/exports/").status_code == 403


def test_a_guardian_gets_notes_only_if_the_chart_allows(
    login_as, therapist, guardian, client_user, chart, django_capture_on_commit_callbacks
):
    chart.is_minor = True
    chart.save()
    note = note_create(
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        template="soap",
        sections={"plan": "Teen plan"},
        request=None,
    )
    note_sign(actor=therapist, note=note, request=None)
    export = _request(login_as(guardian), chart, django_capture_on_commit_callbacks)
    assert "Teen plan" not in export.payload
    chart.guardian_sees_notes = True
    chart.save()
    again = _request(login_as(guardian), chart, django_capture_on_commit_callbacks)
    assert "Teen plan" in again.payload
