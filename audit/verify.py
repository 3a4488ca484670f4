"""Walk the audit chain and say exactly where and how it was tampered with."""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC

from django.db import connection, connections
from django.db.models import Max

from audit.canonical import CONTENT_FIELDS, canonical_bytes
from audit.checkpoints import checkpoint_verify
from audit.content import compute_mac
from audit.models import (
    GENESIS_MAC,
    LANES,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    AuditSubject,
    WitnessLane,
    chain_of,
)
from audit.witness import configured_witness
from teletherapy.keyring import keyring

MODIFIED = "modified"  # an event's content no longer matches its MAC
DELETED = "deleted"  # a gap in the sequence
INSERTED = "inserted"  # an event that does not belong to the chain
REORDERED = "reordered"  # a genuine event at the wrong place
TRUNCATED = "truncated"  # events missing at the end
REORDER_WINDOW = 16


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str
    detail: str


@dataclass(frozen=True)
class ChainReport:
    chain: int
    events: int
    seconds: float
    problem: Problem | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    @property
    def first_broken_seq(self) -> int | None:
        return self.problem.seq if self.problem else None

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else float("inf")


MISSING = "missing"  # a lane whose head (and so its events) is gone

# Where the practices come from (registered by the accounts app at start-up): every practice has
# all its lanes, whether or not any event remains in them.
_practice_sources: list[Callable[[], Iterable[int]]] = []


def practices_from(source: Callable[[], Iterable[int]]) -> None:
    if source not in _practice_sources:
        _practice_sources.append(source)


def expected_chains() -> set[int]:
    """Chains that must exist, known without reading the events: the system lanes and every
    lane of every practice."""
    practices = {0}
    for source in _practice_sources:
        practices.update(source())
    return {chain_of(practice, lane) for practice in practices for lane in range(LANES)}


def chains() -> list[int]:
    """Every chain to verify: those that must exist, those with a head, and any that holds events."""
    heads = set(AuditChainHead.objects.values_list("chain", flat=True))
    return sorted(expected_chains() | heads | chains_with_events())


def chains_with_events() -> set[int]:
    """The distinct chains of the events, one index probe per chain (a skip scan over the
    (chain, seq) index), so that a routine run does not read every event to find them."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    sql = (
        f"WITH RECURSIVE lanes(chain) AS (SELECT min(chain) FROM {table} "  # noqa: S608 - our own table
        f"UNION ALL SELECT (SELECT min(chain) FROM {table} WHERE chain > lanes.chain) "
        "FROM lanes WHERE lanes.chain IS NOT NULL) SELECT chain FROM lanes WHERE chain IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {row[0] for row in cursor.fetchall()}


def _mac_ok(event: AuditEvent) -> bool:
    key = keyring().get("audit", event.key_id)
    return key is not None and hmac.compare_digest(compute_mac(event, secret=key.secret), event.mac)


def _belongs_elsewhere(event: AuditEvent) -> int | None:
    """If this event's MAC is valid for a nearby sequence number, it was moved from there."""
    original = event.seq
    try:
        for offset in range(1, REORDER_WINDOW + 1):
            for candidate in (original + offset, original - offset):
                if candidate < 1:
                    continue
                event.seq = candidate
                if _mac_ok(event):
                    return candidate
    finally:
        event.seq = original
    return None


_COLUMNS = ("id", *CONTENT_FIELDS, "mac")
_SEQ, _PREV, _KEY, _OCCURRED, _MAC = (_COLUMNS.index(n) for n in ("seq", "prev_mac", "key_id", "occurred_at", "mac"))


def _rows(chain: int, since: int, until: int | None) -> Iterator[tuple]:
    """Plain tuples, ``occurred_at`` already in its canonical text form.

    On PostgreSQL through a server-side cursor (flat memory at any size) with the time formatted
    by the database, so the millions of events that are fine cost no model instances and no
    datetime objects.
    """
    if connection.vendor == "postgresql":
        yield from _postgres_rows(chain, since, until)
        return
    events = AuditEvent.objects.filter(chain=chain, seq__gte=since)
    if until is not None:
        events = events.filter(seq__lte=until)
    for row in events.order_by("seq").values_list(*_COLUMNS).iterator(chunk_size=5000):
        occurred = row[_OCCURRED].astimezone(UTC).isoformat(timespec="microseconds")
        yield (*row[:_OCCURRED], occurred, *row[_OCCURRED + 1 :])


_CANONICAL_TIME = """to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def _postgres_rows(chain: int, since: int, until: int | None) -> Iterator[tuple]:
    columns = ", ".join(
        _CANONICAL_TIME if name == "occurred_at" else connection.ops.quote_name(name) for name in _COLUMNS
    )
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    sql = f"SELECT {columns} FROM {table} WHERE chain = %s AND seq >= %s AND seq <= %s ORDER BY seq"  # noqa: S608
    details = _COLUMNS.index("details")
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, [chain, since, until if until is not None else 2**62])
        while rows := cursor.fetchmany(5000):
            for row in rows:
                value = row[details]
                if isinstance(value, str):
                    row = (*row[:details], json.loads(value), *row[details + 1 :])
                yield row


def _classify(event: AuditEvent, *, link_ok: bool) -> Problem:
    if link_ok:
        return Problem(event.seq, MODIFIED, f"event #{event.seq} was changed after it was written")
    moved_from = _belongs_elsewhere(event)
    if moved_from is not None:
        return Problem(event.seq, REORDERED, f"event #{event.seq} was written as #{moved_from}")
    return Problem(event.seq, INSERTED, f"event #{event.seq} was not written by the platform")


PARALLEL_FROM = 200_000  # events; below this one process is quicker than starting others


def verify_chain(*, chain: int, since: int = 1, workers: int | None = None) -> ChainReport:
    """Check every event of one chain from ``since`` on.

    On PostgreSQL a long chain is split into ranges checked by several processes at once; each
    range starts from the stored MAC of the event before it, which the previous range checks, so
    the links between ranges are verified too.
    """
    head_seq = AuditChainHead.objects.filter(chain=chain).values_list("seq", flat=True).first() or 0
    workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    if connection.vendor == "postgresql" and workers > 1 and head_seq - since >= PARALLEL_FROM:
        return _verify_parallel(chain=chain, since=since, until=head_seq, workers=workers)
    return _verify_range(chain=chain, since=since, until=None)


def _verify_parallel(*, chain: int, since: int, until: int, workers: int) -> ChainReport:
    started = time.perf_counter()
    step = (until - since + 1) // workers + 1
    ranges = [(start, min(start + step - 1, until)) for start in range(since, until + 1, step)]
    connections.close_all()  # each process opens its own connection
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        parts = list(pool.map(_verify_part, [(chain, a, b) for a, b in ranges]))
    count = 0
    for part in parts:
        count += part.events
        if part.problem is not None:
            return ChainReport(chain=chain, events=count, seconds=time.perf_counter() - started, problem=part.problem)
    tail = _verify_range(chain=chain, since=until + 1, until=None)  # anything appended meanwhile, and the end checks
    return ChainReport(
        chain=chain, events=count + tail.events, seconds=time.perf_counter() - started, problem=tail.problem
    )


def _verify_part(args: tuple[int, int, int]) -> ChainReport:
    chain, since, until = args
    try:
        return _verify_range(chain=chain, since=since, until=until)
    finally:
        connections.close_all()


def _verify_range(*, chain: int, since: int, until: int | None) -> ChainReport:
    started = time.perf_counter()
    expected_seq = since
    if since > 1:
        previous = AuditEvent.objects.filter(chain=chain, seq=since - 1).values_list("mac", flat=True).first()
        expected_prev = previous or ""
    else:
        expected_prev = GENESIS_MAC
    head = AuditChainHead.objects.filter(chain=chain).first()
    head_seq = head.seq if head is not None else None
    if head is None:
        started_at = AuditEvent.objects.filter(chain=chain).order_by("seq").values_list("seq", flat=True).first()
        where = f"; its events start at #{started_at}" if started_at is not None else ""
        return ChainReport(
            chain=chain,
            events=0,
            seconds=time.perf_counter() - started,
            problem=Problem(1, MISSING, f"the head of chain {chain} is missing{where}"),
        )
    ring = keyring()
    secrets: dict[str, bytes | None] = {}
    names = CONTENT_FIELDS
    count = 0
    details_at = _COLUMNS.index("details")
    listing: list[tuple[int, int, str]] = []  # (event id, seq, digest of its subjects) to check

    def report(problem: Problem | None) -> ChainReport:
        return ChainReport(chain=chain, events=count, seconds=time.perf_counter() - started, problem=problem)

    for row in _rows(chain, since, until):
        count += 1
        seq = row[_SEQ]
        if seq > expected_seq:
            missing = f"#{expected_seq}" if seq == expected_seq + 1 else f"#{expected_seq}-#{seq - 1}"
            return report(Problem(expected_seq, DELETED, f"event {missing} is missing"))
        if head_seq is not None and seq > head_seq:
            return report(Problem(seq, INSERTED, f"event #{seq} lies beyond the chain head #{head_seq}"))
        key_id = row[_KEY]
        if key_id not in secrets:
            key = ring.get("audit", key_id)
            secrets[key_id] = key.secret if key is not None else None
        secret = secrets[key_id]
        content = dict(zip(names, row[1:-1], strict=True))
        mac_ok = secret is not None and hmac.compare_digest(
            hmac.new(secret, canonical_bytes(content), hashlib.sha256).hexdigest(), row[_MAC]
        )
        link_ok = hmac.compare_digest(row[_PREV], expected_prev)
        if not mac_ok:
            return report(_classify(AuditEvent.objects.get(pk=row[0]), link_ok=link_ok))
        if not link_ok:
            return report(Problem(seq, INSERTED, f"event #{seq} does not follow #{seq - 1}"))
        expected_prev = row[_MAC]
        expected_seq += 1
        details = row[details_at]
        if isinstance(details, dict) and "subjects_sha256" in details:
            listing.append((row[0], seq, str(details["subjects_sha256"])))
    if (changed := _subjects_changed(listing)) is not None:
        return report(changed)
    if until is not None:
        if expected_seq <= until:
            return report(Problem(expected_seq, DELETED, f"events #{expected_seq}-#{until} are missing"))
        return report(None)
    if head_seq is not None and head_seq >= expected_seq:
        return report(Problem(expected_seq, TRUNCATED, f"events #{expected_seq}-#{head_seq} are gone from the end"))
    return report(_against_checkpoint(chain, last_seq=expected_seq - 1))


def _subjects_changed(listing: list[tuple[int, int, str]]) -> Problem | None:
    """The clients an event about several names (AuditSubject rows, outside the MAC) against the
    digest of them its MAC'd details keep: a row added or removed since is found here."""

    for start in range(0, len(listing), 1000):
        batch = listing[start : start + 1000]
        named: dict[int, list[int]] = {event_id: [] for event_id, _seq, _digest in batch}
        rows = AuditSubject.objects.filter(event_id__in=list(named)).values_list("event_id", "client_id")
        for event_id, client_id in rows:
            named[event_id].append(client_id)
        for event_id, seq, digest in batch:
            ids = ",".join(map(str, sorted(named[event_id])))
            if not hmac.compare_digest(hashlib.sha256(ids.encode()).hexdigest(), digest):
                return Problem(seq, MODIFIED, f"the clients event #{seq} names were changed after it was written")
    return None


def _against_checkpoint(chain: int, *, last_seq: int) -> Problem | None:
    """What a hash chain alone cannot catch: a tail rewritten or cut by someone with the MAC key."""
    checkpoint = AuditCheckpoint.objects.filter(chain=chain).order_by("-seq").first()
    if checkpoint is None:
        return None
    if not checkpoint_verify(checkpoint):
        return Problem(
            checkpoint.seq, MODIFIED, f"the checkpoint at #{checkpoint.seq} does not carry a valid signature"
        )
    if last_seq < checkpoint.seq:
        return Problem(
            last_seq + 1, TRUNCATED, f"the signed checkpoint vouches for #{checkpoint.seq}; the log ends at #{last_seq}"
        )
    mac = AuditEvent.objects.filter(chain=chain, seq=checkpoint.seq).values_list("mac", flat=True).first()
    if not hmac.compare_digest(mac or "", checkpoint.head_mac):
        return Problem(checkpoint.seq, MODIFIED, f"event #{checkpoint.seq} differs from the one the checkpoint signed")
    return None


def incremental_start(chain: int) -> AuditCheckpoint | None:
    """The checkpoint a routine run starts from: the newest one delivered to the witness (or,
    with no witness configured, the newest one signed)."""

    checkpoints = AuditCheckpoint.objects.filter(chain=chain)
    if configured_witness() is not None:
        witnessed = WitnessLane.objects.filter(chain=chain).values_list("checkpoint_seq", flat=True).first() or 0
        checkpoints = checkpoints.filter(seq__lte=witnessed)
    return checkpoints.order_by("-seq").first()


def verify_chain_from(*, chain: int, start: AuditCheckpoint | None = None, since: int | None = None) -> ChainReport:
    """Check a chain from a trusted position on: O(new events) for a routine run.

    ``start`` is a signed checkpoint (its event must still carry the signed MAC); ``since`` a
    position the caller has already pinned (the witness's newest). Without either, the whole
    chain is checked."""

    if start is not None:
        began = time.perf_counter()

        def failed(problem: Problem) -> ChainReport:
            return ChainReport(chain=chain, events=0, seconds=time.perf_counter() - began, problem=problem)

        if not checkpoint_verify(start):
            return failed(
                Problem(start.seq, MODIFIED, f"the checkpoint at #{start.seq} does not carry a valid signature")
            )
        mac = AuditEvent.objects.filter(chain=chain, seq=start.seq).values_list("mac", flat=True).first()
        if mac is None:
            last = AuditEvent.objects.filter(chain=chain, seq__lt=start.seq).aggregate(last=Max("seq"))["last"] or 0
            detail = f"the signed checkpoint vouches for #{start.seq}; the log ends at #{last}"
            return failed(Problem(last + 1, TRUNCATED, detail))
        if not hmac.compare_digest(mac, start.head_mac):
            return failed(
                Problem(start.seq, MODIFIED, f"event #{start.seq} differs from the one the checkpoint signed")
            )
        since = start.seq + 1
    return verify_chain(chain=chain, since=since or 1)
