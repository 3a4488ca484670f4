"""The JSON API: same rules as the pages, errors as {code, detail}, CSRF enforced."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Invitation
from tests.conftest import verified_session

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_me_describes_the_signed_in_person(login_as, therapist):
    data = login_as(therapist).get("/api/v1/me/").json()
    assert data == {
        "id": therapist.pk,
        "email": therapist.email,
        "full_name": "Theo Therapist",
        "practice": "Lakeside Therapy",
        "roles": ["therapist"],
    }


def test_the_schema_is_served_to_verified_users(login_as, therapist):
    response = login_as(therapist).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/api/v1/accounts/invitations/" in response.content.decode()


def test_a_therapist_invites_a_client(login_as, therapist):
    response = login_as(therapist).post(
        "/api/v1/accounts/invitations/", {"email": "c@example.org", "role": "client"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"


def test_a_client_cannot_list_invitations(login_as, client_user):
    response = login_as(client_user).get("/api/v1/accounts/invitations/")
    assert response.status_code == 403
    assert set(response.json()) == {"code", "detail"}


def test_validation_errors_name_the_field(login_as, admin):
    response = login_as(admin).post(
        "/api/v1/accounts/invitations/", {"email": "not-an-email", "role": "wizard"}, content_type="application/json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and {"email", "role"} <= set(body["fields"])


def test_a_disallowed_role_is_refused(login_as, admin):
    response = login_as(admin).post(
        "/api/v1/accounts/invitations/", {"email": "c@example.org", "role": "client"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "role" in response.json()["fields"]


def test_csrf_is_enforced_for_session_auth(therapist):
    client = verified_session(Client(enforce_csrf_checks=True), therapist)
    response = client.post(
        "/api/v1/accounts/invitations/", {"email": "c@example.org", "role": "client"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_revoking_someone_elses_invitation_is_a_404(login_as, admin, stranger):
    from accounts.services import invitation_send

    invitation, _ = invitation_send(actor=admin, context=None, email="x@example.org", role="therapist")
    response = login_as(stranger).post(f"/api/v1/accounts/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    from audit.models import Action, AuditEvent

    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=stranger.pk).exists()


def test_revoking_twice_is_a_conflict(login_as, admin):
    from accounts.services import invitation_send

    invitation, _ = invitation_send(actor=admin, context=None, email="x@example.org", role="therapist")
    client = login_as(admin)
    assert client.post(f"/api/v1/accounts/invitations/{invitation.pk}/revoke/").status_code == 200
    second = client.post(f"/api/v1/accounts/invitations/{invitation.pk}/revoke/")
    assert second.status_code == 409 and second.json()["code"] == "conflict"


def test_sessions_can_be_listed_and_ended(login_as, therapist):
    mine, other = login_as(therapist), login_as(therapist)
    listed = mine.get("/api/v1/accounts/sessions/").json()
    assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
    assert mine.post("/api/v1/accounts/sessions/revoke-others/").json() == {"ended": 1}
    assert other.get("/api/v1/me/").status_code == 403


def test_the_openapi_schema_is_valid_and_warning_free(tmp_path):
    from django.core.management import call_command

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    for path in ("/api/v1/records/charts/{chart_id}/notes/", "/api/v1/consent/gate/", "/api/v1/accounts/invitations/"):
        assert path in text


def test_the_schema_declares_every_error_an_operation_gives():
    from drf_spectacular.generators import SchemaGenerator

    spec = SchemaGenerator().get_schema(request=None, public=True)
    error = "#/components/schemas/Error"
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"code", "detail", "fields"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for code in ("403", "404") + (("400", "409") if method in ("post", "put", "patch", "delete") else ()):
                assert code in responses, (path, method, code)
                assert responses[code]["content"]["application/json"]["schema"]["$ref"] == error
            if (
                method == "get"
                and responses.get("200", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("type")
                == "array"
            ):
                assert {"cursor", "limit"} <= {p["name"] for p in operation.get("parameters", [])}, path
                assert "X-Next-Cursor" in responses["200"]["headers"], path
