"""Anomaly rules fire on crafted data; acknowledging is a new record and event, never an update."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import Action, AlertRules, AuditEvent, AuditFlag, AuditFlagAcknowledgement, FlagRule
from audit.services import audit_record
from oversight.anomalies import detect

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def at(moment: dt.datetime):
    """Write events as if at a given time (the clock is what the rules read)."""
    from unittest import mock

    return mock.patch("django.utils.timezone.now", return_value=moment)


@pytest.fixture
def noon(practice):
    practice.time_zone = "UTC"
    practice.save()
    return timezone.now().replace(hour=12, minute=10, second=0, microsecond=0) - dt.timedelta(days=1)


def test_one_person_opening_many_charts_in_an_hour(therapist, practice, noon, make_user):
    AlertRules.objects.create(practice=practice, charts_per_hour=3)
    with at(noon):
        for _ in range(4):
            audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=make_user("client").pk)
    flags = detect(now=noon + dt.timedelta(minutes=30))
    assert [(f.rule, f.actor_id) for f in flags] == [(FlagRule.MANY_CHARTS, therapist.pk)]
    assert "4 different charts" in flags[0].summary
    assert detect(now=noon + dt.timedelta(minutes=40)) == []  # one flag per finding


def test_three_charts_is_fine(therapist, practice, noon, make_user):
    AlertRules.objects.create(practice=practice, charts_per_hour=3)
    with at(noon):
        for _ in range(3):
            audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=make_user("client").pk)
    assert detect(now=noon + dt.timedelta(minutes=30)) == []


def test_emergency_access_is_flagged(colleague, noon, client_user):
    with at(noon):
        audit_record(action=Action.EMERGENCY_ACCESS, actor=colleague, subject_client_id=client_user.pk, flagged=True)
    assert [f.rule for f in detect(now=noon)] == [FlagRule.EMERGENCY_ACCESS]


def test_repeated_denials_are_flagged(colleague, practice, noon):
    AlertRules.objects.create(practice=practice, denied_per_hour=2)
    with at(noon):
        for _ in range(3):
            audit_record(action=Action.ACCESS_DENIED, actor=colleague, outcome="denied")
    assert [f.rule for f in detect(now=noon)] == [FlagRule.REPEATED_DENIALS]


def test_access_outside_practice_hours_is_flagged(therapist, practice, noon, client_user):
    night = noon.replace(hour=3)
    with at(night):
        audit_record(action=Action.NOTE_VIEW, actor=therapist, subject_client_id=client_user.pk)
    flags = detect(now=night + dt.timedelta(minutes=20))
    assert [f.rule for f in flags] == [FlagRule.OUTSIDE_HOURS] and "03:00" in flags[0].summary


@pytest.mark.django_db(transaction=True)
def test_a_verification_failure_is_flagged(therapist, admin):
    from tests.conftest import tamper_as_owner

    audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=1)
    tamper_as_owner("UPDATE audit_auditevent SET outcome = 'denied'")
    from oversight.tasks import audit_verify_all

    audit_verify_all()
    assert AuditFlag.objects.filter(rule=FlagRule.VERIFICATION_FAILED, practice_id=therapist.practice_id).exists()


def test_an_admin_acknowledges_with_a_note(login_as, admin, colleague, noon, client_user):
    with at(noon):
        audit_record(action=Action.EMERGENCY_ACCESS, actor=colleague, subject_client_id=client_user.pk, flagged=True)
    flag = detect(now=noon)[0]
    client = login_as(admin)
    page = client.get("/audit/alerts/").content.decode()
    assert "Used emergency access" in page and "Cole Colleague" in page
    assert client.post("/audit/alerts/", {"flag": flag.pk, "note": ""}).status_code == 302
    assert not AuditFlagAcknowledgement.objects.exists()
    client.post("/audit/alerts/", {"flag": flag.pk, "note": "Confirmed with Cole: crisis call, appropriate."})
    ack = AuditFlagAcknowledgement.objects.get()
    assert ack.admin_id == admin.pk and "crisis call" in ack.note
    assert AuditEvent.objects.filter(action=Action.AUDIT_FLAG_ACKNOWLEDGE, target_id=str(flag.pk)).exists()
    assert "Confirmed with Cole" in client.get("/audit/alerts/").content.decode()
    for statement in ("UPDATE audit_auditflag SET summary = 'x'", "DELETE FROM audit_auditflagacknowledgement"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_only_admins_see_the_queue(login_as, therapist, client_user):
    assert login_as(therapist).get("/audit/alerts/").status_code == 404
    assert login_as(client_user).get("/audit/alerts/").status_code == 404
