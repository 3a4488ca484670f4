"""The one door through which audit events are written."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any, NamedTuple

from django.db import DatabaseError, connections, router, transaction
from django.db.models import F, Model
from django.http import HttpRequest
from django.utils import timezone

from audit.canonical import CONTENT_FIELDS, canonical_bytes, digest_of, next_digest
from audit.models import GENESIS_MAC, LANES, Action, AuditChainHead, AuditEvent, Outcome, chain_of
from teletherapy.context import AuditContext, context_of
from teletherapy.errors import ServiceError, report_denial
from teletherapy.keyring import keyring

try:  # the driver's own non-blocking steps, for an append that overlaps the caller's work
    import psycopg
    from psycopg import generators as psycopg_generators
    from psycopg import pq as psycopg_pq
except ImportError:  # pragma: no cover - PostgreSQL is not in use
    psycopg = None  # type: ignore[assignment]
    psycopg_generators = None  # type: ignore[assignment]
    psycopg_pq = None  # type: ignore[assignment]

_SECRET_KEY_PATTERN = re.compile(r"pass|secret|token|key|otp|code|cookie|session|auth|csrf", re.I)
MASK = "***"
MAX_DETAIL_VALUE = 200
MAX_DETAIL_ITEMS = 20
logger = logging.getLogger(__name__)


class AuditWriteError(Exception):
    """The audit event could not be written; the access it records must not go ahead."""


def mask_details(details: dict[str, Any] | None) -> dict[str, Any]:
    """Keep details small and scalar, and mask anything whose name looks like a secret."""
    clean: dict[str, Any] = {}
    for key, value in list((details or {}).items())[:MAX_DETAIL_ITEMS]:
        key = str(key)[:64]
        if _SECRET_KEY_PATTERN.search(key):
            clean[key] = MASK
        elif value is None or isinstance(value, bool | int | float):
            clean[key] = value
        else:
            clean[key] = str(value)[:MAX_DETAIL_VALUE]
    return clean


def event_content(event: AuditEvent) -> dict[str, Any]:
    content = {
        "chain": event.chain,
        "seq": event.seq,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "subject_client_id": event.subject_client_id,
        "practice_id": event.practice_id,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "request_id": event.request_id,
        "outcome": event.outcome,
        "flagged": event.flagged,
        "details": event.details,
        "key_id": event.key_id,
        "prev_mac": event.prev_mac,
    }
    assert tuple(sorted(content)) == tuple(sorted(CONTENT_FIELDS))
    return content


def canonical_content(event: AuditEvent) -> bytes:
    return canonical_bytes(event_content(event))


def compute_mac(event: AuditEvent, *, secret: bytes) -> str:
    return hmac.new(secret, canonical_content(event), hashlib.sha256).hexdigest()


def _request_context(request: HttpRequest | AuditContext | None) -> dict[str, Any]:
    context = context_of(request)
    if context is None:
        return {"ip_address": None, "user_agent": "", "request_id": ""}
    return {"ip_address": context.address, "user_agent": context.user_agent, "request_id": context.request_id}


_slots = itertools.count()


def _slot() -> int:
    """This thread's place among the writers: the lane it looks at first (the first writer: lane 0)."""
    slot = getattr(_known_heads, "slot", None)
    if slot is None:
        slot = _known_heads.slot = next(_slots) % LANES
    return slot


def _lock_head(practice_id: int | None, using: str) -> AuditChainHead:
    """Lock the head of a free lane of this practice, starting from this thread's own lane
    (so concurrent writers spread out, and a lone writer stays on lane 0)."""
    first, last = chain_of(practice_id), chain_of(practice_id, LANES - 1)
    heads = AuditChainHead.objects.using(using).filter(chain__gte=first, chain__lte=last)
    if connections[using].features.has_select_for_update_skip_locked:
        rotated = heads.annotate(turn=(F("chain") - first + LANES - _slot()) % LANES).order_by("turn")
        head = rotated.select_for_update(skip_locked=True).first()
        if head is not None:
            return head
        if not heads.exists():
            # First event of this practice: create its lane heads, tolerating a concurrent creator.
            AuditChainHead.objects.using(using).bulk_create(
                [AuditChainHead(chain=first + lane, seq=0, mac=GENESIS_MAC) for lane in range(LANES)],
                ignore_conflicts=True,
            )
            head = rotated.select_for_update(skip_locked=True).first()
            if head is not None:
                return head
        # Every lane is busy: wait for this thread's own.
        return heads.select_for_update().get(chain=first + _slot())
    # SQLite takes one writer at a time anyway: lane 0 only.
    AuditChainHead.objects.using(using).bulk_create(
        [AuditChainHead(chain=first, seq=0, mac=GENESIS_MAC)], ignore_conflicts=True
    )
    return AuditChainHead.objects.using(using).get(chain=first)


def _new_event(
    *,
    action: Action | str,
    key_id: str,
    actor: Any = None,
    request: HttpRequest | AuditContext | None = None,
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
        **_request_context(request),
    )


def audit_record(
    *,
    action: Action | str,
    actor: Any = None,
    request: HttpRequest | AuditContext | None = None,
    target: Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    subject_client_id: int | None = None,
    practice_id: int | None = None,
    outcome: Outcome | str = Outcome.ALLOWED,
    details: dict[str, Any] | None = None,
    flagged: bool = False,
) -> AuditEvent:
    """Append one event to its practice's chain, inside the caller's transaction.

    Raises AuditWriteError if the event cannot be written, so the caller's transaction rolls
    back and whatever it was about to show is not shown.
    """
    key = keyring().current("audit")
    event = _new_event(
        action=action,
        actor=actor,
        request=request,
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
    _write(event, key.secret)
    return event


def _write(event: AuditEvent, secret: bytes) -> None:
    using = router.db_for_write(AuditEvent)
    connection = connections[using]
    known = True  # try this thread's remembered head first
    try:
        if connection.vendor == "postgresql" and connection.get_autocommit():
            # Outside any transaction the one-statement append is atomic by itself: no BEGIN and
            # COMMIT round trips, and its commit is as durable as any other.
            if _append_known_head(event, secret, using):
                return
            known = False
        # No savepoint of its own: a failed audit write must fail the caller's transaction anyway
        # (fail closed), and the savepoint would cost two more round trips per event.
        with transaction.atomic(using=using, savepoint=False):
            if not (known and _append_known_head(event, secret, using)):
                _append_locked(event, secret, using, event.practice_id)
    except DatabaseError as exc:
        raise AuditWriteError(f"audit event {event.action} could not be written") from exc


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
    in_flight = _send_known_head(event, key.secret)
    if in_flight is None:
        _write(event, key.secret)
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
        _forget()
        _write(event, key.secret)


# Appending ------------------------------------------------------------------------------------
# Each thread remembers the head of the lane it last appended to. On PostgreSQL the next append
# to that lane is then one statement: move the head on, if and only if it is still where this
# thread left it, and insert the event chained to it. If another writer moved the head (or the
# transaction that moved it rolled back), nothing is written and the locked path below runs.

_known_heads = threading.local()


def _seal(event: AuditEvent, *, chain: int, seq: int, prev_mac: str, secret: bytes) -> None:
    event.chain = chain
    event.seq = seq
    event.prev_mac = prev_mac
    event.mac = compute_mac(event, secret=secret)


def _remember(practice_id: int | None, chain: int, seq: int, mac: str, digest: str) -> None:
    heads = getattr(_known_heads, "heads", None)
    if heads is None:
        heads = _known_heads.heads = {}
    heads[practice_id] = (chain, seq, mac, digest)


_EVENT_FIELDS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
# Fields whose value the database driver needs adapted (JSON, addresses, times); the rest pass as is.
_ADAPTED = {"details", "ip_address", "occurred_at"}


class _AppendSQL(NamedTuple):
    """A known-head append's statements: PostgreSQL runs ``one``; elsewhere the same work is
    ``move_head`` then ``insert`` inside the caller's transaction."""

    one: str
    move_head: str
    insert: str


_APPEND_SQL: dict[str, _AppendSQL] = {}


def _append_sql(connection: Any) -> _AppendSQL:
    """Built once per database (names come from the models)."""
    sql = _APPEND_SQL.get(connection.alias)
    if sql is None:
        quote = connection.ops.quote_name
        head_table, event_table = quote(AuditChainHead._meta.db_table), quote(AuditEvent._meta.db_table)
        names = ", ".join(quote(field.column) for field in _EVENT_FIELDS)
        placeholders = ", ".join(["%s"] * len(_EVENT_FIELDS))
        set_head = f"UPDATE {head_table} SET seq = %s, mac = %s, digest = %s"  # noqa: S608
        where_known = "chain = %s AND seq = %s AND mac = %s"  # where this writer left it
        # If another writer holds this lane, do not wait for it: the locked path finds a free one.
        free = f"SELECT chain FROM {head_table} WHERE {where_known} FOR UPDATE SKIP LOCKED"  # noqa: S608
        insert_from_head = f"INSERT INTO {event_table} ({names}) SELECT {placeholders} FROM head RETURNING id"  # noqa: S608
        sql = _APPEND_SQL[connection.alias] = _AppendSQL(
            one=f"WITH head AS ({set_head} WHERE chain = ({free}) RETURNING chain) {insert_from_head}",
            move_head=f"{set_head} WHERE {where_known}",
            insert=f"INSERT INTO {event_table} ({names}) VALUES ({placeholders})",  # noqa: S608
        )
    return sql


def _known_head_statement(event: AuditEvent, secret: bytes, connection: Any) -> tuple[list[Any], str] | None:
    """Seal the event on this thread's remembered head: the statement's parameters and the new
    digest, or None if this thread remembers no head for the event's practice."""
    known = getattr(_known_heads, "heads", {}).get(event.practice_id)
    if known is None:
        return None
    chain, seq, mac, digest = known
    event.chain, event.seq, event.prev_mac = chain, seq + 1, mac
    body = canonical_content(event)  # once, for both the MAC and the public digest
    event.mac = hmac.new(secret, body, hashlib.sha256).hexdigest()
    new_digest = digest_of(digest, body, event.mac)
    values = [
        field.get_db_prep_save(getattr(event, field.attname), connection)
        if field.attname in _ADAPTED
        else getattr(event, field.attname)
        for field in _EVENT_FIELDS
    ]
    return [event.seq, event.mac, new_digest, chain, seq, mac, *values], new_digest


def _appended(event: AuditEvent, pk: int, digest: str, using: str) -> None:
    event.pk = pk
    event._state.adding = False
    event._state.db = using
    _remember(event.practice_id, event.chain, event.seq, event.mac, digest)


def _append_known_head(event: AuditEvent, secret: bytes, using: str) -> bool:
    connection = connections[using]
    statement = _known_head_statement(event, secret, connection)
    if statement is None:
        return False
    params, new_digest = statement
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_append_sql(connection).one, params)
            row = cursor.fetchone()
            if row is None:
                return False
            pk = row[0]
        else:
            # Elsewhere (SQLite, one writer at a time, inside the caller's transaction): move the
            # head only if it is where this thread left it, then insert the event.
            sql = _append_sql(connection)
            cursor.execute(sql.move_head, params[:6])
            if cursor.rowcount != 1:
                return False
            cursor.execute(sql.insert, params[6:])
            pk = cursor.lastrowid
    _appended(event, pk, new_digest, using)
    return True


class _InFlight:
    """A known-head append sent to PostgreSQL whose result has not been read yet."""

    def __init__(self, event: AuditEvent, using: str, digest: str) -> None:
        self.event, self.using, self.digest = event, using, digest

    def collect(self, *, quiet: bool = False) -> bool:
        """Wait for the statement's outcome: True if the event was written, False if the head had
        moved (nothing written). A failure raises AuditWriteError, or is only logged if quiet."""
        connection = connections[self.using]
        try:
            with connection.wrap_database_errors:
                raw = connection.connection
                results = raw.wait(psycopg_generators.fetch_many(raw.pgconn))
            if len(results) != 1 or results[0].status != psycopg_pq.ExecStatus.TUPLES_OK:
                message = results[-1].error_message.decode(errors="replace") if results else "no result"
                raise DatabaseError(f"audit append failed: {message}")
            result = results[0]
            if result.ntuples == 0:
                return False
            _appended(self.event, int(result.get_value(0, 0)), self.digest, self.using)
            return True
        except DatabaseError as exc:
            connection.errors_occurred = True  # checked before the connection is used again
            _forget()
            if quiet:
                logger.exception("An audit append sent before a failed read did not complete")
                return False
            raise AuditWriteError(f"audit event {self.event.action} could not be written") from exc


def _send_known_head(event: AuditEvent, secret: bytes) -> _InFlight | None:
    """Send the event's one-statement append without waiting for it, where that is possible:
    PostgreSQL, outside a transaction, with a remembered head. None otherwise (nothing sent)."""
    using = router.db_for_write(AuditEvent)
    connection = connections[using]
    if connection.vendor != "postgresql" or psycopg_generators is None:
        return None
    try:
        with connection.wrap_database_errors:
            connection.ensure_connection()
            raw = connection.connection
            idle = raw.pgconn.transaction_status == psycopg_pq.TransactionStatus.IDLE
            if not connection.get_autocommit() or connection.in_atomic_block or not idle:
                return None
            statement = _known_head_statement(event, secret, connection)
            if statement is None:
                return None
            params, new_digest = statement
            # Bound on this side (as Django binds by default), with the connection's own adapters.
            with psycopg.ClientCursor(raw) as cursor:
                query = cursor.mogrify(_append_sql(connection).one, params)
            raw.pgconn.send_query(query.encode(raw.info.encoding))
            raw.wait(psycopg_generators.send(raw.pgconn))
    except DatabaseError as exc:
        connection.errors_occurred = True
        raise AuditWriteError(f"audit event {event.action} could not be sent") from exc
    return _InFlight(event, using, new_digest)


def _forget() -> None:
    """Drop this thread's remembered heads (the next append looks its lane up again)."""
    heads = getattr(_known_heads, "heads", None)
    if heads:
        heads.clear()


def _append_locked(event: AuditEvent, secret: bytes, using: str, practice_id: int | None) -> None:
    head = _lock_head(practice_id, using)
    _seal(event, chain=head.chain, seq=head.seq + 1, prev_mac=head.mac, secret=secret)
    event.save(using=using)
    head.seq = event.seq
    head.mac = event.mac
    head.digest = next_digest(head.digest, event_content(event), event.mac)
    head.save(using=using, update_fields=["seq", "mac", "digest"])
    _remember(practice_id, head.chain, head.seq, head.mac, head.digest)


def audit_backend_vendor() -> str:
    return connections[router.db_for_write(AuditEvent)].vendor


def audit_denied(*, request: HttpRequest, target_type: str = "", target_id: str | int = "", reason: str = "") -> None:
    """Record a refused access, once per request however many layers report it."""
    report_denial(request, target_type=target_type, target_id=target_id, reason=reason)


def write_denial(request: HttpRequest, *, target_type: str = "", target_id: str = "", reason: str = "") -> None:
    """The denial hook: the refusal stands even if its event cannot be written."""
    user = getattr(request, "user", None)
    actor = user if user is not None and user.is_authenticated else None
    try:
        with transaction.atomic():
            audit_record(
                action=Action.ACCESS_DENIED,
                actor=actor,
                request=request,
                target_type=target_type,
                target_id=target_id,
                outcome=Outcome.DENIED,
                details={"path": request.path[:200], "reason": reason},
            )
    except AuditWriteError:
        logger.exception("Could not audit a refused access")


FlagError = ServiceError  # one error channel: teletherapy.errors


def audit_flag_acknowledge(*, actor: Any, flag: Any, note: str, request: HttpRequest | None) -> Any:
    """Acknowledging is a new row and a new event; the flag itself never changes."""
    from audit.models import AuditFlagAcknowledgement

    if flag.actor_id is not None and flag.actor_id == actor.pk:
        raise FlagError("An alert about your own actions is acknowledged by another admin.", code="not_allowed")
    note = (note or "").strip()
    if not note:
        raise FlagError("Say what you found or did.")
    if len(note) > 1000 or "\x00" in note:
        raise FlagError("Keep the note under 1,000 characters of plain text.")
    with transaction.atomic():
        if AuditFlagAcknowledgement.objects.filter(flag=flag).exists():
            raise FlagError("This alert has already been acknowledged.")
        ack = AuditFlagAcknowledgement.objects.create(
            flag=flag, admin_id=actor.pk, note=note, acknowledged_at=timezone.now()
        )
        audit_record(
            action=Action.AUDIT_FLAG_ACKNOWLEDGE,
            actor=actor,
            request=request,
            target_type="audit.auditflag",
            target_id=flag.pk,
            details={"rule": flag.rule},
        )
    return ack
