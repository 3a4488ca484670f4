"""A client's view of who opened their record: when, who (name and role), and what kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from accounts.models import User
from audit.models import Action, AuditEvent, AuditSubject
from records.models import EmergencyAccess
from records.selectors import Need, chart_for_client, chart_reaches

PSYCHOTHERAPY_ACTIONS = {Action.PSYCHOTHERAPY_NOTE_VIEW.value, Action.PSYCHOTHERAPY_NOTE_WRITE.value}
# What the client sees for each kind of event, in plain words.
PLAIN_WORDS = {
    Action.CHART_VIEW: "opened your chart",
    Action.CHART_UPDATE: "updated your details",
    Action.NOTE_VIEW: "read a session note",
    Action.NOTE_LIST: "looked through your session notes",
    Action.NOTE_CREATE: "wrote a session note",
    Action.NOTE_UPDATE: "edited a draft session note",
    Action.NOTE_SIGN: "signed a session note",
    Action.NOTE_ADDENDUM: "added to a session note",
    Action.NOTE_SHARE: "shared a session note with you",
    Action.NOTE_UNSHARE: "stopped sharing a session note with you",
    Action.ASSESSMENT_ASSIGN: "asked you to fill in a questionnaire",
    Action.ASSESSMENT_VIEW: "looked at your questionnaires",
    Action.BILLING_VIEW: "looked at your billing",
    Action.BILLING_WRITE: "changed your billing",
    Action.DIAGNOSIS_VIEW: "looked at your diagnoses",
    Action.DIAGNOSIS_CHANGE: "changed your diagnoses",
    Action.PAYMENT_RECORD: "recorded a payment on your account",
    Action.BALANCE_ADJUST: "adjusted your account",
    Action.INVOICE_ISSUE: "issued you an invoice",
    Action.COVERAGE_CHANGE: "updated your insurance details",
    Action.CLAIM_CHANGE: "made or updated an insurance claim for you",
    Action.EMERGENCY_ACCESS: "used emergency access to your chart",
    Action.RECORD_EXPORT: "prepared or downloaded a copy of your record",
    Action.CONSENT_SIGNATURE_VIEW: "viewed a consent form you signed",
    Action.CONSENT_REQUEST: "asked you to sign a consent form",
    Action.CONSENT_AGREEMENT_RECORD: "recorded an agreement with you",
    Action.CONSENT_STATUS_VIEW: "looked at your consent forms",
    Action.CHART_LIST: "looked at a list of clients that includes you",
    Action.APPOINTMENT_LIST: "looked at a list of sessions that includes yours",
    Action.INCIDENT_VIEW: "read a privacy concern you reported",
    Action.INCIDENT_AFFECTED: "looked at whether a privacy incident involved you",
    Action.INCIDENT_NOTICE: "sent you a notice about a privacy incident",
    Action.RECOVERY_APPROVE: "approved resetting your account's second factors, having checked it was you",
    Action.RECOVERY_CONFIRM: "confirmed resetting your account's second factors",
    Action.RECOVERY_CANCEL: "stopped the reset of your account's second factors",
    Action.ACCESS_DENIED: "was refused access to your record",
    Action.INTEGRITY_FAILURE: "hit data that failed its integrity check",
}
PAGE_SIZE = 50


@dataclass(frozen=True)
class AccessEntry:
    event_id: int
    when: datetime
    who: str
    role: str
    what: str
    reason: str
    flagged: bool
    outcome: str


def record_access_for(
    *, client: User, reader: User | None = None, before: int | None = None
) -> tuple[list[AccessEntry], int | None]:
    """Every access by someone else to this client's record, newest first, a page at a time.

    The reason given for emergency access is clinical content: it is shown only to a reader the
    chart's door lets read clinical content (the client; a guardian only where the chart shares
    clinical content with guardians)."""
    # The events about this client alone, and those about several clients at once that name them.
    about = Q(subject_client_id=client.pk) | Q(
        pk__in=AuditSubject.objects.filter(client_id=client.pk).values("event_id")
    )
    events = (
        AuditEvent.objects.filter(about, practice_id=client.practice_id, actor_id__isnull=False)
        .exclude(actor_id=client.pk)
        # A therapist's psychotherapy notes are theirs alone: the client's page shows nothing of them.
        .exclude(action__in=PSYCHOTHERAPY_ACTIONS)
        .exclude(target_type="records.psychotherapynote")
        .order_by("-id")
    )
    if before is not None:
        events = events.filter(id__lt=before)
    page = list(events[: PAGE_SIZE + 1])
    more = page[PAGE_SIZE].id if len(page) > PAGE_SIZE else None
    page = page[:PAGE_SIZE]
    names = dict(User.objects.filter(pk__in={e.actor_id for e in page}).values_list("pk", "full_name"))
    reasons = _emergency_reasons(page) if _reads_clinical(reader or client, client) else {}
    entries = []
    for event in page:
        what = PLAIN_WORDS.get(Action(event.action), Action(event.action).label.lower())
        entries.append(
            AccessEntry(
                event_id=event.id,
                when=event.occurred_at,
                who=names.get(event.actor_id or 0, "A former member of the practice"),
                role=event.actor_role.replace(",", ", "),
                what=what,
                reason=reasons.get(event.details.get("emergency_access_id", ""), ""),
                flagged=event.flagged,
                outcome=event.outcome,
            )
        )
    return entries, more


def _emergency_reasons(events: list[AuditEvent]) -> dict[str, str]:
    ids = {e.details.get("emergency_access_id") for e in events if e.action == Action.EMERGENCY_ACCESS}
    ids.discard(None)
    return {str(a.pk): a.reason for a in EmergencyAccess.objects.filter(pk__in=ids)}


def _reads_clinical(reader: User, client: User) -> bool:
    chart = chart_for_client(client=client)
    return chart is not None and chart_reaches(user=reader, chart_id=chart.pk, need=Need.CLINICAL)
