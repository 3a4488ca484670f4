"""Privacy incidents and breaches (45 CFR 164.400-414): one door, and what can be done there.

Anyone in the practice may report a concern: a client or guardian from their portal, a member of
staff, or the platform itself (an anomaly alert, a failed audit verification, a lost device
someone reported). The reporter is told it arrived and can follow it; only admins triage it.

An incident is never edited. Every step (triage, each affected person's state, the notice
letter, a law-enforcement delay, each notice sent, closing and reopening) is an appended entry,
and ``incident_state`` folds them into what the incident is now. Deadlines are worked out from
the triage and the list of affected people by ``notification_deadlines``.

Who may see an incident: its reporter, and the practice's admins. Nobody else learns it exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Min, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import Practice, Role, User
from audit.models import Action, AuditEvent, AuditFlag, FlagRule, Outcome
from audit.services import audit_record
from review.doors import admin_only, found_in
from review.inputs import clean_text
from review.models import EntryKind, Incident, IncidentEntry, IncidentSource, Vendor
from sessions.regions import REGIONS, region_of_address
from teletherapy.errors import Conflict, NotAllowed, ServiceError

TARGET = "review.incident"
KEEP_YEARS = 6  # 164.530(j): documentation is kept six years from its last effective date
NOTIFY_WITHIN = dt.timedelta(days=60)  # 164.404(b), 164.406(b), 164.408(b)
YEARLY_LOG_AFTER = dt.timedelta(days=60)  # 164.408(c): within 60 days of the end of the year
HHS_AT_ONCE = 500  # 164.408(b): "500 or more"
MEDIA_ABOVE = 500  # 164.406(a): "more than 500 residents of a State or jurisdiction"
ORAL_DELAY_DAYS = 30  # 164.412(b)
REMIND_AT = (30, 14, 7, 3, 1, 0)  # days before a deadline; overdue, once a week
LOST_DEVICE_LOOKBACK = dt.timedelta(days=30)
REGION_NAMES = dict(REGIONS)

EXCLUSIONS = {
    "": "None applies",
    "good_faith_use": (
        "Unintentional acquisition, access or use by a workforce member acting in good faith, within "
        "their authority, and not used or disclosed further (164.402(1)(i))"
    ),
    "inadvertent_internal": (
        "Inadvertent disclosure between people authorized at the practice (or its business associate), "
        "not used or disclosed further (164.402(1)(ii))"
    ),
    "could_not_retain": (
        "A good-faith belief that the recipient could not reasonably have kept the information (164.402(1)(iii))"
    ),
}
OUTCOMES = {
    "notify": "A breach: notify",
    "low_probability": "Low probability that the information was compromised: no notice",
    "excluded": "Not a breach: an exclusion applies",
    "secured": "Not a breach: the information was secured (encryption safe harbor)",
    "not_privacy": "Not a privacy incident",
}
BREACH_TYPES = {
    "hacking": "Hacking or IT incident",
    "unauthorized": "Unauthorized access or disclosure",
    "theft": "Theft",
    "loss": "Loss",
    "disposal": "Improper disposal",
    "other": "Other",
}
LOCATIONS = {
    "server": "Network server",
    "email": "E-mail",
    "laptop": "Laptop",
    "desktop": "Desktop computer",
    "portable": "Other portable electronic device",
    "ehr": "Electronic health record",
    "paper": "Paper or films",
    "other": "Other",
}
FACTORS = {
    "nature": "The nature and extent of the information involved (kinds of identifiers, how likely "
    "re-identification is)",
    "recipient": "The unauthorized person who used it or to whom it was disclosed",
    "acquired": "Whether the information was actually acquired or viewed",
    "mitigation": "How far the risk to the information has been mitigated",
}
LETTER_ELEMENTS = {
    "what_happened": "What happened, in plain words (164.404(c)(1)(A))",
    "information": "The kinds of information involved, such as name, date of birth, diagnosis (164.404(c)(1)(B))",
    "steps": "What the person should do to protect themselves (164.404(c)(1)(C))",
    "our_response": "What the practice is doing to investigate, limit the harm and prevent it again (164.404(c)(1)(D))",
    "contact": "How to reach the practice: a toll-free number, an e-mail address, a website or a postal address "
    "(164.404(c)(1)(E))",
}
PERSON_STATES = {"included": "On the list", "excluded": "Taken off the list", "notified": "Notified"}
METHODS = {"post": "By post (first-class mail)", "email": "By e-mail (they agreed to electronic notice)"}
AUDIENCES = {"individual": "The people affected", "hhs": "HHS", "media": "The media"}
LIMIT = 4000


# The door ----------------------------------------------------------------------------------------


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


# What an incident is now -------------------------------------------------------------------------


@dataclass
class Person:
    person_id: int
    name: str
    email: str
    state: str = "included"
    residence: str = ""
    method: str = "post"
    found_by: str = ""
    reason: str = ""
    notified_at: dt.datetime | None = None
    notified_how: str = ""

    @property
    def residence_label(self) -> str:
        return REGION_NAMES.get(self.residence, self.residence)


@dataclass
class Triage:
    discovered_on: dt.date
    breach_on: dt.date | None
    breach_ended_on: dt.date | None
    exclusion: str
    data_sealed: bool
    keys_exposed: bool
    unsecured: bool
    breach_type: str
    location: str
    outcome: str
    factors: dict[str, str]
    reasons: str
    at: dt.datetime
    by_id: int | None

    @property
    def outcome_label(self) -> str:
        return OUTCOMES.get(self.outcome, self.outcome)


@dataclass
class Delay:
    start: dt.date
    until: dt.date
    written: bool
    agency: str

    @property
    def effective_until(self) -> dt.date:
        """An oral statement delays for at most 30 days unless it is put in writing (164.412(b))."""
        if self.written:
            return self.until
        return min(self.until, self.start + dt.timedelta(days=ORAL_DELAY_DAYS))


@dataclass
class Notice:
    audience: str
    method: str
    at: dt.datetime
    person_id: int | None
    sha256: str
    reference: str


@dataclass
class Deadline:
    audience: str
    label: str
    due: dt.date
    done_on: dt.date | None
    note: str = ""

    def days_left(self, today: dt.date) -> int:
        return (self.due - today).days

    def state(self, today: dt.date) -> str:
        if self.done_on:
            return "met" if self.done_on <= self.due else "late"
        return "overdue" if today > self.due else "due"


@dataclass
class IncidentState:
    incident: Incident
    entries: list[IncidentEntry]
    status: str = "received"  # received, open, closed
    triage: Triage | None = None
    letter: dict[str, str] = field(default_factory=dict)
    delay: Delay | None = None
    people: dict[int, Person] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    closed_at: dt.datetime | None = None
    last_entry_at: dt.datetime | None = None

    @property
    def included(self) -> list[Person]:
        return [p for p in self.people.values() if p.state != "excluded"]

    @property
    def residents(self) -> dict[str, int]:
        return dict(Counter(p.residence for p in self.included if p.residence))

    @property
    def residence_unknown(self) -> int:
        """People on the list whose state of residence is not known: they could tip a state over
        the media threshold, so they are counted and shown, never left out silently."""
        return sum(1 for p in self.included if not p.residence)

    @property
    def unnotified(self) -> list[Person]:
        return [p for p in self.people.values() if p.state == "included"]

    @property
    def notify(self) -> bool:
        return self.triage is not None and self.triage.outcome == "notify"

    @property
    def reporter_status(self) -> str:
        return {"received": "Received", "open": "Being looked into", "closed": "Closed"}[self.status]

    @property
    def keep_until(self) -> dt.date:
        last = self.last_entry_at or self.incident.reported_at
        day = timezone.localtime(last).date()
        try:
            return day.replace(year=day.year + KEEP_YEARS)
        except ValueError:  # 29 February
            return day.replace(year=day.year + KEEP_YEARS, day=28)

    def deadlines(self) -> list[Deadline]:
        if not self.notify or self.triage is None:
            return []
        return notification_deadlines(
            discovered_on=self.triage.discovered_on,
            affected=len(self.included),
            residents=self.residents,
            delay=self.delay,
            notices=self.notices,
            everyone_notified=bool(self.included) and not self.unnotified,
        )

    def missing_letter_elements(self) -> list[str]:
        missing = [label for key, label in LETTER_ELEMENTS.items() if not self.letter.get(key)]
        if self.triage is None:
            missing.insert(0, "The date the breach was discovered (triage)")
        return missing


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(str(value)) if value else None


def incident_state(incident: Incident) -> IncidentState:
    """Fold the incident's entries, oldest first, into what it is now."""
    entries = list(incident.entries.select_related("person").order_by("at", "id"))
    state = IncidentState(incident=incident, entries=entries)
    for entry in entries:
        data = entry.data or {}
        state.last_entry_at = entry.at
        if entry.kind == EntryKind.TRIAGE:
            text = json.loads(entry.text or "{}")
            state.triage = Triage(
                discovered_on=dt.date.fromisoformat(data["discovered_on"]),
                breach_on=_date(data.get("breach_on")),
                breach_ended_on=_date(data.get("breach_ended_on")),
                exclusion=data.get("exclusion", ""),
                data_sealed=bool(data.get("data_sealed")),
                keys_exposed=bool(data.get("keys_exposed")),
                unsecured=bool(data.get("unsecured", True)),
                breach_type=data.get("breach_type", ""),
                location=data.get("location", ""),
                outcome=data.get("outcome", ""),
                factors={key: text.get(key, "") for key in FACTORS},
                reasons=text.get("reasons", ""),
                at=entry.at,
                by_id=entry.by_id,
            )
            if state.status == "received":
                state.status = "open"
        elif entry.kind == EntryKind.AFFECTED and entry.person is not None:
            person = state.people.get(entry.person_id or 0) or Person(
                person_id=entry.person.pk, name=entry.person.full_name, email=entry.person.email
            )
            person.state = data.get("state", person.state)
            person.residence = data.get("residence", person.residence)
            person.method = data.get("method", person.method)
            person.found_by = data.get("found_by", person.found_by)
            person.reason = entry.text or person.reason
            state.people[person.person_id] = person
        elif entry.kind == EntryKind.LETTER:
            state.letter = json.loads(entry.text or "{}")
        elif entry.kind == EntryKind.DELAY:
            state.delay = Delay(
                start=dt.date.fromisoformat(data["start"]),
                until=dt.date.fromisoformat(data["until"]),
                written=bool(data.get("written")),
                agency=entry.text,
            )
        elif entry.kind == EntryKind.NOTICE:
            notice = Notice(
                audience=data.get("audience", "individual"),
                method=data.get("method", ""),
                at=entry.at,
                person_id=entry.person_id,
                sha256=data.get("sha256", ""),
                reference=entry.text if data.get("audience") != "individual" else "",
            )
            state.notices.append(notice)
            if notice.person_id in state.people:
                person = state.people[notice.person_id]
                person.state, person.notified_at, person.notified_how = "notified", entry.at, notice.method
        elif entry.kind == EntryKind.CLOSED:
            state.status, state.closed_at = "closed", entry.at
        elif entry.kind == EntryKind.REOPENED:
            state.status, state.closed_at = "open", None
        elif entry.kind == EntryKind.MESSAGE and state.status == "received" and entry.by_id != incident.reporter_id:
            state.status = "open"
    return state


def notification_deadlines(
    *,
    discovered_on: dt.date,
    affected: int,
    residents: dict[str, int],
    delay: Delay | None = None,
    notices: list[Notice] | None = None,
    everyone_notified: bool = False,
) -> list[Deadline]:
    """When each notice of a breach is due.

    - The people affected: without unreasonable delay and at most 60 days after discovery.
    - HHS: at the same time when 500 or more people are affected; otherwise in the yearly log,
      within 60 days of the end of the calendar year in which the breach was discovered.
    - The media: at the same time, when more than 500 residents of one state are affected.

    A law-enforcement delay (164.412) stops the clock for as long as it lasts (an oral one, for
    30 days at most): the days it covers are added to each deadline.
    """
    notices = notices or []
    held = 0
    if delay is not None:
        start = max(delay.start, discovered_on)
        held = max(0, (delay.effective_until - start).days)
    at_once = discovered_on + NOTIFY_WITHIN + dt.timedelta(days=held)

    def done(audience: str) -> dt.date | None:
        sent = [timezone.localtime(n.at).date() for n in notices if n.audience == audience]
        return max(sent) if sent else None

    individuals_done = done("individual") if everyone_notified else None
    held_note = f" Includes {held} days of law-enforcement delay." if held else ""
    deadlines = [
        Deadline(
            "individual", "Notice to each person affected", at_once, individuals_done,
            "Without unreasonable delay, and no later than 60 days after discovery." + held_note,
        ),
    ]  # fmt: skip
    if affected >= HHS_AT_ONCE:
        deadlines.append(
            Deadline(
                "hhs", "Notice to HHS", at_once, done("hhs"),
                f"{affected} people are affected (500 or more): at the same time as the notices to them.",
            )
        )  # fmt: skip
    else:
        year_end = dt.date(discovered_on.year, 12, 31) + YEARLY_LOG_AFTER
        deadlines.append(
            Deadline(
                "hhs", f"HHS, in the yearly log of {discovered_on.year}", max(year_end, at_once), done("hhs"),
                f"{affected} affected (fewer than 500): within 60 days of the end of {discovered_on.year}.",
            )
        )  # fmt: skip
    many = sorted(region for region, count in residents.items() if count > MEDIA_ABOVE)
    if many:
        names = ", ".join(f"{REGION_NAMES.get(r, r)} ({residents[r]})" for r in many)
        deadlines.append(
            Deadline(
                "media", "Notice to prominent media outlets", at_once, done("media"),
                f"More than 500 residents of {names}.",
            )
        )  # fmt: skip
    return deadlines


# Reporting ---------------------------------------------------------------------------------------


def _text(value: object, name: str, *, required: bool = False, limit: int = LIMIT) -> str:
    return clean_text(value, field=name, limit=limit, required=required)


def _day(value: object, name: str, *, required: bool = False, not_after: dt.date | None = None) -> dt.date | None:
    if value in (None, ""):
        if required:
            raise ServiceError("Give a date.", field=name)
        return None
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        raise ServiceError("Give a date as YYYY-MM-DD.", field=name) from None
    if not dt.date(2000, 1, 1) <= day <= (not_after or dt.date(2200, 1, 1)):
        raise ServiceError("That date cannot be right.", field=name)
    return day


def _admins(practice_id: int) -> list[str]:
    return list(
        User.objects.filter(practice_id=practice_id, role_grants__role=Role.ADMIN, is_active=True)
        .values_list("email", flat=True)
        .distinct()
    )


def _link(incident: Incident) -> str:
    return (settings.SITE_URL or "").rstrip("/") + reverse("incidents:detail", args=[incident.pk])


def _entry(incident: Incident, kind: str, *, by: User | None, person: User | None = None, data: Any = None,
           text: str = "", at: dt.datetime | None = None) -> IncidentEntry:  # fmt: skip
    return IncidentEntry.objects.create(
        incident=incident, kind=kind, at=at or timezone.now(), by=by, person=person, data=data or {}, text=text
    )


def _open_incident(
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
    _entry(incident, EntryKind.ACKNOWLEDGED, by=None)
    return incident


def _tell_admins(incident: Incident, what: str) -> None:
    admins = _admins(incident.practice_id)
    if admins:
        send_mail(
            subject=f"Privacy incident {incident.number}: {what}",
            message=(
                f"{what.capitalize()} (incident {incident.number}, "
                f"{IncidentSource(incident.source).label.lower()}).\n\n"
                f"Triage it: {_link(incident)}\n\nThe details are on the platform, not in this e-mail.\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=admins,
        )


def incident_report(
    *, actor: User, summary: object, happened_on: object = None, request: Any, source: str | None = None
) -> Incident:
    """A concern reported by someone signed in: acknowledged at once, to them and to the admins."""
    text = _text(summary, "summary", required=True)
    day = _day(happened_on, "happened_on", not_after=timezone.localdate())
    staff = actor.has_role(Role.ADMIN, Role.THERAPIST)
    with transaction.atomic():
        incident = _open_incident(
            practice_id=actor.practice_id,
            source=source or (IncidentSource.STAFF if staff else IncidentSource.CLIENT),
            summary=text,
            reporter=actor,
            happened_on=day,
        )
        audit_record(
            action=Action.INCIDENT_REPORT, actor=actor, request=request, target=incident,
            subject_client_id=actor.pk if actor.has_role(Role.CLIENT) else None,
            details={"number": incident.number, "source": incident.source},
        )  # fmt: skip
        transaction.on_commit(lambda: _acknowledge(incident))
    return incident


def _acknowledge(incident: Incident) -> None:
    reporter = incident.reporter
    if reporter is not None:
        received = _written(timezone.localtime(incident.reported_at).date())
        send_mail(
            subject=f"We received your privacy concern (number {incident.number})",
            message=(
                f"Hello {reporter.full_name},\n\nThank you for telling us. Your report reached the practice's "
                f"privacy officers on {received}; they will look into it and reply on the "
                f"platform. You can follow it at {_link(incident)}.\n\nWhat you wrote is kept sealed on the "
                "platform and is not repeated in e-mail.\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[reporter.email],
        )
    _tell_admins(incident, "a concern was reported")


def device_lost(*, request: Any, description: object, lost_on: object) -> tuple[Incident, int]:
    """Someone lost a device they use the platform on: every other signed-in session of theirs
    ends, and an incident opens with the people whose records they opened in the month before
    (themselves, for a client) already on its list for the admins to review."""
    from accounts.services import sessions_revoke_others

    actor: User = request.user
    day = _day(lost_on, "lost_on", required=True, not_after=timezone.localdate())
    assert day is not None
    what = _text(description, "description", required=True, limit=1000)
    with transaction.atomic():
        ended = sessions_revoke_others(request=request, reason="device_lost")
        incident = _open_incident(
            practice_id=actor.practice_id, source=IncidentSource.LOST_DEVICE, reporter=actor, happened_on=day,
            summary=f"A device was lost or stolen: {what}",
        )  # fmt: skip
        start = timezone.make_aware(dt.datetime.combine(day - LOST_DEVICE_LOOKBACK, dt.time.min))
        found = _touched_by(actor.practice_id, actor.pk, start, timezone.now())
        affected_add(
            incident, found, by=None,
            found_by=f"Opened by {actor.full_name} in the 30 days before the device was lost",
        )  # fmt: skip
        audit_record(
            action=Action.DEVICE_LOST, actor=actor, request=request, target=incident,
            details={"number": incident.number, "sessions_ended": ended, "lost_on": day.isoformat()},
        )  # fmt: skip
        transaction.on_commit(lambda: _acknowledge(incident))
    return incident, ended


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
        incident = _open_incident(
            practice_id=flag.practice_id, source=source, reporter=None, flag_id=flag.pk,
            summary=f"Opened from an alert: {flag.summary}",
        )  # fmt: skip
        audit_record(
            action=Action.INCIDENT_REPORT, practice_id=flag.practice_id, target=incident,
            details={"number": incident.number, "source": source, "flag": flag.pk},
        )  # fmt: skip
        transaction.on_commit(lambda: _tell_admins(incident, "an alert opened a possible incident"))
    return incident


# Reading -----------------------------------------------------------------------------------------


def incident_read(*, user: User, incident: Incident, request: Any) -> IncidentState:
    """What the asker may see of it; an admin's reading is audited, naming a client reporter."""
    state = incident_state(incident)
    if incident.reporter_id != user.pk:
        reporter = incident.reporter
        audit_record(
            action=Action.INCIDENT_VIEW, actor=user, request=request, target=incident,
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


def _lock(incident: Incident) -> None:
    """Work on one incident at a time. Incidents are append-only (the runtime role may not take
    a row lock on them), so the practice's row is the lock."""
    Practice.objects.select_for_update().filter(pk=incident.practice_id).first()


def _changeable(state: IncidentState) -> None:
    if state.status == "closed":
        raise Conflict("This incident is closed: reopen it first.")


def _did(actor: User, incident: Incident, request: Any, what: str, **details: Any) -> None:
    audit_record(
        action=Action.INCIDENT_UPDATE, actor=actor, request=request, target=incident,
        details={"number": incident.number, "change": what, **details},
    )  # fmt: skip


def _choice(value: object, choices: dict[str, str], name: str) -> str:
    text = str(value or "")
    if text not in choices:
        raise ServiceError("Choose one of the options.", field=name)
    return text


def _yes(value: object) -> bool:
    return value in (True, "1", "on", "true", "yes", 1)


def safe_harbor_suggestion(*, data_sealed: bool, keys_exposed: bool) -> str:
    """What the answers suggest about "unsecured" information (HHS guidance under 164.402)."""
    if data_sealed and not keys_exposed:
        return (
            "The information was encrypted and its keys were not exposed: it was not unsecured, the "
            "encryption safe harbor applies, and no notice is required."
        )
    if data_sealed:
        return "The information was encrypted, but its keys were exposed too: treat it as unsecured."
    return "The information was not encrypted where it was exposed: it was unsecured."


def incident_triage(*, actor: User, incident: Incident, fields: dict[str, Any], request: Any) -> Triage:
    """Record (again) the discovery date, exclusions, whether the information was unsecured, the
    four-factor assessment and its outcome. The latest triage is the one that counts."""
    admin_only(actor, TARGET)
    today = timezone.localdate()
    with transaction.atomic():
        _lock(incident)
        state = incident_state(incident)
        _changeable(state)
        # Known to the practice at the latest when someone first told it: discovery is no later.
        reported = timezone.localdate(incident.reported_at)
        discovered = _day(fields.get("discovered_on"), "discovered_on", required=True, not_after=today)
        if discovered is not None and discovered > reported:
            raise ServiceError(
                f"The practice knew of it when it was first reported, on {_written(reported)}: "
                "the discovery date is that day or earlier.",
                field="discovered_on",
            )
        breach_on = _day(fields.get("breach_on"), "breach_on", not_after=today)
        ended_on = _day(fields.get("breach_ended_on"), "breach_ended_on", not_after=today)
        assert discovered is not None
        if breach_on and breach_on > discovered:
            raise ServiceError("A breach is discovered on or after the day it happened.", field="breach_on")
        if breach_on and ended_on and ended_on < breach_on:
            raise ServiceError("It cannot end before it began.", field="breach_ended_on")
        exclusion = _choice(fields.get("exclusion", ""), EXCLUSIONS, "exclusion")
        sealed, exposed = _yes(fields.get("data_sealed")), _yes(fields.get("keys_exposed"))
        unsecured = _yes(fields.get("unsecured")) if "unsecured" in fields else not (sealed and not exposed)
        outcome = _choice(fields.get("outcome"), OUTCOMES, "outcome")
        factors = {key: _text(fields.get(key), key) for key in FACTORS}
        reasons = _text(fields.get("reasons"), "reasons")
        breach_type = _choice(fields.get("breach_type") or "other", BREACH_TYPES, "breach_type")
        location = _choice(fields.get("location") or "server", LOCATIONS, "location")
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
        change_reason = _text(fields.get("change_reason"), "change_reason")
        if moved and not change_reason:
            said = "; ".join(f"{m['audience']}: {m['from']} to {m['to']}" for m in moved)
            raise ServiceError(f"This moves the deadlines ({said}). Say why.", field="change_reason")
        if moved:
            data |= {"moved": moved, "change_reason": change_reason}
        _entry(incident, EntryKind.TRIAGE, by=actor, data=data, text=json.dumps({**factors, "reasons": reasons}))
        summary = "; ".join(f"{m['audience']} {m['from']}>{m['to']}" for m in moved)
        _did(
            actor, incident, request, "triage", outcome=outcome, discovered_on=data["discovered_on"],
            **({"deadlines_moved": summary} if moved else {}),
        )  # fmt: skip
    triage = incident_state(incident).triage
    assert triage is not None
    return triage


def incident_message(*, actor: User, incident: Incident, text: object, request: Any) -> IncidentEntry:
    """A message between the reporter and the admins; the other side is told there is one."""
    if actor.pk != incident.reporter_id:
        admin_only(actor, TARGET)
    body = _text(text, "text", required=True)
    with transaction.atomic():
        entry = _entry(incident, EntryKind.MESSAGE, by=actor, text=body)
        _did(actor, incident, request, "message")
    reporter = incident.reporter
    if actor.pk == incident.reporter_id:
        transaction.on_commit(lambda: _tell_admins(incident, "the reporter added to their report"))
    elif reporter is not None:
        send_mail(
            subject=f"An update on your privacy concern (number {incident.number})",
            message=f"The practice replied to your report. Read it on the platform: {_link(incident)}\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[reporter.email],
        )
    return entry


def incident_delay(*, actor: User, incident: Incident, fields: dict[str, Any], request: Any) -> Delay:
    """A law-enforcement official said notice would impede an investigation (164.412)."""
    admin_only(actor, TARGET)
    start = _day(fields.get("start"), "start", required=True, not_after=timezone.localdate())
    until = _day(fields.get("until"), "until", required=True)
    assert start is not None and until is not None
    if until <= start:
        raise ServiceError("The delay ends after it starts.", field="until")
    agency = _text(fields.get("agency"), "agency", required=True, limit=300)
    with transaction.atomic():
        _changeable(incident_state(incident))
        written = _yes(fields.get("written"))
        _entry(
            incident, EntryKind.DELAY, by=actor, text=agency,
            data={"start": start.isoformat(), "until": until.isoformat(), "written": written},
        )  # fmt: skip
        _did(actor, incident, request, "delay", until=until.isoformat(), written=written)
    return Delay(start=start, until=until, written=written, agency=agency)


def incident_letter(*, actor: User, incident: Incident, fields: dict[str, Any], request: Any) -> dict[str, str]:
    """The text of the notice to the people affected, element by element (164.404(c))."""
    admin_only(actor, TARGET)
    letter = {key: _text(fields.get(key), key) for key in LETTER_ELEMENTS}
    with transaction.atomic():
        _changeable(incident_state(incident))
        _entry(incident, EntryKind.LETTER, by=actor, text=json.dumps(letter))
        _did(actor, incident, request, "letter")
    return letter


def incident_status(*, actor: User, incident: Incident, fields: dict[str, Any], request: Any) -> IncidentState:
    """Close it, or reopen a closed one (``fields["action"]``), with the reason."""
    change = {"close": incident_close, "reopen": incident_reopen}.get(str(fields.get("action")))
    if change is None:
        raise ServiceError("Choose to close or to reopen it.", field="action")
    return change(actor=actor, incident=incident, reason=fields.get("reason"), request=request)


def incident_close(*, actor: User, incident: Incident, reason: object, request: Any) -> IncidentState:
    admin_only(actor, TARGET)
    why = _text(reason, "reason", required=True)
    with transaction.atomic():
        _lock(incident)
        state = incident_state(incident)
        _changeable(state)
        if state.triage is None:
            raise Conflict("Triage it before closing it.")
        if state.notify and state.unnotified:
            raise Conflict(f"{len(state.unnotified)} people on the list have not been notified yet.")
        _entry(incident, EntryKind.CLOSED, by=actor, text=why)
        _did(actor, incident, request, "closed")
    return incident_state(incident)


def incident_reopen(*, actor: User, incident: Incident, reason: object, request: Any) -> IncidentState:
    admin_only(actor, TARGET)
    why = _text(reason, "reason", required=True)
    with transaction.atomic():
        _lock(incident)
        if incident_state(incident).status != "closed":
            raise Conflict("Only a closed incident can be reopened.")
        _entry(incident, EntryKind.REOPENED, by=actor, text=why)
        _did(actor, incident, request, "reopened")
    return incident_state(incident)


# Who was affected --------------------------------------------------------------------------------


def _clients(practice_id: int) -> QuerySet[User]:
    return User.objects.filter(practice_id=practice_id, role_grants__role=Role.CLIENT).distinct()


def _touched_by(practice_id: int, account_id: int, start: dt.datetime, end: dt.datetime) -> list[int]:
    """Clients whose data this account read or changed in the window, from the audit log."""
    found = (
        AuditEvent.objects.filter(
            practice_id=practice_id,
            actor_id=account_id,
            outcome=Outcome.ALLOWED,
            occurred_at__gte=start,
            occurred_at__lte=end,
            subject_client_id__isnull=False,
        )
        .values_list("subject_client_id", flat=True)
        .distinct()
    )
    return list(_clients(practice_id).filter(pk__in=list(found)).values_list("pk", flat=True))


def _held_by_then(practice_id: int, end: dt.datetime) -> list[int]:
    """Clients whose data the practice held by the end of the window: the audit log has an
    event about them on or before it."""
    firsts = (
        AuditEvent.objects.filter(practice_id=practice_id, subject_client_id__isnull=False)
        .values("subject_client_id")
        .annotate(first=Min("occurred_at"))
        .filter(first__lte=end)
        .values_list("subject_client_id", flat=True)
    )
    return list(_clients(practice_id).filter(pk__in=list(firsts)).values_list("pk", flat=True))


def _last_location(person_id: int) -> str:
    """Where the person lives, for the media threshold: the state of the address on their chart
    (where they happened to be for a session says nothing of where they reside); "" when it does
    not say, and such people are counted as of unknown residence."""
    from records.models import ClientChart

    chart = ClientChart.objects.filter(client_id=person_id).only("address").first()
    return region_of_address(chart.address) if chart is not None else ""


def affected_add(incident: Incident, person_ids: list[int], *, by: User | None, found_by: str) -> int:
    """Put these people on the list (those already on it stay as they are)."""
    present = set(
        IncidentEntry.objects.filter(incident=incident, kind=EntryKind.AFFECTED).values_list("person_id", flat=True)
    )
    added = 0
    for person in User.objects.filter(pk__in=person_ids).exclude(pk__in=present).order_by("full_name"):
        _entry(
            incident, EntryKind.AFFECTED, by=by, person=person,
            data={"state": "included", "found_by": found_by, "residence": _last_location(person.pk), "method": "post"},
        )  # fmt: skip
        audit_record(
            action=Action.INCIDENT_AFFECTED, actor=by, practice_id=incident.practice_id, target=incident,
            subject_client_id=person.pk, details={"number": incident.number, "found_by": found_by[:200]},
        )  # fmt: skip
        added += 1
    return added


def _window(fields: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    now = timezone.localdate()
    start = _day(fields.get("start"), "start", required=True, not_after=now)
    end = _day(fields.get("end"), "end", required=True)
    assert start is not None and end is not None
    if end < start:
        raise ServiceError("The window ends after it starts.", field="end")
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end, dt.time.max, tzinfo=tz),
    )


def affected_find(*, actor: User, incident: Incident, fields: dict[str, Any], request: Any) -> int:
    """Add the people the audit log shows were exposed:

    - ``account``: every client whose data an account (a member of the practice) read or changed
      in a window;
    - ``vendor``: everyone whose data the practice held during a window in which a vendor that
      handles client data was breached;
    - ``person``: one client, added by hand.
    """
    admin_only(actor, TARGET)
    how = _choice(fields.get("how"), {"account": "", "vendor": "", "person": ""}, "how")
    practice_id = actor.practice_id
    with transaction.atomic():
        _lock(incident)
        _changeable(incident_state(incident))
        if how == "person":
            person = _clients(practice_id).filter(pk=_int(fields.get("person_id"))).first()
            if person is None:
                raise ServiceError("Choose a client of the practice.", field="person_id")
            ids, found_by = [person.pk], f"Added by {actor.full_name}"
        elif how == "account":
            account = User.objects.filter(practice_id=practice_id, pk=_int(fields.get("account_id"))).first()
            if account is None:
                raise ServiceError("Choose an account of the practice.", field="account_id")
            start, end = _window(fields)
            ids = _touched_by(practice_id, account.pk, start, end)
            found_by = f"Their data was opened by {account.full_name} between {start:%Y-%m-%d} and {end:%Y-%m-%d}"
        else:
            vendor = Vendor.objects.filter(practice_id=practice_id, pk=_uuid(fields.get("vendor_id"))).first()
            if vendor is None:
                raise ServiceError("Choose a vendor from the register.", field="vendor_id")
            start, end = _window(fields)
            ids = _held_by_then(practice_id, end)
            found_by = f"The practice held their data while {vendor.name} ({vendor.data_touched}) was exposed"
        added = affected_add(incident, ids, by=actor, found_by=found_by)
        _did(actor, incident, request, "affected", how=how, found=len(ids), added=added)
    return added


def affected_set(*, actor: User, incident: Incident, fields: dict[str, Any], request: Any) -> Person:
    """Take a person off the list (with the reason) or back on, or set where they live and how
    the notice reaches them."""
    admin_only(actor, TARGET)
    with transaction.atomic():
        _lock(incident)
        state = incident_state(incident)
        _changeable(state)
        current = state.people.get(_int(fields.get("person_id")))
        if current is None:
            raise ServiceError("That person is not on this incident's list.", field="person_id")
        wanted = _choice(fields.get("state") or current.state, PERSON_STATES, "state")
        if wanted == "notified" and current.state != "notified":
            raise ServiceError("A person is notified by sending the notice.", field="state")
        if current.state == "notified" and wanted != "notified":
            raise ServiceError("This person was already notified.", field="state")
        residence = str(fields.get("residence", current.residence) or "")
        if residence and residence not in REGION_NAMES:
            raise ServiceError("Choose a state or territory.", field="residence")
        method = _choice(fields.get("method") or current.method, METHODS, "method")
        reason = _text(fields.get("reason"), "reason", limit=500)
        if wanted == "excluded" and current.state != "excluded" and not reason:
            raise ServiceError("Say why they are taken off the list.", field="reason")
        person = User.objects.get(pk=current.person_id)
        _entry(
            incident, EntryKind.AFFECTED, by=actor, person=person, text=reason,
            data={"state": wanted, "residence": residence, "method": method},
        )  # fmt: skip
        audit_record(
            action=Action.INCIDENT_AFFECTED, actor=actor, request=request, target=incident,
            subject_client_id=person.pk, details={"number": incident.number, "state": wanted},
        )  # fmt: skip
    return incident_state(incident).people[person.pk]


def _int(value: object) -> int:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 19 else 0


def _uuid(value: object) -> str:
    import uuid

    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return "00000000-0000-0000-0000-000000000000"


# Notices -----------------------------------------------------------------------------------------


def _written(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def letter_text(state: IncidentState, person: Person) -> str:
    """The notice to one person, with every element 164.404(c) requires, in plain language."""
    practice = state.incident.practice
    triage = state.triage
    assert triage is not None
    letter = state.letter
    when = (
        f"It happened on {_written(triage.breach_on)}" + (f" and lasted until {_written(triage.breach_ended_on)}"
                                                          if triage.breach_ended_on else "")
        if triage.breach_on
        else "We do not know exactly when it happened"
    )  # fmt: skip
    return (
        f"Dear {person.name},\n\n"
        f"We are writing to tell you about a privacy incident at {practice.name} that involves information "
        "about you.\n\n"
        f"What happened\n{letter.get('what_happened', '')}\n{when}; we discovered it on "
        f"{_written(triage.discovered_on)}.\n\n"
        f"What information was involved\n{letter.get('information', '')}\n\n"
        f"What you can do\n{letter.get('steps', '')}\n\n"
        f"What we are doing\n{letter.get('our_response', '')}\n\n"
        f"How to reach us\n{letter.get('contact', '')}\n\n"
        f"{practice.name}\n"
    )


def _ready_to_notify(state: IncidentState) -> None:
    _changeable(state)
    if not state.notify:
        raise Conflict("Only a breach whose triage says 'notify' has notices.")
    missing = state.missing_letter_elements()
    if missing:
        raise ServiceError("The letter lacks: " + "; ".join(missing) + ".", field="letter")


def notices_send(*, actor: User, incident: Incident, method: object, person_ids: list[Any] | None, request: Any) -> int:
    """Notify the people on the list who have not been notified: by e-mail to those who agreed
    to it (``method="email"``), or record letters printed and posted (``method="post"``, for the
    people chosen, or all of them). Each sending is an entry holding the letter and its SHA-256."""
    admin_only(actor, TARGET)
    how = _choice(method, METHODS, "method")
    wanted = {_int(p) for p in person_ids} if person_ids else None
    sent = 0
    with transaction.atomic():
        _lock(incident)
        state = incident_state(incident)
        _ready_to_notify(state)
        for person in state.unnotified:
            if person.method != how or (wanted is not None and person.person_id not in wanted):
                continue
            body = letter_text(state, person)
            digest = hashlib.sha256(body.encode()).hexdigest()
            user = User.objects.get(pk=person.person_id)
            _entry(
                incident, EntryKind.NOTICE, by=actor, person=user, text=body,
                data={"audience": "individual", "method": how, "sha256": digest},
            )  # fmt: skip
            audit_record(
                action=Action.INCIDENT_NOTICE, actor=actor, request=request, target=incident,
                subject_client_id=user.pk, details={"number": incident.number, "method": how, "sha256": digest},
            )  # fmt: skip
            if how == "email":
                subject = f"Notice of a privacy incident at {incident.practice.name}"
                address = user.email

                def mail(body: str = body, subject: str = subject, address: str = address) -> None:
                    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])

                transaction.on_commit(mail)
            sent += 1
        if not sent:
            raise ServiceError(f"Nobody on the list is waiting for a notice {METHODS[how].split(' (')[0].lower()}.",
                               field="method")  # fmt: skip
    return sent


def notice_record(*, actor: User, incident: Incident, fields: dict[str, Any], request: Any) -> Notice:
    """Record the notice to HHS (its breach portal) or to the media, with its reference."""
    admin_only(actor, TARGET)
    audience = _choice(fields.get("audience"), {"hhs": "", "media": ""}, "audience")
    reference = _text(fields.get("reference"), "reference", required=True, limit=500)
    sent_on = _day(fields.get("sent_on") or timezone.localdate(), "sent_on", not_after=timezone.localdate())
    assert sent_on is not None
    with transaction.atomic():
        state = incident_state(incident)
        _changeable(state)
        if not state.notify:
            raise Conflict("Only a breach whose triage says 'notify' has notices.")
        today = timezone.localdate()
        at = timezone.now() if sent_on == today else timezone.make_aware(dt.datetime.combine(sent_on, dt.time(12)))
        _entry(
            incident, EntryKind.NOTICE, by=actor, text=reference, at=at,
            data={"audience": audience, "method": "recorded", "sent_on": sent_on.isoformat()},
        )  # fmt: skip
        audit_record(
            action=Action.INCIDENT_NOTICE, actor=actor, request=request, target=incident,
            details={"number": incident.number, "audience": audience, "sent_on": sent_on.isoformat()},
        )  # fmt: skip
    return incident_state(incident).notices[-1]


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


# The yearly log and the reminders ----------------------------------------------------------------

LOG_COLUMNS = (
    "Incident", "Breach start", "Breach end", "Discovered", "Individuals affected", "Type of breach",
    "Location of breached information", "Safe harbor or exclusion considered", "Notice to individuals",
    "Media notice", "Law-enforcement delay until", "Status",
)  # fmt: skip


def yearly_log(*, actor: User, year: object, request: Any) -> list[list[str]]:
    """The breaches discovered in a calendar year that affected fewer than 500 people: the log
    HHS receives within 60 days of the year's end (164.408(c))."""
    admin_only(actor, TARGET)
    try:
        wanted = int(str(year))
    except ValueError:
        raise ServiceError("Give a year, such as 2026.", field="year") from None
    if not 2000 <= wanted <= 2200:
        raise ServiceError("Give a year, such as 2026.", field="year")
    rows = []
    for incident in Incident.objects.filter(practice_id=actor.practice_id).order_by("number"):
        state = incident_state(incident)
        triage = state.triage
        if not state.notify or triage is None or triage.discovered_on.year != wanted:
            continue
        if len(state.included) >= HHS_AT_ONCE:
            continue
        sent = [n.at for n in state.notices if n.audience == "individual"]
        media = [n.at for n in state.notices if n.audience == "media"]
        rows.append([
            str(incident.number), str(triage.breach_on or ""), str(triage.breach_ended_on or ""),
            triage.discovered_on.isoformat(), str(len(state.included)), BREACH_TYPES.get(triage.breach_type, ""),
            LOCATIONS.get(triage.location, ""), EXCLUSIONS.get(triage.exclusion, "") if triage.exclusion else
            ("Encrypted, keys exposed" if triage.data_sealed else "Not encrypted"),
            f"{min(sent):%Y-%m-%d} to {max(sent):%Y-%m-%d}" if sent else "not yet",
            f"{max(media):%Y-%m-%d}" if media else "", str(state.delay.effective_until) if state.delay else "",
            state.status,
        ])  # fmt: skip
    audit_record(
        action=Action.INCIDENT_LOG_EXPORT, actor=actor, request=request, target_type=TARGET,
        details={"year": wanted, "rows": len(rows)},
    )  # fmt: skip
    return rows


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def _step(days_left: int) -> str:
    if days_left < 0:
        return f"overdue-{(-days_left - 1) // 7}"
    due = [s for s in REMIND_AT if days_left <= s]
    return str(min(due)) if due else ""


def incidents_remind(today: dt.date | None = None) -> int:
    """E-mail a practice's admins as each notice deadline of an open breach comes close (30, 14,
    7, 3 and 1 days before, and on the day) and once a week while it is overdue."""
    today = today or timezone.localdate()
    sent = 0
    for incident in Incident.objects.filter(entries__kind=EntryKind.TRIAGE).distinct().select_related("practice"):
        state = incident_state(incident)
        if state.status == "closed" or not state.notify:
            continue
        reminded = {(e.data.get("audience"), e.data.get("step")) for e in state.entries if e.kind == EntryKind.REMINDER}
        for deadline in state.deadlines():
            if deadline.done_on:
                continue
            step = _step(deadline.days_left(today))
            if not step or (deadline.audience, step) in reminded:
                continue
            reminded.add((deadline.audience, step))
            _entry(incident, EntryKind.REMINDER, by=None, data={"audience": deadline.audience, "step": step})
            left = deadline.days_left(today)
            when = (
                f"is {_days(-left)} overdue"
                if left < 0
                else "is due today"
                if left == 0
                else f"is due in {_days(left)}"
            )
            admins = _admins(incident.practice_id)
            if admins:
                send_mail(
                    subject=f"Privacy incident {incident.number}: {deadline.label.lower()} {when}",
                    message=(
                        f"{deadline.label} for incident {incident.number} {when} ({_written(deadline.due)}).\n"
                        f"{deadline.note}\n\nOpen it: {_link(incident)}\n"
                    ),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=admins,
                )
            sent += 1
    return sent
