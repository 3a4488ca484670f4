"""Audit events as sentences people read ("Dr. Okafor opened Jordan Lee's chart (summary,
billing)"), from the same plain words the client's access log uses, turned to the third person.
The raw codes stay beside them, one click away."""

from __future__ import annotations

import re
from typing import Any

from accounts.models import User
from audit.models import AuditEvent, Outcome
from oversight.access_log import PLAIN_WORDS

# Events about the practice or a member rather than a client's record.
ABOUT_A_MEMBER = {"accounts.user"}


def _third_person(words: str, client: str) -> str:
    words = re.sub(r"\byour\b", f"{client}'s", words)
    return re.sub(r"\byou\b", client, words)


def _sections(details: dict[str, Any]) -> str:
    sections = details.get("sections")
    if isinstance(sections, str):
        # Stored as text: "summary,billing", or a list written out ("['summary', 'billing']").
        sections = [part.strip(" '\"") for part in sections.strip("[]").split(",") if part.strip(" '\"")]
    if isinstance(sections, list) and sections:
        return " (" + ", ".join(str(s) for s in sections) + ")"
    return ""


def _nobody(event: AuditEvent) -> str:
    """Who acted when no member did: a browser that had not signed in (it has an address), or the
    platform itself (a scheduled check, a command, the demo's set-up), which has none."""
    if event.actor_id is not None:
        return "A former member"
    if event.ip_address or event.user_agent:
        return "Someone not signed in"
    return "The platform"


def sentence(event: AuditEvent, people: dict[int, User]) -> str:
    """One event in words: who did what, to whose record, and how it ended."""
    actor = people.get(event.actor_id or 0)
    who = actor.full_name if actor else _nobody(event)
    client = people.get(event.subject_client_id or 0)
    details = event.details if isinstance(event.details, dict) else {}
    plain = PLAIN_WORDS.get(event.action)  # type: ignore[call-overload]
    if plain and client is not None:
        what = _third_person(plain, client.full_name) + _sections(details)
    else:
        label = event.action_label
        what = label[:1].lower() + label[1:]
        if event.target_type in ABOUT_A_MEMBER and event.target_id.isdigit():
            member = people.get(int(event.target_id))
            if member is not None and member != actor:
                what += f": {member.full_name}"
        elif client is not None:
            what += f", in {client.full_name}'s record"
    if event.outcome == Outcome.DENIED:
        what += " (refused)"
    elif event.outcome == Outcome.FAILED:
        what += " (failed)"
    if event.flagged:
        what += ", under emergency access" if details.get("access") == "emergency" else ", flagged"
    return f"{who} {what}."
