"""A draft charge from every session that ends: the CPT code the minutes connected meet, modifier
95, the practice's (or the therapist's) fee; the care team confirms or adjusts it, the client sees
it only once confirmed; fees are the admins'."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Role
from records.billing_codes import individual_code, joint_code, npi_valid
from records.models import BillingRecord, ClientChart, ServiceCode, TherapistFee
from records.services.fees import fees_set
from sessions.models import Admission
from sessions.services import appointment_end, appointment_schedule
from sessions.services.charges import charges_for_session, minutes_connected

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.mark.parametrize(
    ("minutes", "code"),
    [(0, None), (15, None), (16, "90832"), (37, "90832"), (38, "90834"), (52, "90834"), (53, "90837"), (90, "90837")],
)
def test_the_time_rule_picks_the_psychotherapy_code(minutes, code):
    assert individual_code(minutes) == code


def test_a_joint_session_needs_26_minutes_and_an_npi_its_check_digit():
    assert (joint_code(25), joint_code(26)) == (None, "90847")
    assert npi_valid("1234567893") and not npi_valid("1234567890") and not npi_valid("12345678") and not npi_valid("x")


def held(therapist, clients, kind, spans):
    """A session that ran with each client admitted for the (start, end) minute spans given, then ended."""
    start = timezone.now() - timedelta(hours=2)
    appointment = appointment_schedule(
        therapist=therapist, clients=clients, kind=kind, starts_at=timezone.now() + timedelta(minutes=5), notify=False
    )
    type(appointment).objects.filter(pk=appointment.pk).update(starts_at=start, ends_at=start + timedelta(minutes=60))
    appointment.refresh_from_db()
    for client, ranges in zip(clients, spans, strict=True):
        for a, b in ranges:
            Admission.objects.create(
                appointment=appointment, user=client, admitted_by=therapist,
                admitted_at=start + timedelta(minutes=a), departed_at=start + timedelta(minutes=b) if b else None,
            )  # fmt: skip
    return appointment


def test_ending_a_session_drafts_its_charge_from_the_minutes_connected(
    therapist, client_user, admin, chart, django_capture_on_commit_callbacks
):
    fees_set(actor=admin, fees={"90834": "130", "90837": "175"}, context=None)
    # 2 to 30, away, back 28 to 47 (overlap counted once): 45 minutes.
    appointment = held(therapist, [client_user], "individual", [[(2, 30), (28, 47)]])
    assert minutes_connected(appointment, client_user.pk) == 45
    with django_capture_on_commit_callbacks(execute=True):
        appointment_end(therapist=therapist, appointment=appointment)
    charge = BillingRecord.objects.get(appointment_id=appointment.pk)
    assert (charge.cpt_code, charge.modifier, charge.place_of_service, charge.minutes) == ("90834", "95", "10", 45)
    assert charge.fee == Decimal("130.00") and charge.status == "draft" and charge.chart == chart
    # Once only, however often it is asked.
    assert charges_for_session(appointment) == []
    assert BillingRecord.objects.filter(appointment_id=appointment.pk).count() == 1


def test_a_therapists_own_fee_comes_first_and_a_short_session_drafts_nothing(
    therapist, client_user, admin, chart, django_capture_on_commit_callbacks
):
    fees_set(actor=admin, fees={"90837": "175"}, context=None)
    TherapistFee.objects.create(
        therapist=therapist, service=ServiceCode.objects.get(practice=admin.practice, code="90837"), fee="190"
    )
    long = held(therapist, [client_user], "individual", [[(0, 55)]])
    with django_capture_on_commit_callbacks(execute=True):
        appointment_end(therapist=therapist, appointment=long)
    assert BillingRecord.objects.get(appointment_id=long.pk).fee == Decimal("190.00")
    short = held(therapist, [client_user], "individual", [[(0, 12)]])
    with django_capture_on_commit_callbacks(execute=True):
        appointment_end(therapist=therapist, appointment=short)
    assert not BillingRecord.objects.filter(appointment_id=short.pk).exists()


def test_a_couples_session_is_one_90847_on_the_first_clients_chart(
    therapist, client_user, make_user, chart, django_capture_on_commit_callbacks
):
    partner = make_user(Role.CLIENT, name="Pat Partner")
    ClientChart.objects.create(client=partner, practice_id=partner.practice_id).care_team.add(therapist)
    appointment = held(therapist, [client_user, partner], "couple", [[(0, 50)], [(5, 50)]])
    with django_capture_on_commit_callbacks(execute=True):
        appointment_end(therapist=therapist, appointment=appointment)
    charges = list(BillingRecord.objects.filter(appointment_id=appointment.pk))
    assert [(c.cpt_code, c.chart.client, c.minutes) for c in charges] == [("90847", client_user, 50)]


def test_the_care_team_adjusts_and_confirms_and_only_then_the_client_sees_it(
    therapist, client_user, admin, chart, login_as, django_capture_on_commit_callbacks
):
    appointment = held(therapist, [client_user], "individual", [[(0, 40)]])
    with django_capture_on_commit_callbacks(execute=True):
        appointment_end(therapist=therapist, appointment=appointment)
    charge = BillingRecord.objects.get(appointment_id=appointment.pk)
    client_api = login_as(client_user)
    assert client_api.get(f"/api/v1/records/charts/{chart.pk}/billing/").json() == []
    browser = login_as(therapist)
    page = browser.get(f"/records/charts/{chart.pk}/").content.decode()
    assert "Confirm or adjust the draft" in page and "40 minutes connected" in page
    # No diagnoses yet: confirming is refused with the reason, the draft stays.
    refused = browser.post(f"/records/billing/{charge.pk}/", {"action": "confirm"}, follow=True)
    assert "Add the diagnoses" in refused.content.decode()
    bad = browser.post(f"/records/billing/{charge.pk}/", {"modifier": "XX"}, follow=True)
    assert "Choose the modifier" in bad.content.decode()
    done = browser.post(
        f"/records/billing/{charge.pk}/",
        {"action": "confirm", "modifier": "93", "place_of_service": "02", "diagnosis_codes": "F41.1, F32.0"},
    )
    assert done.status_code == 302
    charge.refresh_from_db()
    assert (charge.status, charge.modifier, charge.place_of_service, charge.diagnosis_codes) == (
        "submitted",
        "93",
        "02",
        "F41.1,F32.0",
    )
    seen = client_api.get(f"/api/v1/records/charts/{chart.pk}/billing/").json()
    assert [c["cpt_code"] for c in seen] == ["90834"] and seen[0]["modifier"] == "93"
    # Submitted, it stands: an adjustment through the API is refused (409), the client's is refused (403).
    again = browser.patch(f"/api/v1/records/billing/{charge.pk}/", json.dumps({"fee": "1"}),
                          content_type="application/json")  # fmt: skip
    assert again.status_code == 409
    theirs = client_api.patch(f"/api/v1/records/billing/{charge.pk}/", json.dumps({"fee": "1"}),
                              content_type="application/json")  # fmt: skip
    assert theirs.status_code == 403


def test_fees_are_the_admins(admin, therapist, login_as):
    assert login_as(therapist).get("/records/services/").status_code == 403
    browser = login_as(admin)
    page = browser.get("/records/services/").content.decode()
    assert "90834" in page and "38\u201352 min" in page
    assert browser.post("/records/services/", {"fee_90834": "lots"}).status_code == 400
    assert browser.post("/records/services/", {"fee_90834": "135.5", "fee_90837": "180"}).status_code == 302
    assert ServiceCode.objects.get(practice=admin.practice, code="90834").fee == Decimal("135.50")


def test_a_session_held_mostly_by_audio_alone_takes_the_practices_audio_only_modifier(
    therapist, client_user, admin, chart, django_capture_on_commit_callbacks
):
    from sessions.models import MediumChange, SessionPolicy

    def with_audio(minutes_from, minutes_to):
        appointment = held(therapist, [client_user], "individual", [[(0, 45)]])
        start = appointment.starts_at
        MediumChange.objects.create(appointment=appointment, user=therapist, audio_only=True,
                                    at=start + timedelta(minutes=minutes_from))  # fmt: skip
        if minutes_to is not None:
            MediumChange.objects.create(appointment=appointment, user=therapist, audio_only=False,
                                        at=start + timedelta(minutes=minutes_to))  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            appointment_end(therapist=therapist, appointment=appointment)
        return BillingRecord.objects.get(appointment_id=appointment.pk).modifier

    assert with_audio(5, 10) == "95"  # five minutes of 45
    assert with_audio(10, None) == "93"  # from minute 10 to the end: most of it
    SessionPolicy.objects.update_or_create(practice_id=admin.practice_id, defaults={"audio_only_modifier": "FQ"})
    assert with_audio(0, 40) == "FQ"


def test_the_medium_message_is_checked():
    from sessions.protocol import ProtocolError, parse

    assert parse('{"v": 1, "type": "medium", "audio_only": true}').data["audio_only"] is True
    for bad in ('{"v": 1, "type": "medium", "audio_only": "yes"}', '{"v": 1, "type": "medium"}'):
        with pytest.raises(ProtocolError):
            parse(bad)


def test_an_admin_keeps_the_identifiers_each_checked_and_the_personal_ones_sealed(admin, therapist, login_as):
    from django.db import connection

    from records.models import BillingIdentity

    browser = login_as(admin)
    page = browser.get("/records/services/").content.decode()
    assert "The practice" in page and "Theo Therapist" in page
    for field, value, says in (
        ("npi", "1234567890", "check"),
        ("taxonomy", "101YM0800", "ten characters ending in X"),
        ("tax_id", "12-345", "nine digits"),
    ):
        refused = browser.post("/records/services/", {"action": "identity", field: value})
        assert refused.status_code == 400 and says in refused.content.decode(), field
    saved = browser.post("/records/services/", {
        "action": "identity", "therapist": therapist.pk, "npi": "1234567893", "taxonomy": "101YM0800X",
        "tax_id": "123-45-6789", "licence": "LMHC 12345 NY", "address": "1 Main St\\nAlbany NY",
    })  # fmt: skip
    assert saved.status_code == 302
    kept = BillingIdentity.objects.get(therapist=therapist)
    assert (kept.npi, kept.tax_id, kept.licence) == ("1234567893", "123456789", "LMHC 12345 NY")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tax_id, licence FROM {BillingIdentity._meta.db_table}")
        assert "123456789" not in str(cursor.fetchall())
    assert browser.post("/records/services/", {"action": "identity", "npi": "1234567893"}).status_code == 302
    assert BillingIdentity.objects.get(practice=admin.practice, therapist=None).npi == "1234567893"
    assert login_as(therapist).post("/records/services/", {"action": "identity"}).status_code == 403


def test_a_superbill_lists_the_months_confirmed_services_with_the_identifiers(
    admin, therapist, client_user, chart, login_as, make_user
):
    from records.models import BillingIdentity
    from records.selectors import Access
    from records.services.diagnoses import diagnosis_add
    from tests.test_records_export import pdf_text

    BillingIdentity.objects.create(practice=admin.practice, npi="1234567893", tax_id="123456789")
    BillingIdentity.objects.create(practice=admin.practice, therapist=therapist, npi="1245319599",
                                   licence="LMHC 12345 NY")  # fmt: skip
    chart.date_of_birth = "1990-04-01"
    chart.save()
    diagnosis_add(actor=therapist, chart=chart, access=Access.CARE_TEAM, code="F41.1", noted_on="2026-11-01",
                  context=None)  # fmt: skip
    for day, status in (("2026-11-03", "submitted"), ("2026-11-10", "paid"), ("2026-11-17", "draft"),
                        ("2026-10-27", "submitted")):  # fmt: skip
        BillingRecord.objects.create(chart=chart, service_date=day, cpt_code="90834", modifier="95",
                                     place_of_service="10", diagnosis_codes="F41.1", fee="150", status=status,
                                     created_by=therapist)  # fmt: skip
    mine = login_as(client_user)
    portal = mine.get("/records/portal/").content.decode()
    assert "November 2026" in portal and "October 2026" in portal
    response = mine.get(f"/records/charts/{chart.pk}/superbill/?month=2026-11")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(response.content).split())
    assert "Superbill, November 2026" in text and "Casey Client" in text and "1990-04-01" in text
    assert "NPI 1234567893" in text and "NPI 1245319599" in text and "LMHC 12345 NY" in text
    assert "A. F41.1 Generalized anxiety disorder" in text
    assert text.count("90834") == 2 and "11/03/2026" in text and "11/17/2026" not in text  # no draft
    assert "$300.00" in text
    assert mine.get(f"/records/charts/{chart.pk}/superbill/?month=soon").status_code == 400
    # Someone outside the chart's billing rule: nothing there.
    stranger = make_user(Role.CLIENT, name="Sam Stranger")
    assert login_as(stranger).get(f"/records/charts/{chart.pk}/superbill/?month=2026-11").status_code == 404


def test_the_fees_page_has_one_title_and_one_identifiers_section(admin, login_as):
    page = login_as(admin).get("/records/services/").content.decode()
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and "Services and fees" in title
    assert page.count('id="ids-h"') == 1
