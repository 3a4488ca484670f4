"""Workforce training: versioned modules, staff attestations (append-only, audited), a yearly due
date, a grace period for new staff, and the practice's choice to warn or to keep staff who have
not attested out of clinical records (a gate the records doors ask, teletherapy/gates.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from compliance.inputs import clean_text
from compliance.models import TrainingAttestation, TrainingEnforcement, TrainingModule, TrainingPolicy, TrainingVersion
from compliance.selectors import admin_only, found_in
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, NotVisible, ServiceError

VALID_FOR = dt.timedelta(days=365)
MAX_BODY_CHARS = 50_000


@dataclass(frozen=True)
class Standing:
    module: TrainingModule
    version: TrainingVersion
    attested: TrainingAttestation | None
    due: dt.datetime
    state: str  # "done", "due", "overdue"


def policy_of(practice_id: int) -> TrainingPolicy:
    """The practice's policy, or the default one (not stored until an admin saves it: reading it
    writes nothing)."""
    return TrainingPolicy.objects.filter(practice_id=practice_id).first() or TrainingPolicy(practice_id=practice_id)


def is_staff(user: User) -> bool:
    return user.has_role(Role.THERAPIST, Role.ADMIN)


def _admin(user: User) -> None:
    admin_only(user, "review.trainingmodule")


def _text(value: object, *, field: str, limit: int) -> str:
    return clean_text(value, field=field, limit=limit, required=True)


def module_create(*, actor: User, title: object, body: object, context: AuditContext | None) -> TrainingVersion:
    """A new module, its first version as a draft."""
    _admin(actor)
    title = _text(title, field="title", limit=200)
    body = _text(body, field="body", limit=MAX_BODY_CHARS)
    with transaction.atomic():
        module = TrainingModule.objects.create(practice_id=actor.practice_id, title=title)
        return TrainingVersion.objects.create(
            module=module, number=1, body=body, body_sha256=hashlib.sha256(body.encode()).hexdigest()
        )


def module_get_for_admin(*, user: User, module_id: object) -> TrainingModule:
    _admin(user)
    return found_in(TrainingModule.objects.filter(practice_id=user.practice_id), module_id, "review.trainingmodule")


def draft_save(*, actor: User, module: TrainingModule, body: object, context: AuditContext | None) -> TrainingVersion:
    """Edit the draft, or start one from the current text."""
    _admin(actor)
    body = _text(body, field="body", limit=MAX_BODY_CHARS)
    with transaction.atomic():
        draft = module.versions.select_for_update().filter(status="draft").first()
        if draft is None:
            latest = module.versions.order_by("-number").first()
            draft = TrainingVersion(module=module, number=(latest.number + 1) if latest else 1)
        draft.body = body
        draft.body_sha256 = hashlib.sha256(body.encode()).hexdigest()
        draft.save()
    return draft


def draft_publish(*, actor: User, module: TrainingModule, context: AuditContext | None) -> TrainingVersion:
    """The draft becomes the version every staff member attests to (within the grace period)."""
    _admin(actor)
    with transaction.atomic():
        draft = module.versions.select_for_update().filter(status="draft").first()
        if draft is None:
            raise Conflict("There is no draft to publish.")
        module.versions.filter(status="published").update(status="superseded")
        draft.status = "published"
        draft.published_at = timezone.now()
        draft.published_by_id = actor.pk
        draft.save(update_fields=["status", "published_at", "published_by_id"])
        audit_record(
            action=Action.TRAINING_PUBLISH,
            actor=actor,
            context=context,
            target=draft,
            details={"module": module.title, "number": draft.number, "sha256": draft.body_sha256},
        )
    return draft


def current_versions(practice_id: int) -> QuerySet[TrainingVersion]:
    return TrainingVersion.objects.filter(module__practice_id=practice_id, status="published").select_related("module")


def version_get_for_staff(*, user: User, version_id: object) -> TrainingVersion:
    if not is_staff(user):
        raise NotVisible("review.trainingversion", version_id)
    return found_in(current_versions(user.practice_id), version_id, "review.trainingversion")


def attest(
    *, actor: User, version: TrainingVersion, typed_name: object, context: AuditContext | None
) -> TrainingAttestation:
    if not is_staff(actor) or version.module.practice_id != actor.practice_id or version.status != "published":
        raise NotVisible("review.trainingversion", version.pk)
    name = _text(typed_name, field="typed_name", limit=150)
    if name.casefold() != actor.full_name.strip().casefold():
        raise ServiceError("Type your full name as it appears on your account.", field="typed_name")
    with transaction.atomic():
        attestation = TrainingAttestation.objects.create(
            version=version,
            user_id=actor.pk,
            practice_id=actor.practice_id,
            typed_name=name,
            attested_at=timezone.now(),
        )
        audit_record(
            action=Action.TRAINING_ATTEST,
            actor=actor,
            context=context,
            target=version,
            details={"module": version.module.title, "number": version.number},
        )
    return attestation


def standing_of(user: User, now: dt.datetime | None = None) -> list[Standing]:
    """Each current module and where this staff member stands with it."""
    if not is_staff(user):
        return []
    now = now or timezone.now()
    grace = dt.timedelta(days=policy_of(user.practice_id).grace_days)
    joined = user.date_joined
    found = []
    for version in current_versions(user.practice_id).order_by("module__title"):
        attested = TrainingAttestation.objects.filter(version=version, user_id=user.pk).order_by("-attested_at").first()
        assert version.published_at is not None
        # Once attested, due again a year later; else within the grace period of joining or of
        # the version's publication, whichever is later.
        start = attested.attested_at if attested is not None else max(joined, version.published_at)
        due = start + (VALID_FOR if attested is not None else grace)
        state = "done" if attested is not None and now < due else "overdue" if now >= due else "due"
        found.append(Standing(version.module, version, attested, due, state))
    return found


def training_refusal(user: User) -> str | None:
    """The gate before clinical data: with the practice set to block, overdue training keeps a
    staff member out until they attest."""
    if not is_staff(user) or policy_of(user.practice_id).enforcement != TrainingEnforcement.BLOCK:
        return None
    overdue = [s.module.title for s in standing_of(user) if s.state == "overdue"]
    if not overdue:
        return None
    modules = ", ".join(overdue)
    return (
        f"Complete your required training first ({modules}): the practice keeps clinical records closed until you do."
    )


def staff_overdue(practice_id: int) -> list[tuple[User, list[str]]]:
    staff = User.objects.filter(
        practice_id=practice_id, is_active=True, role_grants__role__in=[Role.THERAPIST, Role.ADMIN]
    ).distinct()
    found = []
    for member in staff.order_by("full_name"):
        late = [s.module.title for s in standing_of(member) if s.state == "overdue"]
        if late:
            found.append((member, late))
    return found
