"""Audit events read as sentences, for admins: who did what to whose record, how it ended."""

from __future__ import annotations

import pytest

from audit.models import Action, AuditEvent, Outcome
from audit.services import audit_record
from oversight.console import people_of
from oversight.sentences import sentence
from teletherapy.context import AuditContext

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def said(admin, **event) -> str:
    audit_record(**event)
    return sentence(AuditEvent.objects.order_by("-id").first(), people_of(admin=admin))


def test_events_read_as_sentences(admin, therapist, client_user, chart):
    opened = said(
        admin,
        action=Action.CHART_VIEW,
        actor=therapist,
        target=chart,
        subject_client_id=client_user.pk,
        details={"access": "care_team", "sections": ["summary", "billing"]},
    )
    assert opened == "Theo Therapist opened Casey Client's chart (summary, billing)."
    asked = said(
        admin, action=Action.ASSESSMENT_ASSIGN, actor=therapist, target=chart, subject_client_id=client_user.pk
    )
    assert asked == "Theo Therapist asked Casey Client to fill in a questionnaire."
    refused = said(
        admin,
        action=Action.ACCESS_DENIED,
        actor=therapist,
        target=chart,
        subject_client_id=client_user.pk,
        outcome=Outcome.DENIED,
    )
    assert refused == "Theo Therapist was refused access to Casey Client's record (refused)."
    emergency = said(
        admin,
        action=Action.CHART_VIEW,
        actor=therapist,
        target=chart,
        subject_client_id=client_user.pk,
        flagged=True,
        details={"access": "emergency"},
    )
    assert emergency.endswith("opened Casey Client's chart, under emergency access.")
    # About a member, not a record.
    role = said(admin, action=Action.ROLE_CHANGE, actor=admin, target=therapist, details={"role": "admin"})
    assert role == "Ada Admin changed a role: Theo Therapist."
    browser = AuditContext(request_id="r1", channel="web", address="203.0.113.9", user_agent="Mozilla/5.0")
    anonymous = said(
        admin, action=Action.LOGIN_FAILURE, practice_id=admin.practice_id, outcome=Outcome.DENIED, context=browser
    )
    assert anonymous.startswith("Someone not signed in ") and anonymous.endswith("(refused).")
    # What the platform does itself (a scheduled check, the demo's set-up) is not a stranger's act.
    platform = said(admin, action=Action.BACKUP_MADE, practice_id=admin.practice_id)
    assert platform.startswith("The platform ") and "not signed in" not in platform
