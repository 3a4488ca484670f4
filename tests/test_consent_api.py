"""Consent through the JSON API, including attempts to change what was published."""

from __future__ import annotations

import pytest

from audit.models import Action, AuditEvent
from consent.models import ConsentSignature, ConsentVersion
from tests.conftest import sign

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def test_documents_list_hides_drafts_from_clients(login_as, admin, client_user, consent_docs):
    post(login_as(admin), f"/api/v1/consent/documents/{consent_docs['treatment'].document_id}/drafts/")
    as_admin = login_as(admin).get("/api/v1/consent/documents/").json()
    as_client = login_as(client_user).get("/api/v1/consent/documents/").json()
    assert any(v["status"] == "draft" for d in as_admin for v in d["versions"])
    assert not any(v["status"] == "draft" for d in as_client for v in d["versions"])


def test_a_client_signs_and_withdraws_through_the_api(login_as, client_user, consent_docs):
    client = login_as(client_user)
    data = {"version": str(consent_docs["telehealth"].pk), "typed_name": "CASEY client", "confirm_read": True}
    created = post(client, "/api/v1/consent/signatures/", data)
    assert created.status_code == 201
    assert post(client, "/api/v1/consent/signatures/", data).status_code == 200  # idempotent
    signature_id = created.json()["id"]
    detail = client.get(f"/api/v1/consent/signatures/{signature_id}/").json()
    assert detail["version_sha256"] == consent_docs["telehealth"].body_sha256 and "never recorded" in detail["text"]
    withdrawn = post(client, f"/api/v1/consent/signatures/{signature_id}/withdraw/", {"reason": "changed my mind"})
    assert withdrawn.status_code == 200 and withdrawn.json()["withdrawn_at"]
    again = post(client, f"/api/v1/consent/signatures/{signature_id}/withdraw/")
    assert again.status_code == 409 and again.json()["code"] == "already_withdrawn"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"typed_name": "Wrong Name"}, "invalid"),
        ({"confirm_read": False}, "invalid"),
        ({"version": "not-a-uuid"}, "invalid"),
    ],
)
def test_bad_signing_requests_store_nothing(login_as, client_user, consent_docs, change, code):
    data = {"version": str(consent_docs["telehealth"].pk), "typed_name": "Casey Client", "confirm_read": True, **change}
    response = post(login_as(client_user), "/api/v1/consent/signatures/", data)
    assert response.status_code == 400 and response.json()["code"] == code
    assert not ConsentSignature.objects.exists()


def test_the_gate_answers_for_an_appointment(login_as, client_user, consent_docs, schedule):
    appointment = schedule(client_user)
    client = login_as(client_user)
    gate = client.get(f"/api/v1/consent/gate/?appointment={appointment.pk}").json()
    assert gate["ready"] is False
    assert {m["kind"] for m in gate["missing"]} == {"treatment", "telehealth"}
    assert all(m["you_can_sign"] for m in gate["missing"])
    sign(client_user, "treatment")
    sign(client_user, "telehealth")
    assert client.get(f"/api/v1/consent/gate/?appointment={appointment.pk}").json() == {
        "appointment": str(appointment.pk),
        "ready": True,
        "missing": [],
    }


def test_the_gate_does_not_reveal_other_peoples_appointments(login_as, make_user, consent_docs, schedule, client_user):
    appointment = schedule(client_user)
    outsider = make_user("client")
    assert login_as(outsider).get(f"/api/v1/consent/gate/?appointment={appointment.pk}").status_code == 404
    assert login_as(outsider).get("/api/v1/consent/gate/?appointment=garbage").status_code == 404


@pytest.mark.parametrize("method", ["patch", "put"])
def test_no_api_call_changes_a_published_text(login_as, admin, consent_docs, method):
    version = consent_docs["treatment"]
    before = (version.body, version.body_sha256)
    client = login_as(admin)
    response = getattr(client, method)(
        f"/api/v1/consent/versions/{version.pk}/", {"body": "Rewritten"}, content_type="application/json"
    )
    assert response.status_code == 409 and response.json()["code"] == "published_immutable"
    republish = post(client, f"/api/v1/consent/versions/{version.pk}/publish/", {"requires_reconsent": False})
    assert republish.status_code == 409
    version.refresh_from_db()
    assert (version.body, version.body_sha256) == before
    assert version.status == "published"


def test_a_draft_goes_through_edit_and_publish(login_as, admin, consent_docs):
    client = login_as(admin)
    draft = post(client, f"/api/v1/consent/documents/{consent_docs['telehealth'].document_id}/drafts/").json()
    edited = client.patch(
        f"/api/v1/consent/versions/{draft['id']}/", {"body": "# New\n\nText <b>x</b>"}, content_type="application/json"
    )
    assert edited.status_code == 200 and "&lt;b&gt;" in edited.json()["html"]
    published = post(client, f"/api/v1/consent/versions/{draft['id']}/publish/", {"requires_reconsent": True}).json()
    assert published["status"] == "published" and published["number"] == 2
    assert ConsentVersion.objects.get(pk=consent_docs["telehealth"].pk).status == "superseded"
    actions = set(AuditEvent.objects.filter(actor_id=admin.pk).values_list("action", flat=True))
    assert {Action.CONSENT_DRAFT_SAVE, Action.CONSENT_PUBLISH} <= actions


def test_only_admins_edit_documents(login_as, therapist, consent_docs, admin):
    draft = post(login_as(admin), f"/api/v1/consent/documents/{consent_docs['privacy'].document_id}/drafts/").json()
    response = login_as(therapist).patch(
        f"/api/v1/consent/versions/{draft['id']}/", {"body": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert (
        post(
            login_as(therapist), f"/api/v1/consent/versions/{draft['id']}/publish/", {"requires_reconsent": True}
        ).status_code
        == 403
    )


def test_requests_and_agreements(login_as, therapist, client_user, chart, colleague, consent_docs):
    client = login_as(therapist)
    assert (
        post(client, "/api/v1/consent/requests/", {"client": client_user.pk, "kind": "telehealth"}).status_code == 201
    )
    assert post(client, "/api/v1/consent/requests/", {"client": client_user.pk, "kind": "nonsense"}).status_code == 400
    assert (
        post(client, "/api/v1/consent/agreements/", {"client": client_user.pk, "text": "Agreed X"}).status_code == 201
    )
    assert post(client, "/api/v1/consent/agreements/", {"client": 999999, "text": "Agreed X"}).status_code == 404
