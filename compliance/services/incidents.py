"""Privacy incidents and breaches (45 CFR 164.400-414): reporting one, reading it, and the admins'
work on it (triage, messages, a law-enforcement delay, the letter, status, closing and reopening).

Anyone in the practice may report a concern: a client or guardian from their portal, a member of
staff, or the platform itself (an anomaly alert, a failed audit verification, a lost device
someone reported). The reporter is told it arrived and can follow it; only admins triage it. Who
may see an incident (its reporter and the practice's admins) is decided in
``compliance.selectors``; what it is now, in ``compliance.incident_rules``; who it affected, in
``incident_people``; its notices, in ``incident_notices``."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Practice, Role, User
from audit.models import Action, AuditFlag, FlagRule
from audit.services import audit_record
from compliance.incident_rules import (
    BREACH_TYPES,
    EXCLUSIONS,
    FACTORS,
    LETTER_ELEMENTS,
    LOCATIONS,
    OUTCOMES,
    TARGET,
    Delay,
    IncidentState,
    Triage,
    incident_state,
    written_day,
)
from compliance.inputs import choice_field, day_field, text_field, yes
from compliance.models import EntryKind, Incident, IncidentEntry, IncidentSource
from compliance.selectors import admin_only
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, ServiceError


def admins_of(practice_id: int) -> list[str]:
    return list(
        User.objects.filter(practice_id=practice_id, role_grants__role=Role.ADMIN, is_active=True)
        .values_list("email", flat=True)
        .distinct()
    )


def link_to(incident: Incident) -> str:
    return (settings.SITE_URL or "").rstrip("/") + reverse("incidents:detail", args=[incident.pk])


def entry_add(incident: Incident, kind: str, *, by: User | None, person: User | None = None, data: Any = None,
           text: str = "", at: dt.datetime | None = None) -> IncidentEntry:  # fmt: skip
    return IncidentEntry.objects.create(
        incident=incident, kind=kind, at=at or timezone.now(), by=by, person=person, data=data or {}, text=text
    )


def incident_open(
    *, practice_id: int, source: str, summary: str, reporter: User | None, happened_on: dt.date | None = None,
    flag_id: int | None = None,
) -> Incident:  # fmt: skip
    Practice.objects.select_for_update().filter(pk=practice_id).first()
    last = Incident.objects.filter(practice_id=practice_id).order_by("-number").values_list("number", flat=True)
    role = ""
    if reporter is not None:
        role = next((r for r in (Role.ADMIN, Role.THERAPIST, Role.GUARDIAN, Role.CLIENT) if reporter.has_role(r)), "")
    incident = Incident.objects.create(
        practice_id=practice_id, number=(last.first() or 0) + 1, source=source, reported_at=timezone.now(),
        reporter=reporter, reporter_role=role, summary=summary, happened_on=happened_on, flag_id=flag_id,
    )  # fmt: skip
    entry_add(incident, EntryKind.ACKNOWLEDGED, by=None)
    return incident


def tell_admins(incident: Incident, what: str) -> None:
    admins = admins_of(incident.practice_id)
    if admins:
        send_mail(
            subject=f"Privacy incident {incident.number}: {what}",
            message=(
                f"{what.capitalize()} (incident {incident.number}, "
                f"{IncidentSource(incident.source).label.lower()}).\n\n"
                f"Triage it: {link_to(incident)}\n\nThe details are on the platform, not in this e-mail.\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=admins,
        )


def incident_report(
    *, actor: User, summary: object, happened_on: object = None, context: AuditContext | None, source: str | None = None
) -> Incident:
    """A concern reported by someone signed in: acknowledged at once, to them and to the admins."""
    text = text_field(summary, "summary", required=True)
    day = day_field(happened_on, "happened_on", not_after=timezone.localdate())
    staff = actor.has_role(Role.ADMIN, Role.THERAPIST)
    with transaction.atomic():
        incident = incident_open(
            practice_id=actor.practice_id,
            source=source or (IncidentSource.STAFF if staff else IncidentSource.CLIENT),
            summary=text,
            reporter=actor,
            happened_on=day,
        )
        audit_record(
            action=Action.INCIDENT_REPORT, actor=actor, context=context, target=incident,
            subject_client_id=actor.pk if actor.has_role(Role.CLIENT) else None,
            details={"number": incident.number, "source": incident.source},
        )  # fmt: skip
        transaction.on_commit(lambda: acknowledge(incident))
    return incident


def acknowledge(incident: Incident) -> None:
    reporter = incident.reporter
    if reporter is not None:
        received = written_day(timezone.localtime(incident.reported_at).date())
        send_mail(
            subject=f"We received your privacy concern (number {incident.number})",
            message=(
                f"Hello {reporter.full_name},\n\nThank you for telling us. Your report reached the practice's "
                f"privacy officers on {received}; they will look into it and reply on the "
                f"platform. You can follow it at {link_to(incident)}.\n\nWhat you wrote is kept sealed on the "
                "platform and is not repeated in e-mail.\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[reporter.email],
        )
    tell_admins(incident, "a concern was reported")


# Alerts that open an incident by themselves: each may be someone reading what they should not.
INCIDENT_RULES = {
    FlagRule.MANY_CHARTS: IncidentSource.ANOMALY,
    FlagRule.OUTSIDE_HOURS: IncidentSource.ANOMALY,
    FlagRule.REPEATED_DENIALS: IncidentSource.ANOMALY,
    FlagRule.VERIFICATION_FAILED: IncidentSource.VERIFICATION,
}


def incident_from_flag(flag: AuditFlag) -> Incident | None:
    source = INCIDENT_RULES.get(FlagRule(flag.rule))
    if source is None or not flag.practice_id:
        return None
    with transaction.atomic():
        incident = incident_open(
            practice_id=flag.practice_id, source=source, reporter=None, flag_id=flag.pk,
            summary=f"Opened from an alert: {flag.summary}",
        )  # fmt: skip
        audit_record(
            action=Action.INCIDENT_REPORT, practice_id=flag.practice_id, target=incident,
            details={"number": incident.number, "source": source, "flag": flag.pk},
        )  # fmt: skip
        transaction.on_commit(lambda: tell_admins(incident, "an alert opened a possible incident"))
    return incident


# Reading -----------------------------------------------------------------------------------------


def incident_read(*, user: User, incident: Incident, context: AuditContext | None) -> IncidentState:
    """What the asker may see of it; an admin's reading is audited, naming a client reporter."""
    state = incident_state(incident)
    if incident.reporter_id != user.pk:
        reporter = incident.reporter
        audit_record(
            action=Action.INCIDENT_VIEW, actor=user, context=context, target=incident,
            subject_client_id=reporter.pk if reporter is not None and reporter.has_role(Role.CLIENT) else None,
            details={"number": incident.number},
        )  # fmt: skip
    return state


def reporter_messages(state: IncidentState) -> list[dict[str, Any]]:
    """What the reporter sees: the acknowledgement, messages both ways, closing and reopening."""
    shown = []
    reporter_id = state.incident.reporter_id
    for entry in state.entries:
        if entry.kind == EntryKind.ACKNOWLEDGED:
            shown.append({"at": entry.at, "from": "practice", "text": "Your report was received."})
        elif entry.kind == EntryKind.MESSAGE:
            mine = entry.by_id == reporter_id
            shown.append({"at": entry.at, "from": "reporter" if mine else "practice", "text": entry.text})
        elif entry.kind == EntryKind.CLOSED:
            shown.append({"at": entry.at, "from": "practice", "text": "The practice closed this report."})
        elif entry.kind == EntryKind.REOPENED:
            shown.append({"at": entry.at, "from": "practice", "text": "The practice reopened this report."})
    return shown


# Working on it (admins) --------------------------------------------------------------------------


def incident_lock(incident: Incident) -> None:
    """Work on one incident at a time. Incidents are append-only (the runtime role may not take
    a row lock on them), so the practice's row is the lock."""
    Practice.objects.select_for_update().filter(pk=incident.practice_id).first()


def changeable(state: IncidentState) -> None:
    if state.status == "closed":
        raise Conflict("This incident is closed: reopen it first.")


def did(actor: User, incident: Incident, context: AuditContext | None, what: str, **details: Any) -> None:
    audit_record(
        action=Action.INCIDENT_UPDATE, actor=actor, context=context, target=incident,
        details={"number": incident.number, "change": what, **details},
    )  # fmt: skip


def incident_triage(*, actor: User, incident: Incident, fields: dict[str, Any], context: AuditContext | None) -> Triage:
    """Record (again) the discovery date, exclusions, whether the information was unsecured, the
    four-factor assessment and its outcome. The latest triage is the one that counts."""
    admin_only(actor, TARGET)
    today = timezone.localdate()
    with transaction.atomic():
        incident_lock(incident)
        state = incident_state(incident)
        changeable(state)
        # Known to the practice at the latest when someone first told it: discovery is no later.
        reported = timezone.localdate(incident.reported_at)
        discovered = day_field(fields.get("discovered_on"), "discovered_on", required=True, not_after=today)
        if discovered is not None and discovered > reported:
            raise ServiceError(
                f"The practice knew of it when it was first reported, on {written_day(reported)}: "
                "the discovery date is that day or earlier.",
                field="discovered_on",
            )
        breach_on = day_field(fields.get("breach_on"), "breach_on", not_after=today)
        ended_on = day_field(fields.get("breach_ended_on"), "breach_ended_on", not_after=today)
        assert discovered is not None
        if breach_on and breach_on > discovered:
            raise ServiceError("A breach is discovered on or after the day it happened.", field="breach_on")
        if breach_on and ended_on and ended_on < breach_on:
            raise ServiceError("It cannot end before it began.", field="breach_ended_on")
        exclusion = choice_field(fields.get("exclusion", ""), EXCLUSIONS, "exclusion")
        sealed, exposed = yes(fields.get("data_sealed")), yes(fields.get("keys_exposed"))
        unsecured = yes(fields.get("unsecured")) if "unsecured" in fields else not (sealed and not exposed)
        outcome = choice_field(fields.get("outcome"), OUTCOMES, "outcome")
        factors = {key: text_field(fields.get(key), key) for key in FACTORS}
        reasons = text_field(fields.get("reasons"), "reasons")
        breach_type = choice_field(fields.get("breach_type") or "other", BREACH_TYPES, "breach_type")
        location = choice_field(fields.get("location") or "server", LOCATIONS, "location")
        if outcome == "excluded" and not exclusion:
            raise ServiceError("Say which exclusion applies.", field="exclusion")
        if outcome == "secured" and unsecured:
            raise ServiceError("The safe harbor applies only to information that was not unsecured.", field="outcome")
        if outcome == "low_probability":
            for key in FACTORS:
                if not factors[key]:
                    raise ServiceError("A low probability of compromise rests on all four factors.", field=key)
            if not reasons:
                raise ServiceError("Keep the reasons for the conclusion.", field="reasons")
        if outcome == "notify" and exclusion:
            raise ServiceError("An exclusion applies: it is not a breach to notify.", field="outcome")
        data = {
            "discovered_on": discovered.isoformat(),
            "breach_on": breach_on.isoformat() if breach_on else "",
            "breach_ended_on": ended_on.isoformat() if ended_on else "",
            "exclusion": exclusion, "data_sealed": sealed, "keys_exposed": exposed, "unsecured": unsecured,
            "breach_type": breach_type, "location": location, "outcome": outcome,
        }  # fmt: skip
        # A new triage that moves a deadline says so, with a reason, in the history and the audit trail.
        moved = []
        if state.triage is not None:
            before = {d.audience: d.due for d in state.deadlines()}
            after_state = incident_state(incident)
            after_state.triage = Triage(
                discovered_on=discovered, breach_on=breach_on, breach_ended_on=ended_on, exclusion=exclusion,
                data_sealed=sealed, keys_exposed=exposed, unsecured=unsecured, breach_type=breach_type,
                location=location, outcome=outcome, factors=factors, reasons=reasons, at=timezone.now(),
                by_id=actor.pk,
            )  # fmt: skip
            after = {d.audience: d.due for d in after_state.deadlines()}
            moved = [
                {"audience": audience, "from": before[audience].isoformat(), "to": after[audience].isoformat()}
                for audience in sorted(set(before) & set(after))
                if before[audience] != after[audience]
            ]
        change_reason = text_field(fields.get("change_reason"), "change_reason")
        if moved and not change_reason:
            said = "; ".join(f"{m['audience']}: {m['from']} to {m['to']}" for m in moved)
            raise ServiceError(f"This moves the deadlines ({said}). Say why.", field="change_reason")
        if moved:
            data |= {"moved": moved, "change_reason": change_reason}
        entry_add(incident, EntryKind.TRIAGE, by=actor, data=data, text=json.dumps({**factors, "reasons": reasons}))
        summary = "; ".join(f"{m['audience']} {m['from']}>{m['to']}" for m in moved)
        did(
            actor, incident, context, "triage", outcome=outcome, discovered_on=data["discovered_on"],
            **({"deadlines_moved": summary} if moved else {}),
        )  # fmt: skip
    triage = incident_state(incident).triage
    assert triage is not None
    return triage


def incident_message(*, actor: User, incident: Incident, text: object, context: AuditContext | None) -> IncidentEntry:
    """A message between the reporter and the admins; the other side is told there is one."""
    if actor.pk != incident.reporter_id:
        admin_only(actor, TARGET)
    body = text_field(text, "text", required=True)
    with transaction.atomic():
        entry = entry_add(incident, EntryKind.MESSAGE, by=actor, text=body)
        did(actor, incident, context, "message")
    reporter = incident.reporter
    if actor.pk == incident.reporter_id:
        transaction.on_commit(lambda: tell_admins(incident, "the reporter added to their report"))
    elif reporter is not None:
        send_mail(
            subject=f"An update on your privacy concern (number {incident.number})",
            message=f"The practice replied to your report. Read it on the platform: {link_to(incident)}\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[reporter.email],
        )
    return entry


def incident_delay(*, actor: User, incident: Incident, fields: dict[str, Any], context: AuditContext | None) -> Delay:
    """A law-enforcement official said notice would impede an investigation (164.412)."""
    admin_only(actor, TARGET)
    start = day_field(fields.get("start"), "start", required=True, not_after=timezone.localdate())
    until = day_field(fields.get("until"), "until", required=True)
    assert start is not None and until is not None
    if until <= start:
        raise ServiceError("The delay ends after it starts.", field="until")
    agency = text_field(fields.get("agency"), "agency", required=True, limit=300)
    with transaction.atomic():
        changeable(incident_state(incident))
        written = yes(fields.get("written"))
        entry_add(
            incident, EntryKind.DELAY, by=actor, text=agency,
            data={"start": start.isoformat(), "until": until.isoformat(), "written": written},
        )  # fmt: skip
        did(actor, incident, context, "delay", until=until.isoformat(), written=written)
    return Delay(start=start, until=until, written=written, agency=agency)


def incident_letter(
    *, actor: User, incident: Incident, fields: dict[str, Any], context: AuditContext | None
) -> dict[str, str]:
    """The text of the notice to the people affected, element by element (164.404(c))."""
    admin_only(actor, TARGET)
    letter = {key: text_field(fields.get(key), key) for key in LETTER_ELEMENTS}
    with transaction.atomic():
        changeable(incident_state(incident))
        entry_add(incident, EntryKind.LETTER, by=actor, text=json.dumps(letter))
        did(actor, incident, context, "letter")
    return letter


def incident_status(
    *, actor: User, incident: Incident, fields: dict[str, Any], context: AuditContext | None
) -> IncidentState:
    """Close it, or reopen a closed one (``fields["action"]``), with the reason."""
    change = {"close": incident_close, "reopen": incident_reopen}.get(str(fields.get("action")))
    if change is None:
        raise ServiceError("Choose to close or to reopen it.", field="action")
    return change(actor=actor, incident=incident, reason=fields.get("reason"), context=context)


def incident_close(*, actor: User, incident: Incident, reason: object, context: AuditContext | None) -> IncidentState:
    admin_only(actor, TARGET)
    why = text_field(reason, "reason", required=True)
    with transaction.atomic():
        incident_lock(incident)
        state = incident_state(incident)
        changeable(state)
        if state.triage is None:
            raise Conflict("Triage it before closing it.")
        if state.notify and state.unnotified:
            raise Conflict(f"{len(state.unnotified)} people on the list have not been notified yet.")
        entry_add(incident, EntryKind.CLOSED, by=actor, text=why)
        did(actor, incident, context, "closed")
    return incident_state(incident)


def incident_reopen(*, actor: User, incident: Incident, reason: object, context: AuditContext | None) -> IncidentState:
    admin_only(actor, TARGET)
    why = text_field(reason, "reason", required=True)
    with transaction.atomic():
        incident_lock(incident)
        if incident_state(incident).status != "closed":
            raise Conflict("Only a closed incident can be reopened.")
        entry_add(incident, EntryKind.REOPENED, by=actor, text=why)
        did(actor, incident, context, "reopened")
    return incident_state(incident)
