"""The only doors to clinical records. Anyone without access gets NotVisible (answered as a 404,
and audited once as a refusal)."""

from __future__ import annotations

import enum
import json
import uuid
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Role, User
from accounts.selectors import guardian_acts_for
from audit.models import Action, AuditEvent
from records.models import (
    Assessment,
    BillingRecord,
    BillingStatus,
    ChartDocument,
    ClientChart,
    EmergencyAccess,
    NoteAddendum,
    ProgressNote,
    PsychotherapyNote,
    RecordExport,
)
from teletherapy.errors import NotAllowed, NotVisible
from teletherapy.gates import clinical_refusal
from teletherapy.ids import as_uuid as _uuid


class Access(enum.Enum):
    CARE_TEAM = "care_team"
    EMERGENCY = "emergency"
    CLIENT = "client"
    GUARDIAN = "guardian"
    ADMIN = "admin"


class Need(enum.Enum):
    SUMMARY = "summary"  # demographics, appointments
    CLINICAL = "clinical"  # notes, assessments, intake
    BILLING = "billing"


# Who may reach what. Clients and guardians see clinical content only as narrowed below
# (signed, shared notes; their own assessments; guardians only where the chart allows).
ALLOWED = {
    Need.SUMMARY: {Access.CARE_TEAM, Access.EMERGENCY, Access.CLIENT, Access.GUARDIAN, Access.ADMIN},
    Need.CLINICAL: {Access.CARE_TEAM, Access.EMERGENCY, Access.CLIENT, Access.GUARDIAN},
    Need.BILLING: {Access.CARE_TEAM, Access.CLIENT, Access.GUARDIAN, Access.ADMIN},
}


# Psychotherapy notes: the care team writes them, and only their author ever reads one again.
PSYCHOTHERAPY_WRITERS = frozenset({Access.CARE_TEAM})


def emergency_access_active(*, user: User, chart: ClientChart) -> EmergencyAccess | None:
    return EmergencyAccess.objects.filter(chart=chart, therapist=user, expires_at__gt=timezone.now()).first()


def chart_access(*, user: User, chart: ClientChart) -> Access | None:
    if chart.practice_id != user.practice_id or not user.is_active:
        return None
    if chart.client_id == user.pk:
        return Access.CLIENT
    if user.has_role(Role.ADMIN):
        # An admin never reads clinical content, whatever other roles the account holds.
        return Access.ADMIN
    if user.has_role(Role.THERAPIST):
        if chart.care_team.filter(pk=user.pk).exists():
            return Access.CARE_TEAM
        if emergency_access_active(user=user, chart=chart):
            return Access.EMERGENCY
    if chart.is_minor and guardian_acts_for(guardian=user, client_id=chart.client_id):
        return Access.GUARDIAN
    return None


def _chart_reach(*, user: User, chart_id: object, need: Need) -> tuple[ClientChart, Access] | None:
    """The chart and how the user reaches it for this need, or None. Private to the doors below."""
    pk = _uuid(chart_id)
    if pk is None:
        return None
    chart = ClientChart.objects.select_related("client").filter(pk=pk).first()
    if chart is None:
        return None
    access = chart_access(user=user, chart=chart)
    if access is None or access not in ALLOWED[need]:
        return None
    if need is Need.CLINICAL and access is Access.GUARDIAN and not chart.guardian_sees_notes:
        return None
    return chart, access


def chart_reaches(*, user: User, chart_id: object, need: Need) -> bool:
    """Whether the user reaches the chart for this need: a question, for what a list or a copy
    holds. To open a chart, use chart_get_for_user."""
    return _chart_reach(user=user, chart_id=chart_id, need=need) is not None


def chart_shown(*, user: User, chart_id: object) -> tuple[ClientChart, Access, bool]:
    """The door of a page that shows whatever the user may see of a chart: the chart, how they
    reach it, and whether that is its clinical content too (else its summary); NotVisible when
    they reach nothing. The clinical gate is the page's to ask: kept out, it shows the summary."""
    found = _chart_reach(user=user, chart_id=chart_id, need=Need.CLINICAL)
    if found is not None:
        return found[0], found[1], True
    found = _chart_reach(user=user, chart_id=chart_id, need=Need.SUMMARY)
    if found is None:
        raise NotVisible("records.clientchart", chart_id)
    return found[0], found[1], False


def clinical_gate(*, user: User, access: Access, target_type: str, target_id: object) -> None:
    """A therapist whom a gate of the practice keeps out of clinical data (training not attested,
    where the practice blocks) is refused, with the reason; everyone else passes."""
    if access not in (Access.CARE_TEAM, Access.EMERGENCY):
        return
    reason = clinical_refusal(user)
    if reason:
        raise NotAllowed(reason, target_type=target_type, target_id=target_id, code="training_required")


def chart_get_for_user(*, user: User, chart_id: object, need: Need) -> tuple[ClientChart, Access]:
    """The door to a chart: the chart and how the user reaches it, or NotVisible."""
    found = _chart_reach(user=user, chart_id=chart_id, need=need)
    if found is None:
        raise NotVisible("records.clientchart", chart_id)
    if need is Need.CLINICAL:
        clinical_gate(user=user, access=found[1], target_type="records.clientchart", target_id=chart_id)
    return found


def chart_for_client(*, client: User) -> ClientChart | None:
    return ClientChart.objects.filter(client=client).first()


def charts_for_therapist(*, user: User) -> QuerySet[ClientChart]:
    return ClientChart.objects.filter(care_team=user, practice_id=user.practice_id).select_related("client")


def charts_outside_care_team(*, user: User) -> QuerySet[ClientChart]:
    return (
        ClientChart.objects.filter(practice_id=user.practice_id)
        .exclude(care_team=user)
        .select_related("client")
        .order_by("client__full_name")
    )


def notes_visible(*, chart: ClientChart, access: Access) -> QuerySet[ProgressNote]:
    # By the chart's key rather than through chart.notes: the related manager would also hang the
    # chart on every note, which nothing reading a list needs.
    notes = ProgressNote.objects.filter(chart_id=chart.pk).prefetch_related("addenda")
    if access in (Access.CLIENT, Access.GUARDIAN):
        return notes.filter(signed_at__isnull=False, shared_at__isnull=False)
    return notes


def billing_visible(*, chart: ClientChart, access: Access) -> QuerySet[BillingRecord]:
    """A chart's charges as this reader may see them: a draft is the practice's work in progress,
    not yet a charge, so a client or guardian sees it only once submitted."""
    charges = BillingRecord.objects.filter(chart_id=chart.pk)
    if access in (Access.CLIENT, Access.GUARDIAN):
        return charges.exclude(status=BillingStatus.DRAFT)
    return charges


def addenda_visible(*, chart: ClientChart, access: Access) -> QuerySet[NoteAddendum]:
    """The addenda of the notes notes_visible gives, oldest first: one join on the chart, cheaper
    than listing the notes' keys."""
    addenda = NoteAddendum.objects.filter(note__chart_id=chart.pk)
    if access in (Access.CLIENT, Access.GUARDIAN):
        addenda = addenda.filter(note__signed_at__isnull=False, note__shared_at__isnull=False)
    return addenda.order_by("signed_at")


def note_get_for_user(*, user: User, note_id: object, write: bool = False) -> tuple[ProgressNote, Access]:
    """A progress note the user may read (``write``: change, the care team only), or NotVisible."""
    pk = _uuid(note_id)
    note = ProgressNote.objects.select_related("chart", "chart__client", "author").filter(pk=pk).first() if pk else None
    found = _chart_reach(user=user, chart_id=note.chart_id, need=Need.CLINICAL) if note else None
    if note is None or found is None or (write and found[1] is not Access.CARE_TEAM):
        raise NotVisible("records.progressnote", note_id)
    access = found[1]
    if not notes_visible(chart=note.chart, access=access).filter(pk=note.pk).exists():
        raise NotVisible("records.progressnote", note_id)
    clinical_gate(user=user, access=access, target_type="records.progressnote", target_id=note_id)
    return note, access


# Documents: the care team sees every one on the chart; the client, and a guardian the chart
# allows, see those shared with the client (all they uploaded themselves are). Removed ones are
# kept, and shown to nobody.
DOCUMENT_UPLOADERS = frozenset({Access.CARE_TEAM, Access.CLIENT, Access.GUARDIAN})


def documents_visible(*, chart: ClientChart, access: Access) -> QuerySet[ChartDocument]:
    documents = ChartDocument.objects.filter(chart_id=chart.pk, removed_at=None).select_related("uploaded_by")
    if access in (Access.CLIENT, Access.GUARDIAN):
        return documents.filter(shared_with_client=True)
    if access in (Access.CARE_TEAM, Access.EMERGENCY):
        return documents
    return documents.none()


def document_get_for_user(
    *, user: User, document_id: object, remove: bool = False
) -> tuple[ChartDocument, ClientChart, Access]:
    """A document the user may download (``remove``: take down: its uploader, or the care team),
    or NotVisible."""
    pk = _uuid(document_id)
    document = ChartDocument.objects.filter(pk=pk).first() if pk else None
    found = _chart_reach(user=user, chart_id=document.chart_id, need=Need.CLINICAL) if document else None
    if document is None or found is None:
        raise NotVisible("records.chartdocument", document_id)
    chart, access = found
    if not documents_visible(chart=chart, access=access).filter(pk=document.pk).exists():
        raise NotVisible("records.chartdocument", document_id)
    if remove and not (access is Access.CARE_TEAM or document.uploaded_by_id == user.pk):
        raise NotVisible("records.chartdocument", document_id)
    clinical_gate(user=user, access=access, target_type="records.chartdocument", target_id=document_id)
    return document, chart, access


def assessment_get_for_user(*, user: User, assessment_id: object) -> tuple[Assessment, Access]:
    pk = _uuid(assessment_id)
    assessment = Assessment.objects.select_related("chart", "chart__client").filter(pk=pk).first() if pk else None
    found = _chart_reach(user=user, chart_id=assessment.chart_id, need=Need.CLINICAL) if assessment else None
    if assessment is None or found is None:
        raise NotVisible("records.assessment", assessment_id)
    clinical_gate(user=user, access=found[1], target_type="records.assessment", target_id=assessment_id)
    return assessment, found[1]


def billing_get_for_user(*, user: User, billing_id: object) -> tuple[BillingRecord, Access]:
    pk = _uuid(billing_id)
    record = BillingRecord.objects.filter(pk=pk).first() if pk else None
    found = _chart_reach(user=user, chart_id=record.chart_id, need=Need.BILLING) if record else None
    if record is None or found is None or not billing_visible(chart=found[0], access=found[1]).filter(pk=record.pk):
        raise NotVisible("records.billingrecord", billing_id)
    return record, found[1]


def psychotherapy_note_get_for_author(*, user: User, note_id: object) -> tuple[PsychotherapyNote, ClientChart]:
    """Only its author, still on the chart's care team, ever gets a psychotherapy note (and its
    chart); for everyone else it does not exist."""
    pk = _uuid(note_id)
    note = (
        PsychotherapyNote.objects.filter(pk=pk, author_id=user.pk, practice_id=user.practice_id).first() if pk else None
    )
    found = _chart_reach(user=user, chart_id=note.chart_id, need=Need.CLINICAL) if note else None
    if note is None or found is None or found[1] not in PSYCHOTHERAPY_WRITERS:
        raise NotVisible("records.psychotherapynote", note_id)
    clinical_gate(user=user, access=found[1], target_type="records.psychotherapynote", target_id=note_id)
    return note, found[0]


def psychotherapy_notes_of_author(*, user: User, chart: ClientChart) -> QuerySet[PsychotherapyNote]:
    return PsychotherapyNote.objects.filter(author_id=user.pk, chart_id=chart.pk, practice_id=user.practice_id)


def export_get_for_user(*, user: User, export_id: object) -> RecordExport:
    """A copy of the record, for the person who asked for it, and only while they still reach the
    chart (a guardian whose authority ended, a deactivated account: NotVisible)."""
    pk = _uuid(export_id)
    export = RecordExport.objects.select_related("chart").filter(pk=pk, requested_by=user).first() if pk else None
    if export is None or _chart_reach(user=user, chart_id=export.chart_id, need=Need.SUMMARY) is None:
        raise NotVisible("records.recordexport", export_id)
    return export


def recent_emergency_accesses(*, user: User, limit: int = 10) -> QuerySet[EmergencyAccess]:
    return (
        EmergencyAccess.objects.filter(chart__practice_id=user.practice_id)
        .select_related("therapist", "chart__client")
        .order_by("-started_at")[:limit]
    )


def is_valid_id(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except (ValueError, ValidationError):
        return False
    return True


# Work queues for the home page ------------------------------------------------------------------


_BEFORE = timedelta(microseconds=1)  # "never looked" is before anything was answered


def drafts_to_sign(*, author: User) -> QuerySet[ProgressNote]:
    """The author's own unsigned notes, on charts they are still on the care team of, oldest first."""
    return (
        ProgressNote.objects.filter(author=author, signed_at=None, chart__care_team=author)
        .select_related("chart__client")
        .order_by("created_at")
    )


def clinical_readers(*, chart: ClientChart) -> list[User]:
    """Who a clinical alert about this chart goes to (home card, live push, e-mail): the members
    of its care team who can open its clinical content now. Never an admin (who never reads
    clinical content, whatever other roles the account holds), nor a therapist whom a gate keeps
    out (training overdue, where the practice blocks)."""
    return [
        member
        for member in chart.care_team.filter(is_active=True).order_by("pk")
        if chart_access(user=member, chart=chart) is Access.CARE_TEAM and not clinical_refusal(member)
    ]


def questionnaires_unopened(*, user: User, days: int = 60, limit: int = 20) -> list[tuple[Assessment, bool]]:
    """Questionnaires completed on the user's care-team charts since the user last opened that
    chart (the audit trail knows who opened what), each with whether it needs attention now (PHQ-9
    item 9 above 0), those first, then the newest.

    No audit event: nothing of the answers or the score is shown, only that it needs attention,
    which the care team was already told when it came in. Nothing for an account that cannot
    open the charts it would point to (clinical_readers).
    """
    if user.has_role(Role.ADMIN) or clinical_refusal(user):
        return []
    completed = list(
        Assessment.objects.filter(chart__care_team=user, completed_at__gte=timezone.now() - timedelta(days=days))
        .select_related("chart__client")
        .order_by("-completed_at")[: limit * 3]
    )
    # A chart's questionnaires are read on the chart (the page, or the API's list of them).
    views = AuditEvent.objects.filter(
        actor_id=user.pk,
        action__in=[Action.CHART_VIEW, Action.ASSESSMENT_VIEW],
        subject_client_id__in={a.chart.client_id for a in completed},
    ).values_list("subject_client_id", "occurred_at")
    last_look: dict[int | None, Any] = {}
    for client_id, occurred_at in views:
        last_look[client_id] = max(occurred_at, last_look.get(client_id, occurred_at))
    unopened = [
        a for a in completed if a.chart.client_id not in last_look or last_look[a.chart.client_id] < a.completed_at
    ]
    unopened = unopened[:limit]

    def attention(assessment: Assessment) -> bool:
        try:
            return bool(json.loads(assessment.result or "{}").get("self_harm_alert"))
        except ValueError:
            return False

    found = [(assessment, attention(assessment)) for assessment in unopened]
    found.sort(key=lambda pair: (not pair[1], -pair[0].completed_at.timestamp()))  # type: ignore[union-attr]
    return found


def questionnaires_to_answer(*, client: User) -> QuerySet[Assessment]:
    return Assessment.objects.filter(chart__client=client, completed_at=None).order_by("assigned_at")


def notes_shared_with(*, client: User, limit: int = 5) -> QuerySet[ProgressNote]:
    """Signed notes the client's therapists chose to share with them, newest first (their dates
    and authors, for the home page; reading one is audited on the record page)."""
    return (
        ProgressNote.objects.filter(chart__client=client, signed_at__isnull=False, shared_at__isnull=False)
        .select_related("author")
        .order_by("-shared_at")[:limit]
    )
