"""The one door through which audit events are written."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import router, transaction
from django.db.models import Model
from django.utils import timezone

from audit.append import AuditWriteError as AuditWriteError  # raised here for callers
from audit.append import append, send_ahead, writer_memory
from audit.content import mask_details
from audit.models import Action, AuditEvent, AuditFlagAcknowledgement, AuditSubject, Outcome
from teletherapy import metrics
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError
from teletherapy.keyring import keyring

logger = logging.getLogger(__name__)


def _where_from(context: AuditContext | None) -> dict[str, Any]:
    if context is None:
        return {"ip_address": None, "user_agent": "", "request_id": ""}
    return {"ip_address": context.address, "user_agent": context.user_agent, "request_id": context.request_id}


def _new_event(
    *,
    action: Action | str,
    key_id: str,
    actor: Any = None,
    context: AuditContext | None = None,
    target: Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    subject_client_id: int | None = None,
    practice_id: int | None = None,
    outcome: Outcome | str = Outcome.ALLOWED,
    details: dict[str, Any] | None = None,
    flagged: bool = False,
) -> AuditEvent:
    if actor is not None and not getattr(actor, "is_authenticated", True):
        actor = None
    if practice_id is None and actor is not None:
        practice_id = getattr(actor, "practice_id", None)
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    action = Action(action)  # an unknown action is a programming error, refused before writing
    role = ",".join(actor.role_names()) if actor is not None and hasattr(actor, "role_names") else ""
    return AuditEvent(
        occurred_at=timezone.now(),
        actor_id=actor.pk if actor is not None else None,
        actor_role=role[:64],
        action=action.value,
        target_type=target_type[:64],
        target_id=str(target_id)[:64],
        subject_client_id=subject_client_id,
        practice_id=practice_id,
        outcome=str(outcome),
        flagged=flagged,
        details=mask_details(details),
        key_id=key_id,
        **_where_from(context),
    )


def audit_record(
    *,
    action: Action | str,
    actor: Any = None,
    context: AuditContext | None = None,
    target: Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    subject_client_id: int | None = None,
    practice_id: int | None = None,
    outcome: Outcome | str = Outcome.ALLOWED,
    details: dict[str, Any] | None = None,
    flagged: bool = False,
    subjects: Iterable[int] | None = None,
) -> AuditEvent:
    """Append one event to its practice's chain, inside the caller's transaction.

    ``subjects``: the clients a read of several clients' data was about. The event names them
    all (AuditSubject rows, and in its details their count and a SHA-256 of their ids, under the
    MAC), so each finds it under "who opened my record"; one of them alone is the event's subject.

    Raises AuditWriteError if the event cannot be written, so the caller's transaction rolls
    back and whatever it was about to show is not shown.
    """
    ids = sorted({int(i) for i in subjects or [] if i is not None})
    if ids:
        if subject_client_id is None and len(ids) == 1:
            subject_client_id = ids[0]
        digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()
        details = {**(details or {}), "subjects": len(ids), "subjects_sha256": digest}
    key = keyring().current("audit")
    using = router.db_for_write(AuditEvent)
    if ids and not transaction.get_connection(using=using).in_atomic_block:
        with transaction.atomic(using=using):  # the event and its subjects, together or not at all
            return audit_record(
                action=action, actor=actor, context=context, target=target, target_type=target_type,
                target_id=target_id, subject_client_id=subject_client_id, practice_id=practice_id,
                outcome=outcome, details=details, flagged=flagged, subjects=ids,
            )  # fmt: skip
    event = _new_event(
        action=action,
        actor=actor,
        context=context,
        target=target,
        target_type=target_type,
        target_id=target_id,
        subject_client_id=subject_client_id,
        practice_id=practice_id,
        outcome=outcome,
        details=details,
        flagged=flagged,
        key_id=key.key_id,
    )
    append(event, key.secret)
    metrics.audit_appended()
    if ids:
        AuditSubject.objects.using(using).bulk_create([AuditSubject(event_id=event.pk, client_id=i) for i in ids])
    return event


@contextmanager
def audited(**fields: Any) -> Iterator[AuditEvent]:
    """Audit a read whose answer is prepared inside the block; nothing may leave before it ends.
    Takes audit_record's keyword arguments (the outcome is always "allowed").

        with audited(action=..., actor=..., target=chart, subject_client_id=...):
            data = NoteSerializer(notes, many=True).data
        return Response(data)

    The event is written durably by the time the block has ended, or AuditWriteError is raised
    there and the answer must not be given. On PostgreSQL, outside a transaction, the event's
    one statement is sent as the block starts and its result is collected as the block ends, so
    the database writes and commits the event while this process decrypts and serializes. The
    block must therefore not use the audit database's connection; a query in it fails loudly.
    Anywhere else the event is written before the block runs, as audit_record writes it.
    """
    key = keyring().current("audit")
    event = _new_event(**fields, outcome=Outcome.ALLOWED, key_id=key.key_id)
    in_flight = send_ahead(event, key.secret)
    if in_flight is None:
        append(event, key.secret)
        yield event
        return
    try:
        yield event
    except BaseException:
        in_flight.collect(quiet=True)  # leave the connection usable; the block's error stands
        raise
    if not in_flight.collect():
        # Another writer moved the lane's head meanwhile: nothing was written, so write it now
        # on whichever lane is free.
        writer_memory().forget()
        append(event, key.secret)


def audit_flag_acknowledge(*, actor: Any, flag: Any, note: str, context: AuditContext | None) -> Any:
    """Acknowledging is a new row and a new event; the flag itself never changes."""
    if flag.actor_id is not None and flag.actor_id == actor.pk:
        raise NotAllowed(
            "An alert about your own actions is acknowledged by another admin.",
            target_type="audit.auditflag",
            target_id=flag.pk,
        )
    note = (note or "").strip()
    if not note:
        raise ServiceError("Say what you found or did.")
    if len(note) > 1000 or "\x00" in note:
        raise ServiceError("Keep the note under 1,000 characters of plain text.")
    with transaction.atomic():
        if AuditFlagAcknowledgement.objects.filter(flag=flag).exists():
            raise ServiceError("This alert has already been acknowledged.")
        ack = AuditFlagAcknowledgement.objects.create(
            flag=flag, admin_id=actor.pk, note=note, acknowledged_at=timezone.now()
        )
        audit_record(
            action=Action.AUDIT_FLAG_ACKNOWLEDGE,
            actor=actor,
            context=context,
            target_type="audit.auditflag",
            target_id=flag.pk,
            details={"rule": flag.rule},
        )
    return ack
