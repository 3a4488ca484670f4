"""What an incident is, worked out from its entries (45 CFR 164.400-414): the rule's numbers, the
state folded from the appended entries, the notice deadlines, the safe-harbor suggestion and the
notice letter. Pure rules: nothing here writes.

An incident is never edited. Every step (triage, each affected person's state, the notice
letter, a law-enforcement delay, each notice sent, closing and reopening) is an appended entry,
and ``incident_state`` folds them into what the incident is now. Deadlines are worked out from
the triage and the list of affected people by ``notification_deadlines``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from compliance.models import EntryKind, Incident, IncidentEntry
from sessions.regions import REGIONS

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


# Notices -----------------------------------------------------------------------------------------


def written_day(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def letter_text(state: IncidentState, person: Person) -> str:
    """The notice to one person, with every element 164.404(c) requires, in plain language."""
    practice = state.incident.practice
    triage = state.triage
    assert triage is not None
    letter = state.letter
    when = (
        f"It happened on {written_day(triage.breach_on)}" + (f" and lasted until {written_day(triage.breach_ended_on)}"
                                                          if triage.breach_ended_on else "")
        if triage.breach_on
        else "We do not know exactly when it happened"
    )  # fmt: skip
    return (
        f"Dear {person.name},\n\n"
        f"We are writing to tell you about a privacy incident at {practice.name} that involves information "
        "about you.\n\n"
        f"What happened\n{letter.get('what_happened', '')}\n{when}; we discovered it on "
        f"{written_day(triage.discovered_on)}.\n\n"
        f"What information was involved\n{letter.get('information', '')}\n\n"
        f"What you can do\n{letter.get('steps', '')}\n\n"
        f"What we are doing\n{letter.get('our_response', '')}\n\n"
        f"How to reach us\n{letter.get('contact', '')}\n\n"
        f"{practice.name}\n"
    )


# The yearly log and the reminders ----------------------------------------------------------------

LOG_COLUMNS = (
    "Incident", "Breach start", "Breach end", "Discovered", "Individuals affected", "Type of breach",
    "Location of breached information", "Safe harbor or exclusion considered", "Notice to individuals",
    "Media notice", "Law-enforcement delay until", "Status",
)  # fmt: skip


def days_text(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def reminder_step(days_left: int) -> str:
    if days_left < 0:
        return f"overdue-{(-days_left - 1) // 7}"
    due = [s for s in REMIND_AT if days_left <= s]
    return str(min(due)) if due else ""
