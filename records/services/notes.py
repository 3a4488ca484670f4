"""Progress notes (drafts, saved with a version check, signed, shared, amended by addendum) and
psychotherapy notes, kept apart; each write audited in the same transaction.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from records.documented import session_documented
from records.models import (
    ClientChart,
    NoteAddendum,
    NoteTemplate,
    ProgressNote,
    PsychotherapyNote,
)
from records.selectors import PSYCHOTHERAPY_WRITERS, Access
from records.services.writing import (
    MAX_SECTION_CHARS,
    MAX_SESSION_MINUTES,
    MAX_TEXT_CHARS,
    audit_write,
    clean_text,
)
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError

TEMPLATE_SECTIONS = {
    NoteTemplate.SOAP: ["subjective", "objective", "assessment", "plan"],
    NoteTemplate.DAP: ["data", "assessment", "plan"],
    NoteTemplate.BIRP: ["behavior", "intervention", "response", "plan"],
}


class NoteConflict(ServiceError):
    def __init__(self, current_version: int) -> None:
        super().__init__(
            "Someone saved this note after you opened it. Your text is kept below; reload to see theirs.",
            code="stale_version",
        )
        self.current_version = current_version

    def body(self) -> dict[str, object]:
        return {**super().body(), "current_version": self.current_version}


# Progress notes -----------------------------------------------------------------------------


def _sections(template: str, sections: object) -> str:
    if template not in TEMPLATE_SECTIONS:
        raise ServiceError("Choose SOAP, DAP or BIRP.", field="template")
    if not isinstance(sections, dict):
        raise ServiceError("The note's sections are missing.", field="sections")
    clean = {}
    for name in TEMPLATE_SECTIONS[NoteTemplate(template)]:
        clean[name] = clean_text(sections.get(name, ""), field=name, limit=MAX_SECTION_CHARS)
    unknown = set(sections) - set(clean)
    if unknown:
        raise ServiceError(f"Unknown section: {sorted(unknown)[0]}.", field="sections")
    if not any(v.strip() for v in clean.values()):
        raise ServiceError("Write something in at least one section.", field="sections")
    return json.dumps(clean)


def _service(
    *, chart: ClientChart, author: User, session_id: object, service_date: object, minutes: object
) -> tuple[date, uuid.UUID | None, int | None]:
    """The date of service, the session documented and its length, checked together: a session
    must be one the author held with this client, and its date is the date of service."""
    session = None
    if session_id not in (None, ""):
        session = session_documented(client=chart.client, therapist=author, session_id=session_id)
        if session is None:
            raise ServiceError("Choose one of this client's sessions with you that has begun.", field="session")
    day: date | None
    if service_date in (None, ""):
        day = session.service_date if session else timezone.localdate()
    elif isinstance(service_date, date):
        day = service_date
    else:
        try:
            day = date.fromisoformat(str(service_date))
        except ValueError:
            raise ServiceError("Give the date of service as YYYY-MM-DD.", field="service_date") from None
    if day > timezone.localdate():
        raise ServiceError("The date of service cannot be in the future.", field="service_date")
    if day.year < 1900:
        raise ServiceError("Check the year of the date of service.", field="service_date")
    if session is not None and day != session.service_date:
        raise ServiceError(
            f"The session was on {session.service_date:%Y-%m-%d}; that is the date of service.", field="service_date"
        )
    length: int | None
    if minutes in (None, ""):
        length = session.minutes if session else None
    else:
        try:
            length = int(str(minutes))
        except ValueError:
            raise ServiceError("Give the length in whole minutes.", field="minutes") from None
        if not 1 <= length <= MAX_SESSION_MINUTES:
            raise ServiceError(f"The length is 1 to {MAX_SESSION_MINUTES} minutes.", field="minutes")
    return day, (session.id if session else None), length


def note_create(
    *,
    actor: User,
    chart: ClientChart,
    access: Access,
    template: str,
    sections: object,
    context: AuditContext | None,
    session_id: object = None,
    service_date: object = None,
    minutes: object = None,
) -> ProgressNote:
    if access is not Access.CARE_TEAM:
        raise NotAllowed("Only the care team writes notes.", target_type=chart._meta.label_lower, target_id=chart.pk)
    body = _sections(template, sections)
    day, session, length = _service(
        chart=chart, author=actor, session_id=session_id, service_date=service_date, minutes=minutes
    )
    with transaction.atomic():
        note = ProgressNote(
            chart=chart,
            author=actor,
            template=template,
            body=body,
            service_date=day,
            session_id=session,
            minutes=length,
        )
        note.save()
        audit_record(
            action=Action.NOTE_CREATE, actor=actor, context=context, target=note, subject_client_id=chart.client_id
        )
    return note


def note_update(
    *,
    actor: User,
    note: ProgressNote,
    sections: object,
    expected_version: int,
    context: AuditContext | None,
    session_id: object = None,
    service_date: object = None,
    minutes: object = None,
) -> ProgressNote:
    """Save a draft. The date of service, session and length are what the caller sends (an empty
    session unlinks it); callers that change only the text pass the note's own values."""
    body = _sections(note.template, sections)
    day, session, length = _service(
        chart=note.chart, author=actor, session_id=session_id, service_date=service_date, minutes=minutes
    )
    with transaction.atomic():
        locked = ProgressNote.objects.select_for_update().get(pk=note.pk)
        if locked.signed_at is not None:
            raise ServiceError("A signed note cannot be edited; add an addendum instead.", code="signed")
        if locked.version != expected_version:
            raise NoteConflict(locked.version)
        if locked.author_id != actor.pk:
            raise NotAllowed(
                "Only the author edits a draft note.", target_type=note._meta.label_lower, target_id=note.pk
            )
        locked.body = body
        locked.service_date, locked.session_id, locked.minutes = day, session, length
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save(update_fields=["body", "service_date", "session_id", "minutes", "version", "updated_at"])
        audit_write(Action.NOTE_UPDATE, actor=actor, context=context, target=locked, client_id=locked.chart.client_id)
    return locked


def note_file_excerpt(
    *,
    actor: User,
    chart: ClientChart,
    access: Access,
    note: ProgressNote | None,
    excerpt: str,
    context: AuditContext | None,
) -> ProgressNote:
    """File a passage (a client's message, say) into the chart as part of a note of the actor's:
    a new draft; the end of a draft's first section; or, a signed note being locked, an addendum.
    Each path is the note's own service, so it is checked and audited as any edit is."""
    if access is not Access.CARE_TEAM:
        raise NotAllowed("Only the care team writes notes.", target_type=chart._meta.label_lower, target_id=chart.pk)
    if note is None:
        first = TEMPLATE_SECTIONS[NoteTemplate.SOAP][0]
        return note_create(
            actor=actor, chart=chart, access=access, template=NoteTemplate.SOAP, sections={first: excerpt},
            context=context,
        )  # fmt: skip
    if note.chart_id != chart.pk or note.author_id != actor.pk:
        raise ServiceError("File it into one of your own notes on this chart.", field="note")
    if note.signed_at is not None:
        note_addendum(actor=actor, note=note, body=excerpt, context=context)
        return note
    sections = json.loads(note.body)
    first = TEMPLATE_SECTIONS[NoteTemplate(note.template)][0]
    sections[first] = f"{sections.get(first, '').rstrip()}\n\n{excerpt}".strip()
    return note_update(
        actor=actor, note=note, sections=sections, expected_version=note.version, context=context,
        session_id=note.session_id, service_date=note.service_date.isoformat(), minutes=note.minutes,
    )  # fmt: skip


def note_sign(*, actor: User, note: ProgressNote, context: AuditContext | None) -> ProgressNote:
    with transaction.atomic():
        locked = ProgressNote.objects.select_for_update().get(pk=note.pk)
        if locked.author_id != actor.pk:
            raise NotAllowed("Only the author signs a note.", target_type=note._meta.label_lower, target_id=note.pk)
        if locked.signed_at is not None:
            raise ServiceError("This note is already signed.", code="signed")
        locked.signed_at = timezone.now()
        locked.version += 1
        locked.save(update_fields=["signed_at", "version"])
        audit_write(Action.NOTE_SIGN, actor=actor, context=context, target=locked, client_id=locked.chart.client_id)
    return locked


def note_addendum(*, actor: User, note: ProgressNote, body: str, context: AuditContext | None) -> NoteAddendum:
    text = clean_text(body, field="body", limit=MAX_SECTION_CHARS, required=True)
    with transaction.atomic():
        locked = ProgressNote.objects.select_for_update().get(pk=note.pk)
        if locked.signed_at is None:
            raise ServiceError("Edit the draft itself; addenda are for signed notes.", code="not_signed")
        addendum = NoteAddendum(note=locked, author=actor, body=text)
        addendum.save()
        audit_write(Action.NOTE_ADDENDUM, actor=actor, context=context, target=locked, client_id=locked.chart.client_id)
    return addendum


def note_share(*, actor: User, note: ProgressNote, context: AuditContext | None) -> ProgressNote:
    with transaction.atomic():
        locked = ProgressNote.objects.select_for_update().get(pk=note.pk)
        if locked.signed_at is None:
            raise ServiceError("Sign the note before sharing it.", code="not_signed")
        if locked.shared_at is None:
            locked.shared_at = timezone.now()
            locked.save(update_fields=["shared_at"])
        audit_write(Action.NOTE_SHARE, actor=actor, context=context, target=locked, client_id=locked.chart.client_id)
    return locked


def note_unshare(*, actor: User, note: ProgressNote, context: AuditContext | None) -> ProgressNote:
    """Undo sharing: the client (and a guardian) can no longer read the note from now on; the
    record of who shared it, and of their reading it, stays in the audit trail."""
    with transaction.atomic():
        locked = ProgressNote.objects.select_for_update().get(pk=note.pk)
        if locked.shared_at is None:
            raise ServiceError("This note is not shared.", code="not_shared")
        locked.shared_at = None
        locked.save(update_fields=["shared_at"])
        audit_write(Action.NOTE_UNSHARE, actor=actor, context=context, target=locked, client_id=locked.chart.client_id)
    return locked


# Psychotherapy notes -------------------------------------------------------------------------


def psychotherapy_note_write(
    *,
    actor: User,
    chart: ClientChart,
    access: Access,
    body: str,
    context: AuditContext | None,
    note: PsychotherapyNote | None = None,
) -> PsychotherapyNote:
    """Only a care-team therapist writes them; only the author ever reads them again."""
    if access not in PSYCHOTHERAPY_WRITERS:
        raise NotAllowed(
            "Only the care team keeps psychotherapy notes.", target_type=chart._meta.label_lower, target_id=chart.pk
        )
    text = clean_text(body, field="body", limit=MAX_TEXT_CHARS, required=True)
    if note is None:
        note = PsychotherapyNote(practice_id=chart.practice_id, chart_id=chart.pk, author_id=actor.pk, body=text)
    elif note.author_id != actor.pk:
        raise ServiceError("No such note.", code="not_found")
    else:
        note.body = text
        note.updated_at = timezone.now()
    # The note is in its own database; the audit event is in the main one. Write the event first
    # and the note inside it, so a failed event leaves no note behind.
    with transaction.atomic(), transaction.atomic(using="psychotherapy"):
        audit_record(
            action=Action.PSYCHOTHERAPY_NOTE_WRITE,
            actor=actor,
            context=context,
            target_type="records.psychotherapynote",
            target_id=str(note.pk),
            subject_client_id=chart.client_id,
        )
        note.save(using="psychotherapy")
    return note
