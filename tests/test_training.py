"""Workforce training: admins write and publish modules, staff attest (append-only, audited), a
yearly due date and a grace period, and a practice that blocks keeps overdue staff out of
clinical records until they attest."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import Action, AuditEvent
from compliance.models import TrainingAttestation, TrainingPolicy, TrainingVersion
from compliance.services.training import standing_of

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def published(login_as, admin):
    staff = login_as(admin)
    response = staff.post("/practice/training/", {"title": "Privacy basics", "body": "Lock your screen.\n\nNo cafés."})
    assert response.status_code == 302
    module_url = response["Location"]
    assert staff.post(module_url, {"publish": "1"}).status_code == 302
    return TrainingVersion.objects.get(status="published")


def age(*, user=None, version=None, days: int) -> None:
    """Move a join date or a publication into the past."""
    then = timezone.now() - dt.timedelta(days=days)
    if user is not None:
        type(user).objects.filter(pk=user.pk).update(date_joined=then)
        user.refresh_from_db()
    if version is not None:
        TrainingVersion.objects.filter(pk=version.pk).update(published_at=then)


def test_staff_attest_to_a_published_module(login_as, therapist, published):
    [standing] = standing_of(therapist)
    assert standing.state == "due" and (standing.due - timezone.now()).days in (29, 30)
    client = login_as(therapist)
    assert "Privacy basics" in client.get("/training/").content.decode()
    url = f"/training/{published.pk}/"
    wrong = client.post(url, {"typed_name": "Someone Else"})
    assert wrong.status_code == 400 and "Type your full name" in wrong.content.decode()
    assert client.post(url, {"typed_name": therapist.full_name.upper()}).status_code == 302
    [standing] = standing_of(therapist)
    assert standing.state == "done" and (standing.due - timezone.now()).days in (364, 365)
    assert AuditEvent.objects.filter(action=Action.TRAINING_ATTEST, actor_id=therapist.pk).count() == 1
    assert AuditEvent.objects.filter(action=Action.TRAINING_PUBLISH).count() == 1
    for statement in (
        "UPDATE review_trainingattestation SET typed_name = 'x'",
        "DELETE FROM review_trainingattestation",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_due_dates_grace_a_year_and_a_new_version(login_as, admin, therapist, published):
    age(user=therapist, days=40)
    age(version=published, days=40)
    assert [s.state for s in standing_of(therapist)] == ["overdue"]  # the 30-day grace is over
    TrainingAttestation.objects.create(
        version=published, user_id=therapist.pk, practice_id=therapist.practice_id, typed_name="T",
        attested_at=timezone.now() - dt.timedelta(days=366),
    )  # fmt: skip
    assert [s.state for s in standing_of(therapist)] == ["overdue"]  # a year has passed
    login_as(therapist).post(f"/training/{published.pk}/", {"typed_name": therapist.full_name})
    assert [s.state for s in standing_of(therapist)] == ["done"]
    module = published.module
    staff = login_as(admin)
    staff.post(f"/practice/training/{module.pk}/", {"title": module.title, "body": "Lock your screen, always."})
    staff.post(f"/practice/training/{module.pk}/", {"publish": "1"})
    [standing] = standing_of(therapist)
    assert standing.version.number == 2 and standing.state == "due"  # the new version, within its grace


def test_a_practice_that_blocks_keeps_overdue_staff_out_of_clinical_records(
    login_as, admin, therapist, chart, published
):
    TrainingPolicy.objects.update_or_create(practice_id=therapist.practice_id, defaults={"enforcement": "block"})
    client = login_as(therapist)
    notes = f"/api/v1/records/charts/{chart.pk}/notes/"
    assert client.get(notes).status_code == 200  # within the grace period
    age(user=therapist, days=40)
    age(version=published, days=40)
    refused = client.get(notes)
    assert refused.status_code == 403 and refused.json()["code"] == "training_required"
    assert "Privacy basics" in refused.json()["detail"]
    page = client.get(f"/records/charts/{chart.pk}/").content.decode()
    assert 'id="held-back"' in page and "Complete your required training first" in page
    assert 'id="notes-h"' not in page  # the summary only
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=therapist.pk).exists()
    home = login_as(admin).get("/").content.decode()
    assert "overdue with training" in home
    client.post(f"/training/{published.pk}/", {"typed_name": therapist.full_name})
    assert client.get(notes).status_code == 200


def test_a_practice_that_warns_does_not_block(login_as, therapist, chart, published):
    age(user=therapist, days=40)
    age(version=published, days=40)
    client = login_as(therapist)
    assert client.get(f"/api/v1/records/charts/{chart.pk}/notes/").status_code == 200
    assert "Training to attest" in client.get("/").content.decode()


def test_clients_and_other_practices_have_no_training_here(login_as, client_user, stranger, published):
    assert login_as(client_user).get("/training/").status_code == 404
    assert login_as(client_user).get(f"/training/{published.pk}/").status_code == 404
    assert login_as(stranger).get(f"/training/{published.pk}/").status_code == 404
    assert login_as(stranger).get(f"/practice/training/{published.module_id}/").status_code == 404


def test_the_api_shows_standing_and_takes_an_attestation(login_as, therapist, published):
    client = login_as(therapist)
    [item] = client.get("/api/v1/training/").json()
    assert item["state"] == "due" and item["module"] == "Privacy basics"
    made = client.post(
        f"/api/v1/training/{published.pk}/attest/", {"typed_name": therapist.full_name}, content_type="application/json"
    )
    assert made.status_code == 201
    assert client.get("/api/v1/training/").json()[0]["state"] == "done"
