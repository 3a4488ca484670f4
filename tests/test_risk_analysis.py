"""The security risk analysis: pre-filled from the configuration, versioned, a register with
owners and plans, a signed-off PDF whose fingerprint is in the audit chain, and a yearly review."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from django.test import override_settings
from django.utils import timezone

from audit.models import Action, AuditEvent
from compliance.models import RiskAssessment, RiskItem
from compliance.services.risk import STARTING_THREATS, review_overdue

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def staff(login_as, admin):
    return login_as(admin)


def start(staff) -> RiskAssessment:
    assert staff.post("/practice/risk/").status_code == 302
    return RiskAssessment.objects.order_by("-number").first()


@override_settings(
    AUDIT_WITNESS_URL="syslog+tls://collector.example.org:6514",
    EMAIL_HOST="smtp.example.org",
    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
)
def test_a_first_analysis_starts_from_the_configuration_and_the_starting_threats(staff, practice):
    assert review_overdue(practice.pk)
    assert "No analysis has been signed off yet" in staff.get("/practice/risk/").content.decode()
    assessment = start(staff)
    assets = {a.name for a in assessment.assets.all()}
    assert {
        "Clinical record database",
        "Psychotherapy notes database",
        "collector.example.org",
        "smtp.example.org",
    } <= assets
    assert assessment.risks.count() == len(STARTING_THREATS)
    page = staff.get(f"/practice/risk/{assessment.pk}/").content.decode()
    assert "Ransomware" in page and "(from the configuration)" in page
    assert "already in progress" in staff.post("/practice/risk/", follow=True).content.decode()


def test_the_register_is_filled_in_checked_and_signed_off_into_the_audit_chain(staff, admin, therapist, practice):
    assessment = start(staff)
    url = f"/practice/risk/{assessment.pk}/"
    staff.post(url, {"asset": "1", "name": "Front-desk laptop", "kind": "Laptop", "location": "Office"})
    ransomware = assessment.risks.get(threat__startswith="Ransomware")
    bad = staff.post(url, {"risk": ransomware.pk, "likelihood": "9", "impact": "5"}, follow=True)
    assert "Choose 1 to 5" in bad.content.decode()
    staff.post(url, {"risk": ransomware.pk, "likelihood": "4", "impact": "5", "owner_id": therapist.pk, "plan": ""})
    ransomware.refresh_from_db()
    assert (ransomware.score, ransomware.level, ransomware.owner_id) == (20, "high", therapist.pk)
    refused = staff.post(url, {"finalize": "1"}, follow=True).content.decode()
    assert "Give every high risk a plan first" in refused and not RiskAssessment.objects.get(pk=assessment.pk).final
    staff.post(url, {"risk": ransomware.pk, "plan": "Offline backups; EDR on every laptop.", "due_on": "2027-03-01"})
    # Every change before the sign-off is in the audit trail: who, which threat, which fields.
    edits = AuditEvent.objects.filter(action=Action.RISK_ANALYSIS_EDIT, actor_id=admin.pk).order_by("id")
    changes = [(e.details["change"], e.details.get("risk", e.details.get("asset", ""))) for e in edits]
    assert changes[0][0] == "started" and ("asset_added", "Front-desk laptop") in changes
    changed = [e.details for e in edits if e.details["change"] == "risk_changed"]
    assert [d["fields"] for d in changed] == ["likelihood,impact,owner_id", "plan,due_on"]
    assert all(d["risk"].startswith("Ransomware") for d in changed)  # the refused 9 changed nothing
    staff.post(url, {"finalize": "1"})
    assessment.refresh_from_db()
    assert assessment.final
    pdf = staff.get(f"/practice/risk/{assessment.pk}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-") and pdf["Content-Type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == assessment.report_sha256
    assert base64.b64decode(assessment.report_pdf) == pdf.content
    event = AuditEvent.objects.get(action=Action.RISK_ANALYSIS_FINAL)
    assert (
        event.details["sha256"] == assessment.report_sha256
        and event.details["date"] == timezone.localdate().isoformat()
    )
    assert "signed off and can no longer change" in staff.post(url, {"threat": "Late"}, follow=True).content.decode()
    assert not review_overdue(practice.pk)
    # The next version starts from this one.
    second = start(staff)
    assert second.number == 2 and second.risks.get(threat__startswith="Ransomware").plan.startswith("Offline")


def test_a_review_is_due_a_year_after_the_sign_off(staff, practice):
    assessment = start(staff)
    RiskItem.objects.filter(assessment=assessment).update(likelihood=1, impact=1)
    staff.post(f"/practice/risk/{assessment.pk}/", {"finalize": "1"})
    assert not review_overdue(practice.pk)
    RiskAssessment.objects.filter(pk=assessment.pk).update(finalized_at=timezone.now() - dt.timedelta(days=366))
    assert review_overdue(practice.pk)
    assert "The yearly security risk analysis was due on" in staff.get("/").content.decode()


def test_only_the_practices_admins_see_it(login_as, staff, therapist, stranger):
    assessment = start(staff)
    assert login_as(therapist).get("/practice/risk/").status_code == 404
    assert login_as(therapist).get(f"/practice/risk/{assessment.pk}/").status_code == 404
    assert login_as(stranger).get(f"/practice/risk/{assessment.pk}/").status_code == 404
    assert login_as(stranger).get(f"/practice/risk/{assessment.pk}/report.pdf").status_code == 404


def test_the_safeguards_page_gathers_what_needs_attention(staff, login_as, therapist):
    html = staff.get("/practice/safeguards/").content.decode()
    assert "Privacy and security facts" in html and "None signed off yet" in html
    assert "/practice/vendors/" in html and "/practice/training/" in html and "/practice/risk/" in html
    assert login_as(therapist).get("/practice/safeguards/").status_code == 404


def test_the_api_lists_and_shows_an_analysis_and_takes_a_threat(staff, login_as, therapist):
    assessment = start(staff)
    [listed] = staff.get("/api/v1/risk-analyses/").json()
    assert listed["number"] == 1 and listed["final"] is False
    detail = staff.get(f"/api/v1/risk-analyses/{assessment.pk}/").json()
    assert len(detail["risks"]) == len(STARTING_THREATS) and detail["assets"]
    made = staff.post(
        f"/api/v1/risk-analyses/{assessment.pk}/",
        {"threat": "A flood in the office", "likelihood": 2, "impact": 5},
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["score"] == 10 and made.json()["level"] == "medium"
    bad = staff.post(
        f"/api/v1/risk-analyses/{assessment.pk}/", {"threat": "x", "impact": 9}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert login_as(therapist).get(f"/api/v1/risk-analyses/{assessment.pk}/").status_code == 404
