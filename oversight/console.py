"""Reads behind the admin review console: filtered, keyset-paginated, practice-scoped."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from audit.models import Action, AuditEvent, Outcome

PAGE_SIZE = 50
# Psychotherapy notes are their author's alone: the admin sees that something restricted happened,
# never what, nor which note.
RESTRICTED_ACTIONS = frozenset({Action.PSYCHOTHERAPY_NOTE_VIEW.value, Action.PSYCHOTHERAPY_NOTE_WRITE.value})
RESTRICTED_TARGETS = frozenset({"records.psychotherapynote"})
RESTRICTED = "restricted"


def is_restricted(event: AuditEvent) -> bool:
    return event.action in RESTRICTED_ACTIONS or event.target_type in RESTRICTED_TARGETS


def shown(event: AuditEvent) -> AuditEvent:
    """The event as an admin may see it (in memory only; the stored row never changes)."""
    if is_restricted(event):
        event.action = RESTRICTED
        event.target_type = RESTRICTED
        event.target_id = ""
        event.details = {}
    return event


def action_choices() -> list[tuple[str, str]]:
    return [(value, label) for value, label in Action.choices if value not in RESTRICTED_ACTIONS]


@dataclass
class Filters:
    actor: int | None = None
    client: int | None = None
    action: str = ""
    outcome: str = ""
    flagged: bool = False
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    errors: dict[str, str] | None = None

    def as_query(self) -> dict[str, str]:
        query = {
            "actor": str(self.actor or ""),
            "client": str(self.client or ""),
            "action": self.action,
            "outcome": self.outcome,
            "flagged": "1" if self.flagged else "",
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in query.items() if v}


def _int(raw: str | None, name: str, errors: dict[str, str]) -> int | None:
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        errors[name] = "Choose from the list."
        return None
    return int(raw)


def _date(raw: str | None, name: str, errors: dict[str, str]) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Use the format YYYY-MM-DD."
        return None


def parse_filters(params: Any) -> Filters:
    errors: dict[str, str] = {}
    action = params.get("action", "")
    if action and (action not in Action.values or action in RESTRICTED_ACTIONS):
        errors["action"] = "Unknown action."
        action = ""
    outcome = params.get("outcome", "")
    if outcome and outcome not in Outcome.values:
        errors["outcome"] = "Unknown outcome."
        outcome = ""
    filters = Filters(
        actor=_int(params.get("actor"), "actor", errors),
        client=_int(params.get("client"), "client", errors),
        action=action,
        outcome=outcome,
        flagged=params.get("flagged") == "1",
        date_from=_date(params.get("from"), "from", errors),
        date_to=_date(params.get("to"), "to", errors),
    )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        errors["to"] = "The end comes before the start."
    filters.errors = errors
    return filters


def events_for_admin(*, admin: User, filters: Filters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(practice_id=admin.practice_id)
    if filters.actor:
        events = events.filter(actor_id=filters.actor)
    if filters.client:
        events = events.filter(subject_client_id=filters.client)
    if filters.action:
        events = events.filter(action=filters.action)
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    if filters.flagged:
        events = events.filter(flagged=True)
    zone = zoneinfo.ZoneInfo(admin.practice.time_zone)
    if filters.date_from:
        events = events.filter(occurred_at__gte=dt.datetime.combine(filters.date_from, dt.time.min, zone))
    if filters.date_to:
        events = events.filter(
            occurred_at__lt=dt.datetime.combine(filters.date_to + dt.timedelta(days=1), dt.time.min, zone)
        )
    return events.order_by("-id")


def page_of(events: QuerySet[AuditEvent], *, before: int | None) -> tuple[list[AuditEvent], int | None]:
    """Keyset pagination on the primary key: as fast on page 10,000 as on page 1."""
    if before is not None:
        events = events.filter(id__lt=before)
    rows = [shown(event) for event in events[: PAGE_SIZE + 1]]
    more = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    return rows[:PAGE_SIZE], more


def people_of(*, admin: User) -> dict[int, User]:
    return {u.pk: u for u in User.objects.filter(practice_id=admin.practice_id)}
