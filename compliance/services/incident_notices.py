"""The notices of a breach: letters to the people affected (sent by e-mail or recorded as posted),
the notices to HHS and the media, the yearly log of small breaches, and the admins' reminders as
each deadline comes close.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from compliance.incident_rules import (
    BREACH_TYPES,
    EXCLUSIONS,
    HHS_AT_ONCE,
    LOCATIONS,
    METHODS,
    TARGET,
    IncidentState,
    Notice,
    days_text,
    incident_state,
    letter_text,
    reminder_step,
    written_day,
)
from compliance.inputs import choice_field, day_field, id_number, text_field
from compliance.models import EntryKind, Incident
from compliance.selectors import admin_only
from compliance.services.incidents import (
    admins_of,
    changeable,
    entry_add,
    incident_lock,
    link_to,
)
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, ServiceError


def _ready_to_notify(state: IncidentState) -> None:
    changeable(state)
    if not state.notify:
        raise Conflict("Only a breach whose triage says 'notify' has notices.")
    missing = state.missing_letter_elements()
    if missing:
        raise ServiceError("The letter lacks: " + "; ".join(missing) + ".", field="letter")


def notices_send(
    *, actor: User, incident: Incident, method: object, person_ids: list[Any] | None, context: AuditContext | None
) -> int:
    """Notify the people on the list who have not been notified: by e-mail to those who agreed
    to it (``method="email"``), or record letters printed and posted (``method="post"``, for the
    people chosen, or all of them). Each sending is an entry holding the letter and its SHA-256."""
    admin_only(actor, TARGET)
    how = choice_field(method, METHODS, "method")
    wanted = {id_number(p) for p in person_ids} if person_ids else None
    sent = 0
    with transaction.atomic():
        incident_lock(incident)
        state = incident_state(incident)
        _ready_to_notify(state)
        for person in state.unnotified:
            if person.method != how or (wanted is not None and person.person_id not in wanted):
                continue
            body = letter_text(state, person)
            digest = hashlib.sha256(body.encode()).hexdigest()
            user = User.objects.get(pk=person.person_id)
            entry_add(
                incident, EntryKind.NOTICE, by=actor, person=user, text=body,
                data={"audience": "individual", "method": how, "sha256": digest},
            )  # fmt: skip
            audit_record(
                action=Action.INCIDENT_NOTICE, actor=actor, context=context, target=incident,
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


def notice_record(*, actor: User, incident: Incident, fields: dict[str, Any], context: AuditContext | None) -> Notice:
    """Record the notice to HHS (its breach portal) or to the media, with its reference."""
    admin_only(actor, TARGET)
    audience = choice_field(fields.get("audience"), {"hhs": "", "media": ""}, "audience")
    reference = text_field(fields.get("reference"), "reference", required=True, limit=500)
    sent_on = day_field(fields.get("sent_on") or timezone.localdate(), "sent_on", not_after=timezone.localdate())
    assert sent_on is not None
    with transaction.atomic():
        state = incident_state(incident)
        changeable(state)
        if not state.notify:
            raise Conflict("Only a breach whose triage says 'notify' has notices.")
        today = timezone.localdate()
        at = timezone.now() if sent_on == today else timezone.make_aware(dt.datetime.combine(sent_on, dt.time(12)))
        entry_add(
            incident, EntryKind.NOTICE, by=actor, text=reference, at=at,
            data={"audience": audience, "method": "recorded", "sent_on": sent_on.isoformat()},
        )  # fmt: skip
        audit_record(
            action=Action.INCIDENT_NOTICE, actor=actor, context=context, target=incident,
            details={"number": incident.number, "audience": audience, "sent_on": sent_on.isoformat()},
        )  # fmt: skip
    return incident_state(incident).notices[-1]


def yearly_log(*, actor: User, year: object, context: AuditContext | None) -> list[list[str]]:
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
        action=Action.INCIDENT_LOG_EXPORT, actor=actor, context=context, target_type=TARGET,
        details={"year": wanted, "rows": len(rows)},
    )  # fmt: skip
    return rows


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
            step = reminder_step(deadline.days_left(today))
            if not step or (deadline.audience, step) in reminded:
                continue
            reminded.add((deadline.audience, step))
            entry_add(incident, EntryKind.REMINDER, by=None, data={"audience": deadline.audience, "step": step})
            left = deadline.days_left(today)
            when = (
                f"is {days_text(-left)} overdue"
                if left < 0
                else "is due today"
                if left == 0
                else f"is due in {days_text(left)}"
            )
            admins = admins_of(incident.practice_id)
            if admins:
                send_mail(
                    subject=f"Privacy incident {incident.number}: {deadline.label.lower()} {when}",
                    message=(
                        f"{deadline.label} for incident {incident.number} {when} ({written_day(deadline.due)}).\n"
                        f"{deadline.note}\n\nOpen it: {link_to(incident)}\n"
                    ),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=admins,
                )
            sent += 1
    return sent
