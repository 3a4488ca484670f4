"""Appending an event to its practice's hash chain: the one write path of the audit trail.

Rules:
- An event goes to one of its practice's LANES chains. A writer takes the head of a free lane
  (SELECT ... FOR UPDATE SKIP LOCKED), starting from its own thread's lane, so concurrent
  writers spread out and a lone writer stays on lane 0.
- Each thread remembers the head it last moved (WriterMemory). On PostgreSQL the next append is
  then one statement that moves that head only if it is still where this thread left it, and
  inserts the event chained to it; if another writer moved it, nothing is written and the
  locked path runs. A stale memory can therefore never fork a chain.
- The append joins the caller's transaction (no savepoint): a failed audit write fails the act
  it records (fail closed), as AuditWriteError.
- A read's event may be sent ahead (send_ahead) and collected before the answer leaves."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import threading
from typing import Any, NamedTuple

from django.db import DatabaseError, connections, router, transaction
from django.db.models import F

from audit.canonical import digest_of, next_digest
from audit.content import canonical_content, compute_mac, event_content
from audit.models import GENESIS_MAC, LANES, AuditChainHead, AuditEvent, chain_of


class AuditWriteError(Exception):
    """The audit event could not be written; the access it records must not go ahead.

    ``database_away`` says the database itself was lost under the write (a restart, a failover,
    nothing listening), rather than the audit table refusing it.
    """

    def __init__(self, message: str, *, database_away: bool = False) -> None:
        super().__init__(message)
        self.database_away = database_away


def _refused(message: str, using: str, cause: BaseException) -> AuditWriteError:
    connection = connections[using]
    raw = connection.connection
    lost = raw is None or bool(getattr(raw, "broken", False)) or getattr(raw, "closed", False) is True
    # SQLSTATE class 08 (connection exception) and 57P (the server shutting down or restarting).
    sqlstate = getattr(cause.__cause__, "sqlstate", None) or ""
    return AuditWriteError(message, database_away=lost or sqlstate.startswith(("08", "57P")))


try:  # the driver's own non-blocking steps, for an append that overlaps the caller's work
    import psycopg
    from psycopg import generators as psycopg_generators
    from psycopg import pq as psycopg_pq
except ImportError:  # pragma: no cover - PostgreSQL is not in use
    psycopg = None  # type: ignore[assignment]
    psycopg_generators = None  # type: ignore[assignment]
    psycopg_pq = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)


_slots = itertools.count()
# The statements of the one-statement append, built once per database alias.
_APPEND_SQL: dict[str, _AppendSQL] = {}


class WriterMemory:
    """What one writer thread remembers: the lane it looks at first, and the head it last moved
    on each practice's chain (chain, seq, mac, digest). Reached through writer_memory()."""

    def __init__(self) -> None:
        self.lane: int | None = None
        self.heads: dict[int | None, tuple[int, int, str, str]] = {}

    def slot(self) -> int:
        if self.lane is None:
            self.lane = next(_slots) % LANES
        return self.lane

    def start_at_lane(self, lane: int) -> None:
        """Look at this lane first (another process's first writer also starts at lane 0)."""
        self.lane = lane % LANES

    def remember(self, practice_id: int | None, chain: int, seq: int, mac: str, digest: str) -> None:
        self.heads[practice_id] = (chain, seq, mac, digest)

    def head(self, practice_id: int | None) -> tuple[int, int, str, str] | None:
        return self.heads.get(practice_id)

    def forget(self) -> None:
        """Drop the remembered heads: the next append looks its lane up again."""
        self.heads.clear()


_threads = threading.local()


def writer_memory() -> WriterMemory:
    memory = getattr(_threads, "memory", None)
    if memory is None:
        memory = _threads.memory = WriterMemory()
    return memory


def lanes_open(practice_id: int | None, using: str | None = None) -> None:
    """Create the heads of all of a practice's lanes (at zero), once: from then on the set of
    chains to verify is known without reading the events, and a lane that goes missing is
    reported. Called when a practice is created; harmless when they exist."""
    using = using or router.db_for_write(AuditChainHead)
    first = chain_of(practice_id)
    AuditChainHead.objects.using(using).bulk_create(
        [AuditChainHead(chain=first + lane, seq=0, mac=GENESIS_MAC, digest=GENESIS_MAC) for lane in range(LANES)],
        ignore_conflicts=True,
    )


def _lock_head(practice_id: int | None, using: str) -> AuditChainHead:
    """Lock the head of a free lane of this practice, starting from this thread's own lane
    (so concurrent writers spread out, and a lone writer stays on lane 0)."""
    first, last = chain_of(practice_id), chain_of(practice_id, LANES - 1)
    heads = AuditChainHead.objects.using(using).filter(chain__gte=first, chain__lte=last)
    if connections[using].features.has_select_for_update_skip_locked:
        rotated = heads.annotate(turn=(F("chain") - first + LANES - writer_memory().slot()) % LANES).order_by("turn")
        head = rotated.select_for_update(skip_locked=True).first()
        if head is not None:
            return head
        if not heads.exists():
            # Lanes not opened yet (a practice made before they were): open them now.
            lanes_open(practice_id, using)
            head = rotated.select_for_update(skip_locked=True).first()
            if head is not None:
                return head
        # Every lane is busy: wait for this thread's own.
        return heads.select_for_update().get(chain=first + writer_memory().slot())
    # SQLite takes one writer at a time anyway: lane 0 only.
    lanes_open(practice_id, using)
    return AuditChainHead.objects.using(using).get(chain=first)


def append(event: AuditEvent, secret: bytes) -> None:
    """Append ``event`` (its fields set, not yet chained) to its practice's chain, or raise AuditWriteError."""
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
        raise _refused(f"audit event {event.action} could not be written", using, exc) from exc


def _seal(event: AuditEvent, *, chain: int, seq: int, prev_mac: str, secret: bytes) -> None:
    event.chain = chain
    event.seq = seq
    event.prev_mac = prev_mac
    event.mac = compute_mac(event, secret=secret)


_EVENT_FIELDS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]


# Fields whose value the database driver needs adapted (JSON, addresses, times); the rest pass as is.
_ADAPTED = {"details", "ip_address", "occurred_at"}


class _AppendSQL(NamedTuple):
    """A known-head append's statements: PostgreSQL runs ``one``; elsewhere the same work is
    ``move_head`` then ``insert`` inside the caller's transaction."""

    one: str
    move_head: str
    insert: str


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
    known = writer_memory().head(event.practice_id)
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
    writer_memory().remember(event.practice_id, event.chain, event.seq, event.mac, digest)


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
            writer_memory().forget()
            if quiet:
                logger.exception("An audit append sent before a failed read did not complete")
                return False
            raise _refused(f"audit event {self.event.action} could not be written", self.using, exc) from exc


def send_ahead(event: AuditEvent, secret: bytes) -> _InFlight | None:
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
        raise _refused(f"audit event {event.action} could not be sent", using, exc) from exc
    return _InFlight(event, using, new_digest)


def _append_locked(event: AuditEvent, secret: bytes, using: str, practice_id: int | None) -> None:
    head = _lock_head(practice_id, using)
    _seal(event, chain=head.chain, seq=head.seq + 1, prev_mac=head.mac, secret=secret)
    event.save(using=using)
    head.seq = event.seq
    head.mac = event.mac
    head.digest = next_digest(head.digest, event_content(event), event.mac)
    head.save(using=using, update_fields=["seq", "mac", "digest"])
    writer_memory().remember(practice_id, head.chain, head.seq, head.mac, head.digest)


def audit_backend_vendor() -> str:
    return connections[router.db_for_write(AuditEvent)].vendor
