"""Break the glass: a reason, 60 minutes, a flagged audit event, admins told, never psychotherapy notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from audit.models import Action, AuditEvent
from records.models import EmergencyAccess, PsychotherapyNote

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
REASON = "Client called the crisis line; care team unreachable, need the safety plan."


def test_a_colleague_opens_the_chart_for_an_hour_with_a_reason(
    login_as, colleague, admin, chart, django_capture_on_commit_callbacks
):
    client = login_as(colleague)
    assert client.get(f"/records/charts/{chart.pk}/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/records/charts/{chart.pk}/emergency/", {"reason": REASON})
    assert response["Location"] == f"/records/charts/{chart.pk}/"
    access = EmergencyAccess.objects.get()
    assert timedelta(minutes=59) < access.expires_at - access.started_at <= timedelta(minutes=60)
    page = client.get(f"/records/charts/{chart.pk}/")
    assert page.status_code == 200 and b"Emergency access" in page.content
    flagged = AuditEvent.objects.filter(flagged=True, actor_id=colleague.pk)
    assert {Action.EMERGENCY_ACCESS, Action.CHART_VIEW} <= set(flagged.values_list("action", flat=True))
    assert mail.outbox and admin.email in mail.outbox[-1].to
    assert REASON not in mail.outbox[-1].body  # the mail says who and when; the reason stays in the record
    dashboard = login_as(admin).get("/").content.decode()
    assert "Cole Colleague" in dashboard and "opened Casey Client" in dashboard


@pytest.mark.parametrize("reason", ["", "help", "x" * 19, "   " + "y" * 10 + "   "])
def test_a_short_reason_is_refused(login_as, colleague, chart, reason):
    response = login_as(colleague).post(f"/records/charts/{chart.pk}/emergency/", {"reason": reason})
    assert response.status_code == 400
    assert not EmergencyAccess.objects.exists()


def test_it_expires(login_as, colleague, chart):
    client = login_as(colleague)
    client.post(f"/records/charts/{chart.pk}/emergency/", {"reason": REASON})
    EmergencyAccess.objects.update(expires_at=EmergencyAccess.objects.get().started_at)
    assert client.get(f"/records/charts/{chart.pk}/").status_code == 404


def test_it_never_reaches_psychotherapy_notes(login_as, therapist, colleague, chart):
    login_as(therapist).post(f"/records/charts/{chart.pk}/psychotherapy-notes/", {"body": "Only mine."})
    note = PsychotherapyNote.objects.using("psychotherapy").get()
    client = login_as(colleague)
    client.post(f"/records/charts/{chart.pk}/emergency/", {"reason": REASON})
    assert client.get(f"/records/psychotherapy-notes/{note.pk}/").status_code == 404
    assert client.get(f"/api/v1/records/charts/{chart.pk}/psychotherapy-notes/").json() == []
    assert b"Only mine." not in client.get(f"/records/charts/{chart.pk}/").content


def test_it_cannot_write(login_as, colleague, chart):
    client = login_as(colleague)
    client.post(f"/records/charts/{chart.pk}/emergency/", {"reason": REASON})
    response = client.post(
        f"/api/v1/records/charts/{chart.pk}/notes/",
        {"template": "soap", "sections": {"plan": "x"}},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_care_team_members_and_other_practices_cannot_use_it(login_as, therapist, stranger, chart):
    assert login_as(therapist).post(f"/records/charts/{chart.pk}/emergency/", {"reason": REASON}).status_code == 400
    assert login_as(stranger).post(f"/records/charts/{chart.pk}/emergency/", {"reason": REASON}).status_code in (
        403,
        404,
    )
    assert not EmergencyAccess.objects.exists()


def test_the_page_shows_what_the_api_shows_no_billing_under_emergency_access(login_as, therapist, colleague, chart):
    from records.selectors import Access
    from records.services import billing_create

    billing_create(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, service_date="2026-11-20", cpt_code="90837",
        diagnosis_codes=["F43.10"], fee="150", context=None,
    )  # fmt: skip
    client = login_as(colleague)
    client.post(f"/records/charts/{chart.pk}/emergency/", {"reason": REASON})
    assert client.get(f"/api/v1/records/charts/{chart.pk}/billing/").status_code in (403, 404)
    page = client.get(f"/records/charts/{chart.pk}/").content.decode()
    assert "F43.10" not in page and 'id="bill-h"' not in page
    # The care team sees it on both.
    assert "F43.10" in login_as(therapist).get(f"/records/charts/{chart.pk}/").content.decode()
    assert login_as(therapist).get(f"/api/v1/records/charts/{chart.pk}/billing/").status_code == 200
