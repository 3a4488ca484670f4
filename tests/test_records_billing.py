"""Billing: CPT and ICD-10-CM codes validated, diagnosis codes sealed, admins manage status."""

from __future__ import annotations

import pytest

from records.models import BillingRecord

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
GOOD = {"service_date": "2026-11-02", "cpt_code": "90834", "diagnosis_codes": ["F41.1", "Z63.0"], "fee": "150.00"}


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_the_care_team_records_billing_with_sealed_diagnoses(login_as, therapist, chart):
    response = post(login_as(therapist), f"/api/v1/records/charts/{chart.pk}/billing/", GOOD)
    assert response.status_code == 201
    assert response.json()["diagnosis_codes"] == ["F41.1", "Z63.0"]
    raw = BillingRecord.objects.values_list("diagnosis_codes", flat=True).get()
    assert raw.startswith("tt1:") and "F41" not in raw


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cpt_code": "9083"}, "cpt_code"),
        ({"cpt_code": "ABCDE"}, "cpt_code"),
        ({"diagnosis_codes": ["41.1"]}, "diagnosis_codes"),
        ({"diagnosis_codes": ["U07.1"]}, "diagnosis_codes"),
        ({"diagnosis_codes": []}, "diagnosis_codes"),
        ({"fee": "-5"}, "fee"),
        ({"fee": "NaN"}, "fee"),
        ({"fee": "1e9"}, "fee"),
        ({"service_date": "2026-13-01"}, "service_date"),
    ],
)
def test_malformed_billing_is_refused(login_as, therapist, chart, change, field):
    response = post(login_as(therapist), f"/api/v1/records/charts/{chart.pk}/billing/", {**GOOD, **change})
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not BillingRecord.objects.exists()


def test_an_admin_marks_billing_paid_and_a_client_cannot(login_as, therapist, admin, client_user, chart):
    record_id = post(login_as(therapist), f"/api/v1/records/charts/{chart.pk}/billing/", GOOD).json()["id"]
    url = f"/api/v1/records/billing/{record_id}/"
    assert login_as(admin).patch(url, {"status": "paid"}, content_type="application/json").json()["status"] == "paid"
    assert login_as(admin).patch(url, {"status": "bogus"}, content_type="application/json").status_code == 400
    assert login_as(client_user).patch(url, {"status": "void"}, content_type="application/json").status_code == 403
    assert BillingRecord.objects.get().status == "paid"
