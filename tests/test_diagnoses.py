"""A chart's diagnoses: real, billable ICD-10-CM codes, found by code or words, primary first,
resolved with a date, sealed at rest; a drafted charge takes those in force on its date."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from records.diagnoses import normalized, search
from records.models import ChartDiagnosis
from records.selectors import Access
from records.services.diagnoses import diagnoses_of, diagnosis_add, diagnosis_resolve
from teletherapy.errors import Conflict, ServiceError

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_codes_are_found_by_their_start_or_by_words_and_only_billable_ones():
    assert normalized("f411") == "F41.1" and normalized("F41.1") == "F41.1"
    assert normalized("F41") is None  # a category, not a billable code
    assert normalized("Q99.99") is None and normalized("") is None and normalized("x" * 40) is None
    assert [code for code, _ in search("F43.1")] == ["F43.10", "F43.11", "F43.12"]
    assert ("F41.1", "Generalized anxiety disorder") in search("generalized anxiety")
    assert search("a") == []


def test_the_code_set_is_searchable_through_the_api(login_as, therapist):
    found = login_as(therapist).get("/api/v1/records/icd10/?q=F43.1").json()["codes"]
    assert [c["code"] for c in found] == ["F43.10", "F43.11", "F43.12"]
    assert login_as(therapist).get("/api/v1/records/icd10/?q=").json() == {"codes": []}


def test_the_care_team_adds_orders_and_resolves_diagnoses(login_as, therapist, client_user, chart, admin):
    browser = login_as(therapist)
    found = browser.get(f"/records/charts/{chart.pk}/diagnoses/?q=generalized anxiety").content.decode()
    assert "F41.1" in found and "Generalized anxiety disorder" in found
    browser.post(f"/records/charts/{chart.pk}/diagnoses/", {"action": "add", "code": "F41.1"})
    browser.post(f"/records/charts/{chart.pk}/diagnoses/", {"action": "add", "code": "F32.0"})
    again = browser.post(f"/records/charts/{chart.pk}/diagnoses/", {"action": "add", "code": "F41.1"}, follow=True)
    assert "already on the chart" in again.content.decode()
    bad = browser.post(f"/records/charts/{chart.pk}/diagnoses/", {"action": "add", "code": "F41"}, follow=True)
    assert "billable ICD-10-CM code" in bad.content.decode()
    second = ChartDiagnosis.objects.get(chart=chart, position=1)
    browser.post(f"/records/charts/{chart.pk}/diagnoses/", {"action": "primary", "diagnosis": second.pk})
    assert [d.code for d in diagnoses_of(chart)] == ["F32.0", "F41.1"]
    # Sealed at rest.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT code FROM {ChartDiagnosis._meta.db_table}")
        assert not any("F41" in str(row[0]) for row in cursor.fetchall())
    # The API reads them (the client their own), primary first; an admin may read, not add.
    listed = login_as(client_user).get(f"/api/v1/records/charts/{chart.pk}/diagnoses/").json()
    assert [(d["code"], d["primary"]) for d in listed] == [("F32.0", True), ("F41.1", False)]
    refused = login_as(admin).post(f"/api/v1/records/charts/{chart.pk}/diagnoses/", json.dumps({"code": "F43.10"}),
                                   content_type="application/json")  # fmt: skip
    assert refused.status_code == 403
    assert login_as(admin).get(f"/records/charts/{chart.pk}/diagnoses/").status_code == 403


def test_a_resolved_diagnosis_is_not_in_force_after_its_date(therapist, chart):
    today = timezone.localdate()
    made = diagnosis_add(actor=therapist, chart=chart, access=Access.CARE_TEAM, code="F41.1",
                         noted_on=today - timedelta(days=30), context=None)  # fmt: skip
    with pytest.raises(ServiceError):
        diagnosis_resolve(actor=therapist, chart=chart, access=Access.CARE_TEAM, diagnosis_id=made.pk,
                          resolved_on=today - timedelta(days=40), context=None)  # fmt: skip
    diagnosis_resolve(actor=therapist, chart=chart, access=Access.CARE_TEAM, diagnosis_id=made.pk,
                      resolved_on=today - timedelta(days=5), context=None)  # fmt: skip
    assert [d.code for d in diagnoses_of(chart, on=today - timedelta(days=10))] == ["F41.1"]
    assert list(diagnoses_of(chart, on=today)) == []
    with pytest.raises(Conflict):
        diagnosis_resolve(actor=therapist, chart=chart, access=Access.CARE_TEAM, diagnosis_id=made.pk,
                          resolved_on=today, context=None)  # fmt: skip
    assert date.fromisoformat(str(made.noted_on)) < today


def test_a_drafted_charge_takes_the_diagnoses_in_force(
    therapist, client_user, chart, django_capture_on_commit_callbacks
):
    from records.models import BillingRecord
    from sessions.services import appointment_end
    from tests.test_session_charges import held

    diagnosis_add(actor=therapist, chart=chart, access=Access.CARE_TEAM, code="F43.10",
                  noted_on=timezone.localdate() - timedelta(days=3), context=None)  # fmt: skip
    diagnosis_add(actor=therapist, chart=chart, access=Access.CARE_TEAM, code="F41.1",
                  noted_on=timezone.localdate() - timedelta(days=3), context=None)  # fmt: skip
    appointment = held(therapist, [client_user], "individual", [[(0, 50)]])
    with django_capture_on_commit_callbacks(execute=True):
        appointment_end(therapist=therapist, appointment=appointment)
    assert BillingRecord.objects.get(appointment_id=appointment.pk).diagnosis_codes == "F43.10,F41.1"
