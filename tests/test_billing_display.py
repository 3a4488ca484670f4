"""Billing as each side sees it: amounts in the practice's currency, and a draft charge kept
from the client until it is submitted, on the page, in the API and in their copy of the record."""

from __future__ import annotations

import pytest

from accounts.models import Practice
from records.models import BillingRecord
from records.selectors import Access
from records.services import billing_create, billing_set_status

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def charge(therapist, chart, fee: str) -> BillingRecord:
    return billing_create(
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        service_date="2026-11-20",
        cpt_code="90837",
        diagnosis_codes=["F41.1"],
        fee=fee,
        context=None,
    )


def test_a_draft_charge_is_the_practices_until_submitted(login_as, therapist, client_user, chart):
    draft = charge(therapist, chart, "1250.5")
    portal = login_as(client_user)
    assert "90837" not in portal.get("/records/portal/").content.decode()
    assert portal.get(f"/api/v1/records/charts/{chart.pk}/billing/").json() == []
    team_page = login_as(therapist).get(f"/records/charts/{chart.pk}/").content.decode()
    assert "$1,250.50" in team_page and "Draft" in team_page
    billing_set_status(actor=therapist, record=draft, access=Access.CARE_TEAM, status="submitted", context=None)
    page = portal.get("/records/portal/").content.decode()
    assert "90837" in page and "$1,250.50" in page
    assert len(portal.get(f"/api/v1/records/charts/{chart.pk}/billing/").json()) == 1


def test_amounts_follow_the_practices_currency(login_as, admin, therapist, chart):
    charge(therapist, chart, "90")
    client = login_as(admin)
    assert client.post("/practice/currency/", {"currency": "EUR"}).status_code == 302
    assert Practice.objects.get(pk=admin.practice_id).currency == "EUR"
    assert "€90.00" in login_as(therapist).get(f"/records/charts/{chart.pk}/").content.decode()
    # Something not on the list is refused, and nothing changes.
    client.post("/practice/currency/", {"currency": "XXX"})
    assert Practice.objects.get(pk=admin.practice_id).currency == "EUR"
