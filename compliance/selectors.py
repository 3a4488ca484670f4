"""The doors of the practice's own records (vendors, training, the risk analysis, incidents): who
may come in, and the one record asked for, or NotVisible, in one place; and the reads of what needs
the admins' attention."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.utils import timezone

from accounts.models import Role, User
from compliance.incident_rules import TARGET, incident_state
from compliance.models import EntryKind, Incident
from teletherapy.errors import NotAllowed, NotVisible

M = TypeVar("M", bound=Model)


def admin_only(user: Any, target_type: str) -> None:
    """Only the practice's admins may know these records exist."""
    if not user.has_role(Role.ADMIN):
        raise NotVisible(target_type, "")


def found_in(records: QuerySet[M], object_id: object, target_type: str) -> M:
    """The record of ``records`` (already narrowed to what the asker may reach) with this id."""
    try:
        key = uuid.UUID(str(object_id))
    except ValueError:
        raise NotVisible(target_type, object_id) from None
    found = records.filter(pk=key).first()
    if found is None:
        raise NotVisible(target_type, object_id)
    return found


# Incidents: the door, and what needs attention ---------------------------------------------------


def incidents_visible_to(user: User) -> QuerySet[Incident]:
    """Admins see every incident of their practice; anyone else only what they reported."""
    records = Incident.objects.filter(practice_id=user.practice_id)
    return records if user.has_role(Role.ADMIN) else records.filter(reporter_id=user.pk)


def incident_get_for_user(*, user: User, incident_id: object) -> Incident:
    return found_in(incidents_visible_to(user), incident_id, TARGET)


def incident_get_for_admin(*, user: User, incident_id: object) -> Incident:
    """An incident an admin works on. Its reporter (not an admin) may see it, but not work on it."""
    found = incident_get_for_user(user=user, incident_id=incident_id)
    if not user.has_role(Role.ADMIN):
        raise NotAllowed("Only the practice's admins work on an incident.", target_type=TARGET, target_id=found.pk)
    return found


@dataclass(frozen=True)
class Attention:
    incident: Incident
    why: str
    due: dt.date | None = None


def incidents_needing_attention(practice_id: int, today: dt.date | None = None) -> list[Attention]:
    """Open incidents with something to do: not yet triaged, or a notice deadline within two
    weeks or past (for the admins' home page and the safeguards)."""
    today = today or timezone.localdate()
    found = []
    for incident in Incident.objects.filter(practice_id=practice_id).order_by("number"):
        state = incident_state(incident)
        if state.status == "closed":
            continue
        if state.triage is None:
            found.append(Attention(incident, "to triage"))
            continue
        for deadline in state.deadlines():
            if not deadline.done_on and deadline.days_left(today) <= 14:
                found.append(Attention(incident, deadline.label.lower(), deadline.due))
                break
    return found


def breaches_notified_since(practice_id: int, since: dt.datetime) -> int:
    """Breaches of the practice whose notices went out since then (for the privacy fact sheet)."""
    return (
        Incident.objects.filter(
            practice_id=practice_id,
            entries__kind=EntryKind.NOTICE,
            entries__data__audience="individual",
            entries__at__gte=since,
        )
        .distinct()
        .count()
    )
