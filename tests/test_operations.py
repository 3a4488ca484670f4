"""Scheduled backups as a practice sees them: the retention policy, the watch for a backup that did
not happen, and the outcome of backups and drills on the admin's home page and the public fact
sheet. (The backups and drills themselves run against real databases in test_backup_restore.)"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from audit.models import Action, AuditFlag, FlagRule
from audit.services import audit_record
from operations import retention
from operations.models import OperationRun, Outcome, RunKind
from operations.runs import backups_watch
from teletherapy import celery_app

pytestmark = pytest.mark.embedded


def _held(*moments: datetime) -> list[retention.Held]:
    return [retention.Held(retention.name_for(m), m, retention.destination() / retention.name_for(m)) for m in moments]


def test_the_retention_policy_keeps_days_weeks_and_months_and_always_the_newest():
    start = datetime(2026, 1, 1, 3, tzinfo=UTC)
    daily = _held(*(start + timedelta(days=n) for n in range(400)))
    twice = _held(start + timedelta(days=399, hours=5))  # a hand-made one later on the last day
    kept = retention.to_keep(daily + twice, daily=7, weekly=4, monthly=6)
    newest = twice[0].name
    assert newest in kept
    days = sorted({b.made_at.date() for b in daily + twice if b.name in kept})
    # 7 days (the last day once: its newest), then Sundays of 4 weeks, then ends of 6 months.
    assert len([d for d in days if d >= (start + timedelta(days=393)).date()]) == 7
    assert len(kept) == len(days) <= 7 + 4 + 6
    assert min(days) >= (start + timedelta(days=399 - 31 * 6)).date()
    assert retention.to_keep([], daily=7, weekly=4, monthly=6) == set()
    # Nothing kept but the newest when every count is zero.
    assert retention.to_keep(daily, daily=0, weekly=0, monthly=0) == {daily[-1].name}


def test_pruning_removes_only_backups_of_ours_and_stale_half_written_ones(tmp_path, settings):
    settings.BACKUP_DIR = tmp_path
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY, settings.BACKUP_KEEP_MONTHLY = 2, 0, 0
    now = datetime(2026, 12, 6, 3, tzinfo=UTC)
    names = [retention.name_for(now - timedelta(days=n)) for n in range(4)]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text("{}")
    (tmp_path / "keep-me").mkdir()  # not ours
    (tmp_path / "backup-20261201T030000Z-notes").mkdir()  # not ours either
    stale = retention.partial(tmp_path / retention.name_for(now - timedelta(days=9)))
    fresh = retention.partial(tmp_path / retention.name_for(now))
    stale.mkdir()
    fresh.mkdir()
    os.utime(stale, (time.time() - 7 * 3600, time.time() - 7 * 3600))
    removed = retention.prune()
    assert sorted(removed) == sorted([names[2], names[3], stale.name])
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {names[0], names[1], "keep-me", "backup-20261201T030000Z-notes", fresh.name}
    assert [h.name for h in retention.held()] == names[:2]


def test_beat_runs_the_backup_its_drill_and_the_watch():
    celery_app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    tasks = {entry["task"] for entry in schedule.values()}
    assert {
        "operations.tasks.backup_make",
        "operations.tasks.backup_drill",
        "operations.tasks.backups_check_age",
    } <= tasks
    assert all(name in celery_app.tasks for name in tasks), tasks - set(celery_app.tasks)
    backup, drill = schedule["backup"]["schedule"], schedule["backup-drill"]["schedule"]
    assert backup.hour == {settings.BACKUP_HOUR} and drill.hour == {(settings.BACKUP_HOUR + 1) % 24}


def _run(kind: RunKind, outcome: Outcome, hours_ago: float, **values) -> OperationRun:
    at = timezone.now() - timedelta(hours=hours_ago)
    return OperationRun.objects.create(
        kind=kind, outcome=outcome, started_at=at, finished_at=at, name=retention.name_for(at), **values
    )


def test_a_missed_backup_alerts_every_practice_once_a_day(practice, other_practice, admin):
    audit_record(action=Action.LOGIN_SUCCESS, actor=admin, context=None)  # the server holds records
    assert backups_watch() is False  # in use for less than a day
    _run(RunKind.BACKUP, Outcome.OK, 30, documents=3)
    assert backups_watch() is True and backups_watch() is True
    flags = AuditFlag.objects.filter(rule=FlagRule.BACKUP_FAILED)
    assert sorted(flags.values_list("practice_id", flat=True)) == sorted([practice.pk, other_practice.pk])
    assert "longer than 26 hours: the last was 30 hours ago" in flags.first().summary
    _run(RunKind.BACKUP, Outcome.OK, 1)
    assert backups_watch() is False
    _run(RunKind.BACKUP, Outcome.FAILED, 0, problem="the destination is full")
    assert backups_watch() is False  # a failure alerts when it happens; the last good one is recent
    with pytest.raises(PermissionError):
        OperationRun.objects.first().save()


def test_the_admins_home_and_the_fact_sheet_say_how_backups_and_drills_went(
    client, practice, admin, therapist, login_as
):
    home = login_as(admin).get("/").content.decode()
    assert "No scheduled backup has succeeded yet" in home and "No restore drill has run yet" in home
    assert "overdue" in home
    page = client.get(f"/privacy/{practice.slug}/").content.decode()
    assert "No backup has been restored in a drill on this server yet" in page

    _run(RunKind.BACKUP, Outcome.OK, 2, documents=12)
    _run(RunKind.DRILL, Outcome.OK, 1, documents=12, seconds=42)
    home = login_as(admin).get("/").content.decode()
    assert "12 documents" in home and "restored and checked in 42 s" in home and "overdue" not in home
    page = client.get(f"/privacy/{practice.slug}/").content.decode()
    assert "The last successful drill was on" in page and "every document opened" in page

    _run(RunKind.DRILL, Outcome.FAILED, 0, problem="documents.sealed does not match its SHA-256 digest")
    home = login_as(admin).get("/").content.decode()
    assert "failed</strong>: documents.sealed does not match" in home
    page = client.get(f"/privacy/{practice.slug}/").content.decode()
    assert "the latest drill failed" in page and "The last successful drill was on" in page
    # The backups block is the admin's: a therapist's home does not show it.
    assert 'id="backups-standing"' not in login_as(therapist).get("/").content.decode()
