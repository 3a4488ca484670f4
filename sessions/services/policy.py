"""The practice's session policy (join window, lifetimes, what a call allows) and each therapist's
licences by state; each change audited.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from records.services.fees import fee_amount
from sessions.models import (
    SessionPolicy,
    TherapistLicense,
)
from sessions.regions import REGION_NAMES
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError


def policy_update(*, actor: User, context: AuditContext | None, **changes: object) -> SessionPolicy:
    if not actor.has_role(Role.ADMIN):
        raise NotAllowed(
            "Only a practice admin changes the session settings.",
            target_type="video.sessionpolicy",
            target_id=actor.practice_id,
        )
    before = int(changes.get("join_before_minutes", 15))  # type: ignore[call-overload]
    after = int(changes.get("join_after_minutes", 30))  # type: ignore[call-overload]
    if not 0 <= before <= 120:
        raise ServiceError("Joining can open at most 120 minutes early.", field="join_before_minutes")
    if not 0 <= after <= 240:
        raise ServiceError("Joining can stay open at most 240 minutes after the end.", field="join_after_minutes")
    hours = int(changes.get("reminder_hours", 24))  # type: ignore[call-overload]
    if not 1 <= hours <= 168:
        raise ServiceError("Send reminders between 1 and 168 hours ahead.", field="reminder_hours")
    last = int(changes.get("last_reminder_hours", 0))  # type: ignore[call-overload]
    if not 0 <= last < hours:
        raise ServiceError(
            "The second reminder goes closer to the session than the first (0 for none).", field="last_reminder_hours"
        )
    current = SessionPolicy.objects.filter(practice_id=actor.practice_id).first()
    late = int(changes.get("late_cancel_hours", current.late_cancel_hours if current else 24))  # type: ignore[call-overload]
    if not 0 <= late <= 168:
        raise ServiceError("Clients may change a session online until 0 to 168 hours before it.",
                           field="late_cancel_hours")  # fmt: skip
    with transaction.atomic():
        policy, _ = SessionPolicy.objects.select_for_update().get_or_create(practice_id=actor.practice_id)
        policy.join_before_minutes = before
        policy.join_after_minutes = after
        policy.reminder_hours = hours
        policy.last_reminder_hours = last
        policy.relay_only = bool(changes.get("relay_only", False))
        policy.block_unlicensed_location = bool(changes.get("block_unlicensed_location", False))
        policy.late_cancel_hours = late
        policy.first_session_requests = bool(changes.get("first_session_requests", policy.first_session_requests))
        modifier = str(changes.get("audio_only_modifier") or policy.audio_only_modifier)
        if modifier not in ("93", "FQ"):
            raise ServiceError("Choose 93 or FQ.", field="audio_only_modifier")
        policy.audio_only_modifier = modifier
        for fee in ("no_show_fee", "late_cancel_fee"):
            if changes.get(fee) not in (None, ""):
                setattr(policy, fee, fee_amount(changes[fee], fee))
        policy.save()
        audit_record(
            action=Action.SESSION_POLICY_CHANGE,
            actor=actor,
            context=context,
            target=policy,
            details={
                "join_before_minutes": before,
                "join_after_minutes": after,
                "relay_only": policy.relay_only,
                "block_unlicensed_location": policy.block_unlicensed_location,
                "reminder_hours": hours,
                "last_reminder_hours": last,
                "late_cancel_hours": late,
                "first_session_requests": policy.first_session_requests,
                "audio_only_modifier": policy.audio_only_modifier,
                "no_show_fee": str(policy.no_show_fee),
                "late_cancel_fee": str(policy.late_cancel_fee),
            },
        )
    return policy


def licenses_set(*, therapist: User, regions: Iterable[str], context: AuditContext | None) -> list[str]:
    if not therapist.has_role(Role.THERAPIST):
        raise NotAllowed("Only therapists hold licenses here.", target_type="accounts.user", target_id=therapist.pk)
    wanted = sorted(set(regions))
    unknown = [r for r in wanted if r not in REGION_NAMES or r == "OUTSIDE-US"]
    if unknown:
        raise ServiceError("Choose states from the list.", field="regions")
    with transaction.atomic():
        TherapistLicense.objects.filter(therapist=therapist).exclude(region__in=wanted).delete()
        have = set(TherapistLicense.objects.filter(therapist=therapist).values_list("region", flat=True))
        TherapistLicense.objects.bulk_create(
            [TherapistLicense(therapist=therapist, region=r) for r in wanted if r not in have]
        )
        audit_record(
            action=Action.LICENSES_CHANGE,
            actor=therapist,
            context=context,
            target=therapist,
            details={"regions": wanted},
        )
    return wanted


def licensed_in(therapist_id: int, region: str) -> bool:
    return TherapistLicense.objects.filter(therapist_id=therapist_id, region=region).exists()
