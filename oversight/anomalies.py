"""Anomaly rules over the audit log. Each finding becomes one flag (deduplicated by rule, person
and clock hour) in the admins' queue."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Min
from django.utils import timezone

from accounts.models import Practice
from audit.models import Action, AlertRules, AuditEvent, AuditFlag, FlagRule, Outcome, practice_of_chain
from compliance.services.incidents import incident_from_flag

RECORD_READS = [
    Action.CHART_VIEW, Action.NOTE_VIEW, Action.NOTE_LIST, Action.ASSESSMENT_VIEW, Action.BILLING_VIEW,
    Action.RECORD_EXPORT,
]  # fmt: skip


def rules_for(practice_id: int) -> AlertRules:
    rules = AlertRules.objects.filter(practice_id=practice_id).first()
    return rules or AlertRules(practice_id=practice_id)


def _flag(
    *, practice_id: int | None, rule: str, key: str, actor_id: int | None, summary: str, first_event_id: int | None
) -> AuditFlag | None:
    try:
        with transaction.atomic():
            flag = AuditFlag.objects.create(
                practice_id=practice_id,
                rule=rule,
                key=key[:128],
                actor_id=actor_id,
                summary=summary[:300],
                first_event_id=first_event_id,
                created_at=timezone.now(),
            )
    except IntegrityError:
        return None  # already flagged
    incident_from_flag(flag)
    return flag


def detect(*, now: datetime | None = None, hours: int = 2) -> list[AuditFlag]:
    """Look at the last few whole hours of every practice and flag what the rules find."""
    now = now or timezone.now()
    start = (now - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    made: list[AuditFlag | None] = []
    for practice in Practice.objects.all():
        rules = rules_for(practice.pk)
        events = AuditEvent.objects.filter(practice_id=practice.pk, occurred_at__gte=start, actor_id__isnull=False)
        hour = start
        while hour <= now:
            window = events.filter(occurred_at__gte=hour, occurred_at__lt=hour + timedelta(hours=1))
            stamp = hour.strftime("%Y%m%d%H")
            busy = (
                window.filter(action__in=RECORD_READS, subject_client_id__isnull=False)
                .values("actor_id")
                .annotate(charts=Count("subject_client_id", distinct=True), first=Min("id"))
                .filter(charts__gt=rules.charts_per_hour)
            )
            for busy_row in busy:
                made.append(
                    _flag(
                        practice_id=practice.pk,
                        rule=FlagRule.MANY_CHARTS,
                        key=f"many:{busy_row['actor_id']}:{stamp}",
                        actor_id=busy_row["actor_id"],
                        first_event_id=busy_row["first"],
                        summary=(
                            f"Opened {busy_row['charts']} different charts in one hour (limit {rules.charts_per_hour})."
                        ),
                    )
                )
            refused = (
                window.filter(outcome=Outcome.DENIED)
                .values("actor_id")
                .annotate(n=Count("id"), first=Min("id"))
                .filter(n__gt=rules.denied_per_hour)
            )
            for refused_row in refused:
                made.append(
                    _flag(
                        practice_id=practice.pk,
                        rule=FlagRule.REPEATED_DENIALS,
                        key=f"denied:{refused_row['actor_id']}:{stamp}",
                        actor_id=refused_row["actor_id"],
                        first_event_id=refused_row["first"],
                        summary=f"Was refused {refused_row['n']} times in one hour (limit {rules.denied_per_hour}).",
                    )
                )
            local = hour.astimezone(zoneinfo.ZoneInfo(practice.time_zone))
            if not rules.day_starts <= local.hour < rules.day_ends:
                after_hours = (
                    window.filter(action__in=RECORD_READS, subject_client_id__isnull=False)
                    .values("actor_id")
                    .annotate(n=Count("id"), first=Min("id"))
                )
                for late_row in after_hours:
                    made.append(
                        _flag(
                            practice_id=practice.pk,
                            rule=FlagRule.OUTSIDE_HOURS,
                            key=f"hours:{late_row['actor_id']}:{stamp}",
                            actor_id=late_row["actor_id"],
                            first_event_id=late_row["first"],
                            summary=(
                                f"Opened records {late_row['n']} times at {local:%H}:00 local time, "
                                "outside practice hours."
                            ),
                        )
                    )
            hour += timedelta(hours=1)
        for event in events.filter(action=Action.EMERGENCY_ACCESS):
            made.append(
                _flag(
                    practice_id=practice.pk,
                    rule=FlagRule.EMERGENCY_ACCESS,
                    key=f"emergency:{event.pk}",
                    actor_id=event.actor_id,
                    first_event_id=event.pk,
                    summary="Used emergency access to a chart outside their care team.",
                )
            )
    return [flag for flag in made if flag is not None]


def flag_verification_failure(*, chain: int, detail: str) -> AuditFlag | None:
    return _flag(
        practice_id=practice_of_chain(chain),
        rule=FlagRule.VERIFICATION_FAILED,
        key=f"verify:{chain}:{timezone.now():%Y%m%d%H}",
        actor_id=None,
        first_event_id=None,
        summary=f"The audit log failed verification: {detail}",
    )
