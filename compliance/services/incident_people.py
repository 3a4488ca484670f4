"""Who a privacy incident affected: found from the audit log (what an account opened, what the
practice held while a vendor was exposed, a lost device's last month) or added by hand, each
person's state, residence and way of notice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import sessions_end_for_user
from audit.models import Action
from audit.selectors import clients_known_by, clients_touched_by
from audit.services import audit_record
from compliance.incident_rules import (
    LOST_DEVICE_LOOKBACK,
    METHODS,
    PERSON_STATES,
    REGION_NAMES,
    TARGET,
    Person,
    incident_state,
)
from compliance.inputs import choice_field, day_field, id_number, id_uuid, text_field
from compliance.models import EntryKind, Incident, IncidentEntry, IncidentSource, Vendor
from compliance.selectors import admin_only
from compliance.services.incidents import (
    acknowledge,
    changeable,
    did,
    entry_add,
    incident_lock,
    incident_open,
)
from records.models import ClientChart
from sessions.regions import region_of_address
from teletherapy.context import AuditContext
from teletherapy.errors import ServiceError


def device_lost(
    *, actor: User, context: AuditContext | None, keep_session_key: str, description: object, lost_on: object
) -> tuple[Incident, int]:
    """Someone lost a device they use the platform on: every signed-in session of theirs but the
    one they report from (``keep_session_key``) ends, and an incident opens with the people whose
    records they opened in the month before (themselves, for a client) already on its list for
    the admins to review."""
    day = day_field(lost_on, "lost_on", required=True, not_after=timezone.localdate())
    assert day is not None
    what = text_field(description, "description", required=True, limit=1000)
    with transaction.atomic():
        ended = sessions_end_for_user(
            user=actor, actor=actor, context=context, reason="device_lost", keep_session_key=keep_session_key
        )
        incident = incident_open(
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
            action=Action.DEVICE_LOST, actor=actor, context=context, target=incident,
            details={"number": incident.number, "sessions_ended": ended, "lost_on": day.isoformat()},
        )  # fmt: skip
        transaction.on_commit(lambda: acknowledge(incident))
    return incident, ended


# Who was affected --------------------------------------------------------------------------------


def _clients(practice_id: int) -> QuerySet[User]:
    return User.objects.filter(practice_id=practice_id, role_grants__role=Role.CLIENT).distinct()


def _touched_by(practice_id: int, account_id: int, start: dt.datetime, end: dt.datetime) -> list[int]:
    """Clients whose data this account read or changed in the window, from the audit log."""
    found = clients_touched_by(practice_id=practice_id, account_id=account_id, start=start, end=end)
    return list(_clients(practice_id).filter(pk__in=found).values_list("pk", flat=True))


def _held_by_then(practice_id: int, end: dt.datetime) -> list[int]:
    """Clients whose data the practice held by the end of the window."""
    known = clients_known_by(practice_id=practice_id, end=end)
    return list(_clients(practice_id).filter(pk__in=known).values_list("pk", flat=True))


def _last_location(person_id: int) -> str:
    """Where the person lives, for the media threshold: the state of the address on their chart
    (where they happened to be for a session says nothing of where they reside); "" when it does
    not say, and such people are counted as of unknown residence."""

    chart = ClientChart.objects.filter(client_id=person_id).only("address").first()
    return region_of_address(chart.address) if chart is not None else ""


def affected_add(incident: Incident, person_ids: list[int], *, by: User | None, found_by: str) -> int:
    """Put these people on the list (those already on it stay as they are)."""
    present = set(
        IncidentEntry.objects.filter(incident=incident, kind=EntryKind.AFFECTED).values_list("person_id", flat=True)
    )
    added = 0
    for person in User.objects.filter(pk__in=person_ids).exclude(pk__in=present).order_by("full_name"):
        entry_add(
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
    start = day_field(fields.get("start"), "start", required=True, not_after=now)
    end = day_field(fields.get("end"), "end", required=True)
    assert start is not None and end is not None
    if end < start:
        raise ServiceError("The window ends after it starts.", field="end")
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end, dt.time.max, tzinfo=tz),
    )


def affected_find(*, actor: User, incident: Incident, fields: dict[str, Any], context: AuditContext | None) -> int:
    """Add the people the audit log shows were exposed:

    - ``account``: every client whose data an account (a member of the practice) read or changed
      in a window;
    - ``vendor``: everyone whose data the practice held during a window in which a vendor that
      handles client data was breached;
    - ``person``: one client, added by hand.
    """
    admin_only(actor, TARGET)
    how = choice_field(fields.get("how"), {"account": "", "vendor": "", "person": ""}, "how")
    practice_id = actor.practice_id
    with transaction.atomic():
        incident_lock(incident)
        changeable(incident_state(incident))
        if how == "person":
            person = _clients(practice_id).filter(pk=id_number(fields.get("person_id"))).first()
            if person is None:
                raise ServiceError("Choose a client of the practice.", field="person_id")
            ids, found_by = [person.pk], f"Added by {actor.full_name}"
        elif how == "account":
            account = User.objects.filter(practice_id=practice_id, pk=id_number(fields.get("account_id"))).first()
            if account is None:
                raise ServiceError("Choose an account of the practice.", field="account_id")
            start, end = _window(fields)
            ids = _touched_by(practice_id, account.pk, start, end)
            found_by = f"Their data was opened by {account.full_name} between {start:%Y-%m-%d} and {end:%Y-%m-%d}"
        else:
            vendor = Vendor.objects.filter(practice_id=practice_id, pk=id_uuid(fields.get("vendor_id"))).first()
            if vendor is None:
                raise ServiceError("Choose a vendor from the register.", field="vendor_id")
            start, end = _window(fields)
            ids = _held_by_then(practice_id, end)
            found_by = f"The practice held their data while {vendor.name} ({vendor.data_touched}) was exposed"
        added = affected_add(incident, ids, by=actor, found_by=found_by)
        did(actor, incident, context, "affected", how=how, found=len(ids), added=added)
    return added


def affected_set(*, actor: User, incident: Incident, fields: dict[str, Any], context: AuditContext | None) -> Person:
    """Take a person off the list (with the reason) or back on, or set where they live and how
    the notice reaches them."""
    admin_only(actor, TARGET)
    with transaction.atomic():
        incident_lock(incident)
        state = incident_state(incident)
        changeable(state)
        current = state.people.get(id_number(fields.get("person_id")))
        if current is None:
            raise ServiceError("That person is not on this incident's list.", field="person_id")
        wanted = choice_field(fields.get("state") or current.state, PERSON_STATES, "state")
        if wanted == "notified" and current.state != "notified":
            raise ServiceError("A person is notified by sending the notice.", field="state")
        if current.state == "notified" and wanted != "notified":
            raise ServiceError("This person was already notified.", field="state")
        residence = str(fields.get("residence", current.residence) or "")
        if residence and residence not in REGION_NAMES:
            raise ServiceError("Choose a state or territory.", field="residence")
        method = choice_field(fields.get("method") or current.method, METHODS, "method")
        reason = text_field(fields.get("reason"), "reason", limit=500)
        if wanted == "excluded" and current.state != "excluded" and not reason:
            raise ServiceError("Say why they are taken off the list.", field="reason")
        person = User.objects.get(pk=current.person_id)
        entry_add(
            incident, EntryKind.AFFECTED, by=actor, person=person, text=reason,
            data={"state": wanted, "residence": residence, "method": method},
        )  # fmt: skip
        audit_record(
            action=Action.INCIDENT_AFFECTED, actor=actor, context=context, target=incident,
            subject_client_id=person.pk, details={"number": incident.number, "state": wanted},
        )  # fmt: skip
    return incident_state(incident).people[person.pk]
