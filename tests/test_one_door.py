"""The holes one door closes: each refusal through the same entry points a person would use."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection

from accounts.models import GuardianLink, Role, RoleGrant
from audit.models import Action, AuditEvent, AuditFlag, AuditFlagAcknowledgement
from consent.models import ConsentWithdrawal, ParticipantAgreement
from records.models import ClientChart, EmergencyAccess
from records.selectors import Access
from records.services import chart_create, chart_update, note_create
from tests.conftest import sign

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
REASON = "Client called the crisis line and named this practice; on-call review now."


def denials() -> int:
    return AuditEvent.objects.filter(action=Action.ACCESS_DENIED).count()


def api(client, method, url, data=None):
    return getattr(client, method)(url, json.dumps(data or {}), content_type="application/json")


# Admins and roles ---------------------------------------------------------------------------


def test_nobody_changes_their_own_roles(login_as, admin, make_user):
    other_admin = make_user(Role.ADMIN, name="Ada Admin")
    browser = login_as(admin)
    before = denials()
    response = browser.post(f"/practice/members/{admin.pk}/role/", {"role": "therapist", "change": "grant"})
    assert response.status_code == 302
    assert not admin.has_role(Role.THERAPIST)
    assert not RoleGrant.objects.filter(user=admin, role=Role.THERAPIST).exists()
    assert denials() == before + 1
    response = browser.post(f"/practice/members/{admin.pk}/role/", {"role": "admin", "change": "revoke"})
    assert RoleGrant.objects.filter(user=admin, role=Role.ADMIN).exists()
    # Another admin may grant it, and the account still reads no clinical content.
    login_as(other_admin).post(f"/practice/members/{admin.pk}/role/", {"role": "therapist", "change": "grant"})
    assert RoleGrant.objects.filter(user=admin, role=Role.THERAPIST).exists()


def test_an_admin_who_is_also_a_therapist_never_reads_clinical_content(login_as, make_user, client_user, therapist):
    both = make_user(Role.ADMIN, name="Bo Both")
    RoleGrant.objects.create(user=both, role=Role.THERAPIST)
    both.forget_roles()
    chart = chart_create(actor=None, client=client_user, therapists=[therapist, both])
    planted = "zebra-plan-7731"
    note_create(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, template="soap", sections={"plan": planted}, context=None
    )
    assert planted in login_as(therapist).get(f"/api/v1/records/charts/{chart.pk}/notes/").content.decode()
    browser = login_as(both)
    assert browser.get(f"/api/v1/records/charts/{chart.pk}/notes/").status_code == 404
    assert browser.get(f"/api/v1/records/charts/{chart.pk}/").status_code == 200  # summary only
    assert planted not in browser.get(f"/records/charts/{chart.pk}/").content.decode()


def test_an_admin_cannot_use_emergency_access_whatever_roles_it_holds(login_as, make_user, client_user, therapist):
    both = make_user(Role.ADMIN, name="Bo Both")
    RoleGrant.objects.create(user=both, role=Role.THERAPIST)
    chart = chart_create(actor=None, client=client_user, therapists=[therapist])
    before = denials()
    response = api(login_as(both), "post", f"/api/v1/records/charts/{chart.pk}/emergency-access/", {"reason": REASON})
    assert response.status_code == 403 and response.json()["code"] == "not_allowed"
    assert not EmergencyAccess.objects.exists()
    assert denials() == before + 1
    page = login_as(both).post(f"/records/charts/{chart.pk}/emergency/", {"reason": REASON})
    assert page.status_code in (400, 403, 404)
    assert not EmergencyAccess.objects.exists()


def test_an_admin_cannot_acknowledge_an_alert_about_their_own_actions(login_as, admin, make_user):
    other_admin = make_user(Role.ADMIN, name="Ada Admin")
    flag = AuditFlag.objects.create(
        practice_id=admin.practice_id,
        rule="volume",
        key="own-1",
        actor_id=admin.pk,
        summary="Many records opened",
        created_at="2026-11-30T10:00:00Z",
    )
    login_as(admin).post("/audit/alerts/", {"flag": flag.pk, "note": "That was me, it is fine."})
    assert not AuditFlagAcknowledgement.objects.exists()
    login_as(other_admin).post("/audit/alerts/", {"flag": flag.pk, "note": "Checked with the admin: a report."})
    ack = AuditFlagAcknowledgement.objects.get()
    assert ack.admin_id == other_admin.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM audit_auditflagacknowledgement")
        raw = cursor.fetchone()[0]
    assert raw.startswith("tt1:") and "report" not in raw
    assert ack.note == "Checked with the admin: a report."


# Consent follows the chart's rule ------------------------------------------------------------


def test_consent_data_follows_the_chart(login_as, therapist, colleague, admin, client_user, chart, consent_docs):
    signature = sign(client_user, "telehealth")
    ParticipantAgreement(
        practice_id=client_user.practice_id, client=client_user, recorded_by=therapist, text="No secrets kept."
    ).save()

    # Off the care team: nothing, and each refusal is audited once.
    off = login_as(colleague)
    before = denials()
    assert off.get(f"/api/v1/consent/signatures/?client={client_user.pk}").status_code == 404
    assert off.get(f"/api/v1/consent/signatures/{signature.pk}/").status_code == 404
    assert off.get(f"/consent/caseload/{client_user.pk}/agreements/").status_code == 404
    assert denials() == before + 3
    assert off.get("/api/v1/consent/signatures/").json() == []
    assert "Casey Client" not in off.get("/consent/caseload/").content.decode()

    # The care team: everything, each read audited once.
    team = login_as(therapist)
    events = AuditEvent.objects.count()
    listed = team.get(f"/api/v1/consent/signatures/?client={client_user.pk}").json()
    assert listed[0]["typed_name"] == signature.typed_name
    assert AuditEvent.objects.count() == events + 1
    assert AuditEvent.objects.latest("id").subject_client_id == client_user.pk
    assert b"No secrets kept." in team.get(f"/consent/caseload/{client_user.pk}/agreements/").content
    assert (
        AuditEvent.objects.filter(action=Action.CONSENT_AGREEMENT_VIEW, subject_client_id=client_user.pk).count() == 1
    )

    # The admin: status only, never the typed name, the signed text or per-person agreements.
    office = login_as(admin)
    rows = office.get(f"/api/v1/consent/signatures/?client={client_user.pk}").json()
    assert rows and rows[0]["typed_name"] is None and rows[0]["kind"] == "telehealth"
    assert office.get(f"/api/v1/consent/signatures/{signature.pk}/").status_code == 404
    assert office.get(f"/consent/caseload/{client_user.pk}/agreements/").status_code in (403, 404)
    assert b"No secrets kept." not in office.get(f"/consent/caseload/{client_user.pk}/agreements/").content


def test_an_agreement_cannot_be_recorded_off_the_care_team(login_as, colleague, client_user, chart, consent_docs):
    response = api(
        login_as(colleague), "post", "/api/v1/consent/agreements/", {"client": client_user.pk, "text": "Agreed"}
    )
    assert response.status_code == 404
    assert not ParticipantAgreement.objects.exists()


# Guardians act only for minors ----------------------------------------------------------------


def test_a_guardian_of_an_adult_has_no_authority(login_as, make_user, client_user, therapist, consent_docs):
    chart = chart_create(actor=None, client=client_user, therapists=[therapist], is_minor=False)
    parent = make_user(Role.GUARDIAN, name="Pat Parent")
    GuardianLink.objects.create(guardian=parent, client=client_user)
    browser = login_as(parent)
    version = consent_docs["telehealth"]
    response = browser.post(
        f"/consent/versions/{version.pk}/sign/?for={client_user.pk}",
        {"typed_name": "Pat Parent", "confirm_read": "on"},
    )
    assert response.status_code in (400, 403, 404)
    assert not client_user.consent_signatures.exists()
    assert browser.get(f"/api/v1/records/charts/{chart.pk}/").status_code == 404
    assert "Casey" not in browser.get("/consent/").content.decode()
    assert browser.get(f"/audit/record-access/?client={client_user.pk}").status_code == 404


def test_marking_a_minor_adult_ends_the_guardians_authority_at_once(
    login_as, guardian, client_user, therapist, consent_docs
):
    chart = ClientChart.objects.get(client=client_user)
    chart.care_team.add(therapist)
    browser = login_as(guardian)
    assert browser.get(f"/api/v1/records/charts/{chart.pk}/").status_code == 200
    signature = sign(guardian, "telehealth", for_=client_user)

    chart_update(actor=therapist, chart=chart, access=Access.CARE_TEAM, data={"is_minor": False}, context=None)
    marked = AuditEvent.objects.filter(action=Action.CHART_UPDATE, subject_client_id=client_user.pk).latest("id")
    assert marked.details["marked"] == "adult" and marked.actor_id == therapist.pk

    assert browser.get(f"/api/v1/records/charts/{chart.pk}/").status_code == 404
    assert browser.get(f"/api/v1/consent/signatures/{signature.pk}/").status_code == 404
    response = api(browser, "post", f"/api/v1/consent/signatures/{signature.pk}/withdraw/", {"reason": "x"})
    assert response.status_code == 404 and not ConsentWithdrawal.objects.exists()

    chart_update(actor=therapist, chart=chart, access=Access.CARE_TEAM, data={"is_minor": True}, context=None)
    assert AuditEvent.objects.filter(action=Action.CHART_UPDATE, details__marked="minor").exists()
    assert browser.get(f"/api/v1/records/charts/{chart.pk}/").status_code == 200


def test_a_guardian_invitation_needs_a_minor(login_as, therapist, client_user):
    chart_create(actor=None, client=client_user, therapists=[therapist], is_minor=False)
    response = api(
        login_as(therapist),
        "post",
        "/api/v1/accounts/invitations/",
        {"email": "mum@example.org", "role": "guardian", "guardian_for": client_user.pk},
    )
    assert response.status_code == 400 and "guardian_for" in response.json()["fields"]


# Sealed free text ----------------------------------------------------------------------------


def test_a_withdrawal_reason_is_sealed(login_as, client_user, consent_docs):
    signature = sign(client_user, "telehealth")
    reason = "My partner reads my e-mail and I no longer feel safe."
    response = login_as(client_user).post(f"/consent/signatures/{signature.pk}/withdraw/", {"reason": reason})
    assert response.status_code == 302
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM consent_consentwithdrawal")
        raw = cursor.fetchone()[0]
    assert raw.startswith("tt1:") and "partner" not in raw
    assert ConsentWithdrawal.objects.get().reason == reason
    assert reason.encode() in login_as(client_user).get(f"/consent/signatures/{signature.pk}/").content


# One refusal, one denial ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/records/charts/00000000-0000-0000-0000-000000000000/",
        "/api/v1/records/notes/00000000-0000-0000-0000-000000000000/",
        "/api/v1/consent/signatures/00000000-0000-0000-0000-000000000000/",
        "/api/v1/accounts/invitations/",
    ],
)
def test_each_refused_api_request_writes_exactly_one_denial(login_as, client_user, url):
    before = denials()
    response = login_as(client_user).get(url)
    assert response.status_code in (403, 404)
    assert denials() == before + 1


# Bounded parsers ------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 2000, 100_000])
def test_a_deeply_nested_body_is_a_400(login_as, therapist, chart, depth):
    body = "[" * depth + "]" * depth
    response = login_as(therapist).post(
        f"/api/v1/records/charts/{chart.pk}/notes/", body, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    assert not chart.notes.exists()


def test_an_oversized_body_is_a_400(login_as, therapist, chart, settings):
    body = json.dumps({"sections": {"plan": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}})
    response = login_as(therapist).post(
        f"/api/v1/records/charts/{chart.pk}/notes/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert not chart.notes.exists()


def test_nesting_within_bounds_still_parses():
    from teletherapy.parsers import MAX_DEPTH, JSONTooDeep, loads_bounded

    assert loads_bounded("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(JSONTooDeep):
        loads_bounded('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1))


# Paging --------------------------------------------------------------------------------------


def write_notes(therapist, chart, count):
    for i in range(count):
        note_create(
            actor=therapist,
            chart=chart,
            access=Access.CARE_TEAM,
            template="soap",
            sections={"plan": f"n{i}"},
            context=None,
        )


def test_the_notes_list_pages_with_a_cursor(login_as, therapist, chart):
    write_notes(therapist, chart, 7)
    browser = login_as(therapist)
    url = f"/api/v1/records/charts/{chart.pk}/notes/"
    seen = []
    response = browser.get(url, {"limit": 3})
    while True:
        assert response.status_code == 200
        seen += [n["id"] for n in response.json()]
        cursor = response.headers.get("X-Next-Cursor")
        if not cursor:
            assert "Link" not in response.headers
            break
        assert 'rel="next"' in response.headers["Link"]
        response = browser.get(url, {"limit": 3, "cursor": cursor})
    assert len(seen) == 7 == len(set(seen))
    assert browser.get(url, {"cursor": "forged"}).status_code == 400
    assert browser.get(url, {"limit": "100000"}).status_code == 400
    other = f"/api/v1/records/charts/{chart.pk}/assessments/"
    first = browser.get(url, {"limit": 1}).headers["X-Next-Cursor"]
    assert browser.get(other, {"cursor": first}).status_code == 400


# Where an act came from ----------------------------------------------------------------------


def test_every_channel_gives_the_audit_trail_the_same_context(login_as, therapist, chart, client_user, consent_docs):
    from teletherapy.context import AuditContext

    browser = login_as(therapist)
    response = browser.get(f"/api/v1/records/charts/{chart.pk}/", HTTP_USER_AGENT="Matrix/1.0")
    event = AuditEvent.objects.filter(action=Action.CHART_VIEW).latest("id")
    assert event.request_id == response["X-Request-ID"] and event.user_agent == "Matrix/1.0"
    assert event.ip_address == "127.0.0.1"

    scope = {"client": ("203.0.113.9", 5000), "headers": [(b"user-agent", b"Phone/2")], "path": "/ws/x/"}
    socket = AuditContext.of_scope(scope)
    assert (socket.address, socket.user_agent, socket.channel) == ("203.0.113.9", "Phone/2", "socket")
    assert len(socket.request_id) == 16
    task = AuditContext.background("task", "record_export_build")
    assert task.channel == "task" and task.request_id and task.address is None


def test_a_built_export_is_audited_with_a_task_context(
    login_as, client_user, chart, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = login_as(client_user).post(f"/api/v1/records/charts/{chart.pk}/exports/")
    assert response.status_code in (201, 202)
    built = AuditEvent.objects.filter(action=Action.RECORD_EXPORT, details__stage="built").get()
    assert built.request_id and built.ip_address is None and built.actor_id == client_user.pk


def test_the_chart_page_pages_its_notes(login_as, therapist, chart):
    write_notes(therapist, chart, 53)
    browser = login_as(therapist)
    first = browser.get(f"/records/charts/{chart.pk}/").content.decode()
    listed = first.split('id="notes-h"', 1)[1].split("</section>", 1)[0]  # the notes' own list, not the overview
    assert listed.count('href="/records/notes/') == 50
    older = re.search(r'href="([^"]+cursor=[^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = browser.get(older).content.decode()
    listed = second.split('id="notes-h"', 1)[1].split("</section>", 1)[0]
    assert listed.count('href="/records/notes/') == 3 and 'rel="next"' not in second
