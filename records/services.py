"""Everything that changes clinical records, each write audited in the same transaction."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from accounts.duties import confirmation_missing
from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from records import scoring
from records.documented import session_documented
from records.models import (
    Assessment,
    BillingRecord,
    BillingStatus,
    ChartDocument,
    ClientChart,
    EmergencyAccess,
    NoteAddendum,
    NoteTemplate,
    ProgressNote,
    PsychotherapyNote,
    RecordExport,
)
from records.selectors import DOCUMENT_UPLOADERS, PSYCHOTHERAPY_WRITERS, Access
from records.signals import questionnaire_needs_attention
from records.tasks import safety_alert_notify
from teletherapy.errors import ServiceError
from teletherapy.keyring import keyring

TEMPLATE_SECTIONS = {
    NoteTemplate.SOAP: ["subjective", "objective", "assessment", "plan"],
    NoteTemplate.DAP: ["data", "assessment", "plan"],
    NoteTemplate.BIRP: ["behavior", "intervention", "response", "plan"],
}
MAX_SECTION_CHARS = 20_000
MAX_TEXT_CHARS = 50_000
MAX_SESSION_MINUTES = 600
EMERGENCY_MINUTES = 60
EMERGENCY_REASON_MIN = 20
ICD10_PATTERN = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")
CPT_PATTERN = re.compile(r"^[0-9]{4}[0-9FT]$")


RecordError = ServiceError  # one error channel: teletherapy.errors


class NoteConflict(RecordError):
    def __init__(self, current_version: int) -> None:
        super().__init__(
            "Someone saved this note after you opened it. Your text is kept below; reload to see theirs.",
            code="stale_version",
        )
        self.current_version = current_version

    def body(self) -> dict[str, object]:
        return {**super().body(), "current_version": self.current_version}


def _clean_text(value: object, *, field: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RecordError("Enter text.", field=field)
    if "\x00" in value:
        raise RecordError("The text contains a character that cannot be stored.", field=field)
    if len(value) > limit:
        raise RecordError(f"Keep this under {limit:,} characters.", field=field)
    if required and not value.strip():
        raise RecordError("This cannot be empty.", field=field)
    return value


def blind_index(value: str) -> str:
    """An equality-only lookup token: HMAC under the index key, tagged with that key's id."""
    key = keyring().current("index")
    digest = hmac.new(key.secret, value.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"{key.key_id}:{digest[:40]}"


def _audit(action: Action, *, actor: User, request: HttpRequest | None, target: Model, client_id: int) -> None:
    """The audit event of a record write: who, what, which record, whose chart."""
    audit_record(action=action, actor=actor, request=request, target=target, subject_client_id=client_id)


# Charts ----------------------------------------------------------------------------------


def chart_create(
    *,
    actor: User | None,
    client: User,
    therapists: list[User],
    is_minor: bool = False,
    request: HttpRequest | None = None,
) -> ClientChart:
    if not client.has_role(Role.CLIENT):
        raise RecordError("A chart belongs to a client.")
    for therapist in therapists:
        if therapist.practice_id != client.practice_id or not therapist.has_role(Role.THERAPIST):
            raise RecordError("The care team is made of therapists of this practice.")
    with transaction.atomic():
        chart, created = ClientChart.objects.get_or_create(
            client=client, defaults={"practice_id": client.practice_id, "is_minor": is_minor}
        )
        chart.care_team.add(*therapists)
        audit_record(
            action=Action.CHART_UPDATE,
            actor=actor,
            request=request,
            target=chart,
            practice_id=client.practice_id,
            subject_client_id=client.pk,
            details={"created": created, "care_team_added": len(therapists)},
        )
    return chart


CHART_FIELDS = ("date_of_birth", "phone", "address", "emergency_contact")


def chart_update(
    *, actor: User, chart: ClientChart, access: Access, data: dict[str, object], request: HttpRequest | None
) -> ClientChart:
    if access is not Access.CARE_TEAM:
        raise RecordError("Only the care team changes a chart.", code="not_allowed")
    changes: dict[str, object] = {}
    for name in CHART_FIELDS:
        if name in data:
            changes[name] = _clean_text(data[name], field=name, limit=500)
    if changes.get("date_of_birth"):
        try:
            born = date.fromisoformat(str(changes["date_of_birth"]))
        except ValueError:
            raise RecordError("Give the date of birth as YYYY-MM-DD.", field="date_of_birth") from None
        if not date(1900, 1, 1) <= born <= timezone.localdate():
            raise RecordError("That date of birth is not plausible.", field="date_of_birth")
        changes["date_of_birth"] = born.isoformat()
    for flag in ("is_minor", "guardian_sees_notes"):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise RecordError("Choose yes or no.", field=flag)
            changes[flag] = data[flag]
    if "intake" in data:
        if not isinstance(data["intake"], dict) or len(json.dumps(data["intake"])) > MAX_TEXT_CHARS:
            raise RecordError("Intake answers are a small set of question/answer pairs.", field="intake")
        changes["intake"] = json.dumps(data["intake"])
    with transaction.atomic():
        locked = ClientChart.objects.select_for_update().get(pk=chart.pk)
        details: dict[str, object] = {"fields": ",".join(sorted(changes))}
        if "is_minor" in changes and changes["is_minor"] != locked.is_minor:
            # Marking a chart adult ends every guardian's authority at once (accounts.selectors).
            details["marked"] = "minor" if changes["is_minor"] else "adult"
        for name, value in changes.items():
            setattr(locked, name, value)
        if "date_of_birth" in changes:
            locked.date_of_birth_index = blind_index(str(changes["date_of_birth"])) if changes["date_of_birth"] else ""
        locked.updated_at = timezone.now()
        locked.save()
        audit_record(
            action=Action.CHART_UPDATE,
            actor=actor,
            request=request,
            target=locked,
            subject_client_id=locked.client_id,
            details=details,
        )
    return locked


def charts_find_by_date_of_birth(*, actor: User, date_of_birth: str) -> list[ClientChart]:
    """Equality lookup through the blind index; only the actor's own care-team charts."""
    try:
        born = date.fromisoformat(date_of_birth).isoformat()
    except ValueError:
        raise RecordError("Give the date as YYYY-MM-DD.", field="date_of_birth") from None
    return list(ClientChart.objects.filter(care_team=actor, date_of_birth_index=blind_index(born)))


# Progress notes -----------------------------------------------------------------------------


def _sections(template: str, sections: object) -> str:
    if template not in TEMPLATE_SECTIONS:
        raise RecordError("Choose SOAP, DAP or BIRP.", field="template")
    if not isinstance(sections, dict):
        raise RecordError("The note's sections are missing.", field="sections")
    clean = {}
    for name in TEMPLATE_SECTIONS[NoteTemplate(template)]:
        clean[name] = _clean_text(sections.get(name, ""), field=name, limit=MAX_SECTION_CHARS)
    unknown = set(sections) - set(clean)
    if unknown:
        raise RecordError(f"Unknown section: {sorted(unknown)[0]}.", field="sections")
    if not any(v.strip() for v in clean.values()):
        raise RecordError("Write something in at least one section.", field="sections")
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
            raise RecordError("Choose one of this client's sessions with you that has begun.", field="session")
    day: date | None
    if service_date in (None, ""):
        day = session.service_date if session else timezone.localdate()
    elif isinstance(service_date, date):
        day = service_date
    else:
        try:
            day = date.fromisoformat(str(service_date))
        except ValueError:
            raise RecordError("Give the date of service as YYYY-MM-DD.", field="service_date") from None
    if day > timezone.localdate():
        raise RecordError("The date of service cannot be in the future.", field="service_date")
    if day.year < 1900:
        raise RecordError("Check the year of the date of service.", field="service_date")
    if session is not None and day != session.service_date:
        raise RecordError(
            f"The session was on {session.service_date:%Y-%m-%d}; that is the date of service.", field="service_date"
        )
    length: int | None
    if minutes in (None, ""):
        length = session.minutes if session else None
    else:
        try:
            length = int(str(minutes))
        except ValueError:
            raise RecordError("Give the length in whole minutes.", field="minutes") from None
        if not 1 <= length <= MAX_SESSION_MINUTES:
            raise RecordError(f"The length is 1 to {MAX_SESSION_MINUTES} minutes.", field="minutes")
    return day, (session.id if session else None), length


def note_create(
    *,
    actor: User,
    chart: ClientChart,
    access: Access,
    template: str,
    sections: object,
    request: HttpRequest | None,
    session_id: object = None,
    service_date: object = None,
    minutes: object = None,
) -> ProgressNote:
    if access is not Access.CARE_TEAM:
        raise RecordError("Only the care team writes notes.", code="not_allowed")
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
            action=Action.NOTE_CREATE, actor=actor, request=request, target=note, subject_client_id=chart.client_id
        )
    return note


def note_update(
    *,
    actor: User,
    note: ProgressNote,
    sections: object,
    expected_version: int,
    request: HttpRequest | None,
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
            raise RecordError("A signed note cannot be edited; add an addendum instead.", code="signed")
        if locked.version != expected_version:
            raise NoteConflict(locked.version)
        if locked.author_id != actor.pk:
            raise RecordError("Only the author edits a draft note.", code="not_allowed")
        locked.body = body
        locked.service_date, locked.session_id, locked.minutes = day, session, length
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save(update_fields=["body", "service_date", "session_id", "minutes", "version", "updated_at"])
        _audit(Action.NOTE_UPDATE, actor=actor, request=request, target=locked, client_id=locked.chart.client_id)
    return locked


def note_file_excerpt(
    *,
    actor: User,
    chart: ClientChart,
    access: Access,
    note: ProgressNote | None,
    excerpt: str,
    request: HttpRequest | None,
) -> ProgressNote:
    """File a passage (a client's message, say) into the chart as part of a note of the actor's:
    a new draft; the end of a draft's first section; or, a signed note being locked, an addendum.
    Each path is the note's own service, so it is checked and audited as any edit is."""
    if access is not Access.CARE_TEAM:
        raise RecordError("Only the care team writes notes.", code="not_allowed")
    if note is None:
        first = TEMPLATE_SECTIONS[NoteTemplate.SOAP][0]
        return note_create(
            actor=actor, chart=chart, access=access, template=NoteTemplate.SOAP, sections={first: excerpt},
            request=request,
        )  # fmt: skip
    if note.chart_id != chart.pk or note.author_id != actor.pk:
        raise RecordError("File it into one of your own notes on this chart.", field="note")
    if note.signed_at is not None:
        note_addendum(actor=actor, note=note, body=excerpt, request=request)
        return note
    sections = json.loads(note.body)
    first = TEMPLATE_SECTIONS[NoteTemplate(note.template)][0]
    sections[first] = f"{sections.get(first, '').rstrip()}\n\n{excerpt}".strip()
    return note_update(
        actor=actor, note=note, sections=sections, expected_version=note.version, request=request,
        session_id=note.session_id, service_date=note.service_date.isoformat(), minutes=note.minutes,
    )  # fmt: skip


def note_sign(*, actor: User, note: ProgressNote, request: HttpRequest | None) -> ProgressNote:
    with transaction.atomic():
        locked = ProgressNote.objects.select_for_update().get(pk=note.pk)
        if locked.author_id != actor.pk:
            raise RecordError("Only the author signs a note.", code="not_allowed")
        if locked.signed_at is not None:
            raise RecordError("This note is already signed.", code="signed")
        locked.signed_at = timezone.now()
        locked.version += 1
        locked.save(update_fields=["signed_at", "version"])
        _audit(Action.NOTE_SIGN, actor=actor, request=request, target=locked, client_id=locked.chart.client_id)
    return locked


def note_addendum(*, actor: User, note: ProgressNote, body: str, request: HttpRequest | None) -> NoteAddendum:
    text = _clean_text(body, field="body", limit=MAX_SECTION_CHARS, required=True)
    with transaction.atomic():
        locked = ProgressNote.objects.select_for_update().get(pk=note.pk)
        if locked.signed_at is None:
            raise RecordError("Edit the draft itself; addenda are for signed notes.", code="not_signed")
        addendum = NoteAddendum(note=locked, author=actor, body=text)
        addendum.save()
        _audit(Action.NOTE_ADDENDUM, actor=actor, request=request, target=locked, client_id=locked.chart.client_id)
    return addendum


def note_share(*, actor: User, note: ProgressNote, request: HttpRequest | None) -> ProgressNote:
    with transaction.atomic():
        locked = ProgressNote.objects.select_for_update().get(pk=note.pk)
        if locked.signed_at is None:
            raise RecordError("Sign the note before sharing it.", code="not_signed")
        if locked.shared_at is None:
            locked.shared_at = timezone.now()
            locked.save(update_fields=["shared_at"])
        _audit(Action.NOTE_SHARE, actor=actor, request=request, target=locked, client_id=locked.chart.client_id)
    return locked


def note_unshare(*, actor: User, note: ProgressNote, request: HttpRequest | None) -> ProgressNote:
    """Undo sharing: the client (and a guardian) can no longer read the note from now on; the
    record of who shared it, and of their reading it, stays in the audit trail."""
    with transaction.atomic():
        locked = ProgressNote.objects.select_for_update().get(pk=note.pk)
        if locked.shared_at is None:
            raise RecordError("This note is not shared.", code="not_shared")
        locked.shared_at = None
        locked.save(update_fields=["shared_at"])
        _audit(Action.NOTE_UNSHARE, actor=actor, request=request, target=locked, client_id=locked.chart.client_id)
    return locked


# Assessments -------------------------------------------------------------------------------


def assessment_assign(
    *, actor: User, chart: ClientChart, access: Access, kind: str, request: HttpRequest | None
) -> Assessment:
    if access is not Access.CARE_TEAM:
        raise RecordError("Only the care team assigns assessments.", code="not_allowed")
    if kind not in scoring.ITEMS:
        raise RecordError("Choose PHQ-9 or GAD-7.", field="kind")
    with transaction.atomic():
        assessment = Assessment(chart=chart, kind=kind, assigned_by=actor)
        assessment.save()
        _audit(Action.ASSESSMENT_ASSIGN, actor=actor, request=request, target=assessment, client_id=chart.client_id)
    return assessment


def assessment_submit(
    *, actor: User, assessment: Assessment, answers: object, request: HttpRequest | None
) -> scoring.Result:
    if assessment.chart.client_id != actor.pk:
        raise RecordError("Only the client answers their assessment.", code="not_allowed")
    if not isinstance(answers, list):
        raise RecordError("Answer every question.", field="answers")
    try:
        result = scoring.score(assessment.kind, answers)
    except scoring.ScoringError as error:
        raise RecordError(str(error), field="answers") from None
    with transaction.atomic():
        locked = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if locked.completed_at is not None:
            raise RecordError("This assessment is already complete.", code="completed")
        locked.answers = json.dumps(answers)
        locked.result = json.dumps(result.as_dict())
        locked.completed_at = timezone.now()
        locked.save(update_fields=["answers", "result", "completed_at"])
        _audit(Action.ASSESSMENT_SUBMIT, actor=actor, request=request, target=locked, client_id=locked.chart.client_id)
        if result.self_harm_alert:
            chart = locked.chart
            transaction.on_commit(lambda: _needs_attention(chart, str(locked.pk)))
    return result


def _needs_attention(chart: ClientChart, assessment_id: str) -> None:
    """The care team hears at once: on their open pages, and by an e-mail that says nothing clinical."""
    questionnaire_needs_attention.send(sender=ClientChart, chart=chart)
    safety_alert_notify.delay(assessment_id)


# Billing -------------------------------------------------------------------------------------


def billing_create(
    *,
    actor: User,
    chart: ClientChart,
    access: Access,
    service_date: object,
    cpt_code: object,
    diagnosis_codes: object,
    fee: object,
    request: HttpRequest | None,
) -> BillingRecord:
    if access not in (Access.CARE_TEAM, Access.ADMIN):
        raise RecordError("Only the care team or an admin records billing.", code="not_allowed")
    try:
        day = date.fromisoformat(str(service_date))
    except ValueError:
        raise RecordError("Give the service date as YYYY-MM-DD.", field="service_date") from None
    cpt = str(cpt_code or "").strip().upper()
    if not CPT_PATTERN.match(cpt):
        raise RecordError("A CPT code is five characters, such as 90834.", field="cpt_code")
    raw_codes = diagnosis_codes if isinstance(diagnosis_codes, list) else str(diagnosis_codes or "").split(",")
    codes = [str(c).strip().upper() for c in raw_codes if str(c).strip()]
    if not codes or len(codes) > 12 or not all(ICD10_PATTERN.match(c) for c in codes):
        raise RecordError("Give one to twelve ICD-10-CM codes, such as F41.1.", field="diagnosis_codes")
    try:
        amount = Decimal(str(fee))
    except (InvalidOperation, ValueError):
        raise RecordError("Give the fee as a number.", field="fee") from None
    if not amount.is_finite() or not Decimal("0") <= amount < Decimal("100000"):
        raise RecordError("The fee must be between 0 and 99,999.99.", field="fee")
    with transaction.atomic():
        record = BillingRecord(
            chart=chart,
            service_date=day,
            cpt_code=cpt,
            diagnosis_codes=",".join(codes),
            fee=amount.quantize(Decimal("0.01")),
            created_by=actor,
        )
        record.save()
        audit_record(
            action=Action.BILLING_WRITE, actor=actor, request=request, target=record, subject_client_id=chart.client_id
        )
    return record


def billing_set_status(
    *, actor: User, record: BillingRecord, access: Access, status: str, request: HttpRequest | None
) -> BillingRecord:
    if access not in (Access.ADMIN, Access.CARE_TEAM):
        raise RecordError("Only the care team or an admin changes billing.", code="not_allowed")
    if status not in BillingStatus.values:
        raise RecordError("Unknown status.", field="status")
    with transaction.atomic():
        record.status = status
        record.save(update_fields=["status"])
        audit_record(
            action=Action.BILLING_WRITE,
            actor=actor,
            request=request,
            target=record,
            subject_client_id=record.chart.client_id,
            details={"status": status},
        )
    return record


# Psychotherapy notes -------------------------------------------------------------------------


def psychotherapy_note_write(
    *,
    actor: User,
    chart: ClientChart,
    access: Access,
    body: str,
    request: HttpRequest | None,
    note: PsychotherapyNote | None = None,
) -> PsychotherapyNote:
    """Only a care-team therapist writes them; only the author ever reads them again."""
    if access not in PSYCHOTHERAPY_WRITERS:
        raise RecordError("Only the care team keeps psychotherapy notes.", code="not_allowed")
    text = _clean_text(body, field="body", limit=MAX_TEXT_CHARS, required=True)
    if note is None:
        note = PsychotherapyNote(practice_id=chart.practice_id, chart_id=chart.pk, author_id=actor.pk, body=text)
    elif note.author_id != actor.pk:
        raise RecordError("No such note.", code="not_found")
    else:
        note.body = text
        note.updated_at = timezone.now()
    # The note is in its own database; the audit event is in the main one. Write the event first
    # and the note inside it, so a failed event leaves no note behind.
    with transaction.atomic(), transaction.atomic(using="psychotherapy"):
        audit_record(
            action=Action.PSYCHOTHERAPY_NOTE_WRITE,
            actor=actor,
            request=request,
            target_type="records.psychotherapynote",
            target_id=str(note.pk),
            subject_client_id=chart.client_id,
        )
        note.save(using="psychotherapy")
    return note


# Emergency access --------------------------------------------------------------------------


def emergency_access_start(
    *, actor: User, chart: ClientChart, reason: str, request: HttpRequest | None
) -> EmergencyAccess:
    if not actor.has_role(Role.THERAPIST) or chart.practice_id != actor.practice_id:
        raise RecordError("Only a therapist of this practice can use emergency access.", code="not_allowed")
    if actor.has_role(Role.ADMIN):
        raise RecordError(
            "An account that holds the admin role cannot use emergency access, whatever its other roles.",
            code="not_allowed",
        )
    if chart.care_team.filter(pk=actor.pk).exists():
        raise RecordError("You are on this client's care team already.", code="not_needed")
    if confirmation_missing(actor):
        raise RecordError(
            "A second admin of the practice must confirm your account before you can use emergency access. "
            "Ask an admin other than the one who invited you.",
            code="not_allowed",
        )
    text = _clean_text(reason, field="reason", limit=1000, required=True).strip()
    if len(text) < EMERGENCY_REASON_MIN:
        raise RecordError(f"Explain the emergency in at least {EMERGENCY_REASON_MIN} characters.", field="reason")
    with transaction.atomic():
        access = EmergencyAccess(
            chart=chart, therapist=actor, reason=text, expires_at=timezone.now() + timedelta(minutes=EMERGENCY_MINUTES)
        )
        access.save()
        audit_record(
            action=Action.EMERGENCY_ACCESS,
            actor=actor,
            request=request,
            target=chart,
            subject_client_id=chart.client_id,
            flagged=True,
            details={"minutes": EMERGENCY_MINUTES, "emergency_access_id": str(access.pk)},
        )
        from records.tasks import emergency_access_notify

        transaction.on_commit(lambda: emergency_access_notify.delay(str(access.pk)))
    return access


# Right of access ---------------------------------------------------------------------------


def export_request(*, actor: User, chart: ClientChart, access: Access, request: HttpRequest | None) -> RecordExport:
    if access not in (Access.CLIENT, Access.GUARDIAN):
        raise RecordError("A client, or a minor's guardian, requests their own copy.", code="not_allowed")
    with transaction.atomic():
        export = RecordExport(chart=chart, requested_by=actor)
        export.save()
        audit_record(
            action=Action.RECORD_EXPORT,
            actor=actor,
            request=request,
            target=export,
            subject_client_id=chart.client_id,
            details={"stage": "requested"},
        )
        from records.tasks import record_export_build

        transaction.on_commit(lambda: record_export_build.delay(str(export.pk)))
    return export


# Documents ------------------------------------------------------------------------------------


def document_upload(
    *,
    actor: User,
    chart: ClientChart,
    access: Access,
    upload: object,
    shared_with_client: bool = True,
    request: HttpRequest | None,
) -> ChartDocument:
    """Check an upload (records.files), seal it into the store and file it on the chart. A refusal
    stores nothing, and is audited with its reason (a virus found is something admins should see)."""
    from records import files

    if access not in DOCUMENT_UPLOADERS:
        raise RecordError("Only the care team, the client or their guardian adds documents.", code="not_allowed")
    if upload is None:
        raise RecordError("Choose a file to upload.", field="file")
    try:
        checked = files.check_upload(upload)
    except files.DocumentRefused as refusal:
        audit_record(
            action=Action.DOCUMENT_REFUSED,
            actor=actor,
            request=request,
            target=chart,
            subject_client_id=chart.client_id,
            details={"reason": refusal.code},
        )
        raise
    document = ChartDocument(
        chart=chart,
        uploaded_by=actor,
        name=checked.name,
        kind=checked.kind,
        size=checked.size,
        sha256=checked.sha256,
        scanned=checked.scanned,
        # What a client or guardian adds is theirs to see; the care team chooses.
        shared_with_client=bool(shared_with_client) or access is not Access.CARE_TEAM,
    )
    try:
        document.stored_as = files.store(checked, document_id=document.pk, chart_id=chart.pk)
    finally:
        checked.plain.close()
    try:
        with transaction.atomic():
            document.save()
            audit_record(
                action=Action.DOCUMENT_UPLOAD,
                actor=actor,
                request=request,
                target=document,
                subject_client_id=chart.client_id,
                details={"kind": checked.kind, "size": checked.size, "scanned": checked.scanned},
            )
    except BaseException:
        files.unstore(document.stored_as)  # no row, no file
        raise
    return document


def document_remove(*, actor: User, document: ChartDocument, request: HttpRequest | None) -> ChartDocument:
    """Take a document out of view. It is kept, with who removed it and when, like a signed note."""
    with transaction.atomic():
        locked = ChartDocument.objects.select_for_update().get(pk=document.pk)
        if locked.removed_at is not None:
            raise RecordError("This document was removed already.", code="removed")
        locked.removed_at = timezone.now()
        locked.removed_by = actor
        locked.save(update_fields=["removed_at", "removed_by"])
        audit_record(
            action=Action.DOCUMENT_REMOVE,
            actor=actor,
            request=request,
            target=locked,
            subject_client_id=locked.chart.client_id,
        )
    return locked
