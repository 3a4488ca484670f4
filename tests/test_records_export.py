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
        context=None,
    )
    note_sign(actor=therapist, note=note, context=None)
    note_create(  # an unsigned draft, which is not part of the record yet
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        template="soap",
        sections={"plan": "Unsigned idea"},
        context=None,
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
    # A document people read: sections and plain labels, not field names and braces.
    page = html.content.decode()
    assert "<h2>Progress notes</h2>" in page and "<h4>Plan</h4>" in page and "SOAP" in page
    assert "{" not in page.split("</style>")[1] and "signed_at" not in page and "self_harm_alert" not in page
    pdf = client.get(f"/records/exports/{export.pk}/?format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf["Content-Disposition"].endswith('.pdf"')
    text = pdf_text(pdf.content)
    assert "The record of Casey Client" in text and "Progress notes" in text and "Walk daily" in text
    assert "Unsigned idea" not in text and "signed_at" not in text
    stages = list(AuditEvent.objects.filter(action=Action.RECORD_EXPORT).values_list("details", flat=True))
    assert [s["stage"] for s in stages] == ["requested", "built", "downloaded", "downloaded", "downloaded"]
    assert stages[-1]["format"] == "pdf"


def pdf_text(content: bytes) -> str:
    """The PDF opened as a reader would, its text taken out page by page."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_readable_copy_speaks_plainly_of_questionnaires_billing_and_times(
    login_as, therapist, client_user, chart, django_capture_on_commit_callbacks
):
    from records.services import assessment_assign, assessment_submit, billing_create, billing_set_status

    assessment = assessment_assign(actor=therapist, chart=chart, access=Access.CARE_TEAM, kind="phq9", context=None)
    assessment_submit(actor=client_user, assessment=assessment, answers=[2, 2, 2, 1, 1, 1, 1, 1, 1], context=None)
    charge = billing_create(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, service_date="2026-11-20", cpt_code="90837",
        diagnosis_codes=["F41.1"], fee="1250", context=None,
    )  # fmt: skip
    billing_set_status(actor=therapist, record=charge, access=Access.CARE_TEAM, status="submitted", context=None)
    client_user.time_zone = "Asia/Tokyo"
    client_user.save(update_fields=["time_zone"])
    client = login_as(client_user)
    export = _request(client, chart, django_capture_on_commit_callbacks)
    for fmt in ("html", "pdf"):
        body = client.get(f"/records/exports/{export.pk}/?format={fmt}").content
        text = pdf_text(body) if fmt == "pdf" else body.decode()
        assert "PHQ-9 (depression)" in text and "12 (moderate)" in text, fmt
        assert "self_harm_alert" not in text and "True" not in text, fmt  # no internal flags
        assert "$1,250.00" in text and "Submitted" in text and "20 November 2026" in text, fmt
        assert "JST" in text, fmt  # times in the reader's own zone


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
        context=None,
    )
    note_sign(actor=therapist, note=note, context=None)
    export = _request(login_as(guardian), chart, django_capture_on_commit_callbacks)
    assert "Teen plan" not in export.payload
    chart.guardian_sees_notes = True
    chart.save()
    again = _request(login_as(guardian), chart, django_capture_on_commit_callbacks)
    assert "Teen plan" in again.payload
