"""The reads of a client's record shared by the pages and the API: the chart door that raises,
and the one audit event a read implies (who, which client, how they reach the chart, flagged
under emergency access). Pages and API are format adapters over these."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.models import Action
from audit.services import audit_record, audited
from consent.selectors import consent_missing_for_clients, next_session_start
from records.copy import sections
from records.models import ClientChart, ExportStatus, NoteAddendum, ProgressNote, RecordExport
from records.selectors import Access, addenda_visible, chart_reaches, export_get_for_user, notes_visible
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict
from teletherapy.when import when


@dataclass(frozen=True)
class ChartHeader:
    """Who this is, at a glance, above everything else on the chart: what anyone who may open the
    chart's summary may see (no clinical content)."""

    age: int | None
    minor: bool
    care_team: list[str]
    next_session: datetime | None
    consents_missing: list[str]


def _age(date_of_birth: str, today: date) -> int | None:
    try:
        born = date.fromisoformat(date_of_birth)
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def chart_header(*, chart: ClientChart) -> ChartHeader:
    client = chart.client
    gate = consent_missing_for_clients(clients=[client], joint=False, participant=client)
    return ChartHeader(
        age=_age(str(chart.date_of_birth or ""), timezone.localdate()),
        minor=chart.is_minor,
        care_team=sorted(member.full_name for member in chart.care_team.all()),
        next_session=next_session_start(client=client),
        consents_missing=[missing.label for missing in gate.missing],
    )


def notes_listed(*, chart: ClientChart, access: Access) -> QuerySet[ProgressNote]:
    """A chart's notes as a list shows them, for the chart page and the API alike: what this reader
    may see (a client or guardian only signed notes shared with them), and of each only what a list
    shows (not its addenda, not when a draft was last saved). Page it by ``-created_at``."""
    return notes_visible(chart=chart, access=access).prefetch_related(None).defer("updated_at")


def addenda_by_note(*, chart: ClientChart, access: Access, notes: list[ProgressNote]) -> dict[Any, list[NoteAddendum]]:
    """The addenda of these notes, in one query, grouped by note (a note on another page is not
    there)."""
    found: dict[Any, list[NoteAddendum]] = {note.pk: [] for note in notes}
    for addendum in addenda_visible(chart=chart, access=access):
        if addendum.note_id in found:
            found[addendum.note_id].append(addendum)
    return found


def read_event(
    *,
    actor: User,
    context: AuditContext | None,
    action: Action,
    target: Any,
    chart: ClientChart,
    access: Access,
    **details: Any,
) -> dict[str, Any]:
    """The audit event a read of ``chart``'s data implies, as audit_record's arguments."""
    return {
        "action": action,
        "actor": actor,
        "context": context,
        "target": target,
        "subject_client_id": chart.client_id,
        "flagged": access is Access.EMERGENCY,
        "details": {"access": access.value, **details},
    }


def record_read(**event: Any) -> None:
    """Write a read's event before its answer is prepared (read_event's arguments)."""
    audit_record(**read_event(**event))


def reading(**event: Any) -> AbstractContextManager[Any]:
    """As record_read, for an answer prepared inside the with-block: the event is durably written
    by the block's end (while the block decrypts and serializes), or the block's end raises."""
    return audited(**read_event(**event))


def export_download(
    *, user: User, export_id: object, context: AuditContext | None, format: str
) -> tuple[RecordExport, dict[str, Any]]:
    """The ready copy of a record and its contents, for the person who asked for it; the download
    is audited once, whichever surface serves it. NotVisible for anyone else, Conflict if not ready."""
    export = export_get_for_user(user=user, export_id=export_id)
    if export.status != ExportStatus.READY:
        raise Conflict("This copy is still being prepared.", code="not_ready")
    contents = json.loads(export.payload)
    # The door is asked again for every section the copy holds: one the reader no longer reaches
    # (the chart's rule changed since it was built) makes the whole copy stale.
    for section in sections():
        if section.key in contents and not chart_reaches(user=user, chart_id=export.chart_id, need=section.need):
            raise Conflict(
                "This copy holds parts of the record you can no longer open. Prepare a new copy.", code="stale_copy"
            )
    audit_record(
        action=Action.RECORD_EXPORT,
        actor=user,
        context=context,
        target=export,
        subject_client_id=export.chart.client_id,
        details={"stage": "downloaded", "format": format},
    )
    return export, contents


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "session", "note", "assessment", "document"
    title: str
    detail: str
    url: str
    state: str = ""  # a pill's word: "Draft", "Signed", "Needs a note", a severity
    tone: str = ""  # the pill's colour: "", "ok", "warn", "danger"


def chart_timeline(
    *, sessions: list[Any], notes: list[Any], assessments: list[Any], documents: list[Any], limit: int = 20
) -> list[TimelineEntry]:
    """The chart's overview, newest first, made of what the page already read: sessions held
    (each saying whether a note documents it), notes with their state, questionnaires with their
    score, documents. It reads nothing of its own."""
    documented = {note.session_id for note in notes if note.session_id}
    entries = []
    for session in sessions:
        noted = session.id in documented
        entries.append(
            TimelineEntry(
                at=session.starts_at, kind="session", title=f"{session.kind} session", detail=f"{session.minutes} min",
                url="", state="Noted" if noted else "Needs a note", tone="ok" if noted else "warn",
            )
        )  # fmt: skip
    for note in notes:
        state, tone = ("Shared", "ok") if note.shared_at else ("Signed", "ok") if note.signed_at else ("Draft", "warn")
        moment = note.signed_at or note.created_at
        entries.append(
            TimelineEntry(
                at=moment, kind="note", title=f"{note.get_template_display()} note",
                detail=f"for {when(note.service_date)}" if note.service_date else "",
                url=reverse("records:note", args=[note.pk]), state=state, tone=tone,
            )
        )  # fmt: skip
    for row in assessments:
        assessment, result = row["assessment"], row["result"]
        if result is None:
            continue
        alert = bool(result.get("self_harm_alert"))
        entries.append(
            TimelineEntry(
                at=assessment.completed_at, kind="assessment", title=assessment.get_kind_display(),
                detail=f"score {result['score']}", url="", state=str(result["severity"]).capitalize(),
                tone="danger" if alert else "",
            )
        )  # fmt: skip
    for document in documents:
        entries.append(
            TimelineEntry(
                at=document.uploaded_at, kind="document", title=document.name, detail=document.get_kind_display(),
                url=reverse("records:document", args=[document.pk]),
            )
        )  # fmt: skip
    return sorted(entries, key=lambda entry: entry.at, reverse=True)[:limit]
