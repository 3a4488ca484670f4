"""Asking a practice's clients to consent again because a statement of its fact sheet changed:
the privacy notice is republished with the change (the consent app's own re-consent flow), and
that it was asked is kept beside the change."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from compliance.models import FactChange, FactChangeReconsent
from compliance.services.factsheet import day_written
from consent.models import ConsentDocument, ConsentKind, VersionStatus
from consent.services import consent_draft_create, consent_draft_update, consent_publish
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, NotVisible, ServiceError


def fact_change_reconsent(
    *, actor: Any, change_id: object, site: str, context: AuditContext | None
) -> FactChangeReconsent:
    """Republish the practice's privacy notice with this change, requiring clients to consent
    again (the consent app's own re-consent flow), and keep that it was asked."""

    if not actor.has_role("admin"):
        raise NotVisible("review.factchange", change_id)
    change = FactChange.objects.filter(practice_id=actor.practice_id, pk=_int(change_id)).first()
    if change is None:
        raise NotVisible("review.factchange", change_id)
    if FactChangeReconsent.objects.filter(change=change).exists():
        raise Conflict("Clients were already asked to consent again for this change.")
    document = ConsentDocument.objects.filter(practice_id=actor.practice_id, kind=ConsentKind.PRIVACY).first()
    if document is None:
        raise ServiceError("The practice has no privacy notice to republish.", field="document")
    if document.versions.filter(status=VersionStatus.DRAFT).exists():
        raise Conflict("The privacy notice has a draft in progress: publish or finish it first.")
    with transaction.atomic():
        draft = consent_draft_create(actor=actor, document=document, context=context)
        sheet = f"{site}/privacy/{actor.practice.slug}/"
        paragraph = (
            f"\n\nChanged on {day_written(change.changed_at)}: {change.label}. It is now: {change.value}."
            + (f" It was: {change.previous}." if change.previous else "")
            + f" The privacy and security facts, worked out from the platform itself: {sheet}"
        )
        draft = consent_draft_update(actor=actor, version=draft, body=draft.body + paragraph, context=context)
        published = consent_publish(actor=actor, version=draft, requires_reconsent=True, context=context)
        return FactChangeReconsent.objects.create(
            change=change,
            version_id=published.pk,
            version_number=published.number,
            admin_id=actor.pk,
            asked_at=timezone.now(),
        )


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
