"""The sessions a progress note can document.

Records sit below sessions, so the sessions app registers where sessions come from
(``sessions.apps``); a note keeps the session's id, not a foreign key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from teletherapy.hooks import documented_sessions


@dataclass(frozen=True)
class DocumentedSession:
    id: uuid.UUID
    starts_at: datetime
    minutes: int
    kind: str

    @property
    def service_date(self) -> date:
        return timezone.localdate(self.starts_at)

    def __str__(self) -> str:
        local = timezone.localtime(self.starts_at)
        return f"{self.kind} session, {local:%a %d %b %Y, %H:%M} ({self.minutes} min)"


def sessions_to_document(*, client: Any, therapist: Any) -> list[DocumentedSession]:
    found: list[DocumentedSession] = []
    for source in documented_sessions:
        found.extend(source(client=client, therapist=therapist))
    return sorted(found, key=lambda s: s.starts_at, reverse=True)


def session_documented(*, client: Any, therapist: Any, session_id: object) -> DocumentedSession | None:
    """The session with this id, if it is one this therapist held with this client."""
    try:
        wanted = uuid.UUID(str(session_id))
    except ValueError:
        return None
    for source in documented_sessions:
        for session in source(client=client, therapist=therapist, session_id=wanted):
            return session
    return None
