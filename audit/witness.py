"""The off-host witness: every audit event (metadata only, as the row holds it) and every signed
checkpoint is sent to a syslog collector outside the database, so that a change to the log made
by someone who controls the database and this server is still found.

Transport: syslog messages (RFC 5424) over TCP with TLS (RFC 5425, octet-counted frames), the
way practices ship security logs to a SIEM. Set ``AUDIT_WITNESS_URL`` to
``syslog+tls://host:6514`` (``AUDIT_WITNESS_CA_FILE`` names the CA that signed the collector's
certificate; ``AUDIT_WITNESS_CERT_FILE`` / ``AUDIT_WITNESS_KEY_FILE`` a client certificate if
the collector asks for one).

Delivery is at-least-once. The outbox is the audit table itself: ``WitnessLane`` says how far
each chain was delivered, and moves only once the collector acknowledged a batch (it answered
our TLS close after reading everything before it). A batch cut off by an outage is sent again
when the collector returns; a collector unreachable for longer than
``AUDIT_WITNESS_ALERT_MINUTES`` raises an alert for every practice's admins.

``witness_read`` reads what the collector wrote (one message per line, in any rsyslog file
format that keeps the message), and ``witness_compare`` says where the database no longer
extends it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.checkpoints import checkpoint_export, checkpoint_verify
from audit.content import event_content
from audit.models import (
    Action,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    AuditFlag,
    FlagRule,
    WitnessLane,
    WitnessOutage,
    practice_of_chain,
)

logger = logging.getLogger(__name__)

FACILITY = 13  # log audit (RFC 5424, table 1)
SEVERITY = {"event": 6, "checkpoint": 5}  # informational; a checkpoint is a notice
APP_NAME = "teletherapy"


class WitnessError(Exception):
    """The witness could not be reached, or did not acknowledge what was sent."""


@dataclass(frozen=True)
class Witness:
    host: str
    port: int
    tls: bool
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    timeout: float = 10.0


def configured_witness() -> Witness | None:
    url = getattr(settings, "AUDIT_WITNESS_URL", "") or ""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("syslog+tls", "syslog+tcp") or not parts.hostname:
        raise ValueError(f"AUDIT_WITNESS_URL must be syslog+tls://host:port, not {url!r}")
    return Witness(
        host=parts.hostname,
        port=parts.port or (6514 if parts.scheme == "syslog+tls" else 514),
        tls=parts.scheme == "syslog+tls",
        ca_file=getattr(settings, "AUDIT_WITNESS_CA_FILE", None) or None,
        cert_file=getattr(settings, "AUDIT_WITNESS_CERT_FILE", None) or None,
        key_file=getattr(settings, "AUDIT_WITNESS_KEY_FILE", None) or None,
        timeout=float(getattr(settings, "AUDIT_WITNESS_TIMEOUT_SECONDS", 10)),
    )


# Messages -------------------------------------------------------------------------------------


# A psychotherapy note is its author's alone: the witness is told that one was written or read,
# and by whom, never whose or which. Its MAC still commits to the whole event, so the witness
# vouches for it all the same.
PRIVATE_ACTIONS = frozenset({Action.PSYCHOTHERAPY_NOTE_VIEW.value, Action.PSYCHOTHERAPY_NOTE_WRITE.value})
PRIVATE_TARGETS = frozenset({"records.psychotherapynote"})


def event_message(event: AuditEvent) -> dict[str, Any]:
    """What the witness keeps of an event: the fields of its row (no clinical content is ever in
    one), with its MAC; for a psychotherapy note's event, not whose note or which."""
    content = event_content(event)
    if content["action"] in PRIVATE_ACTIONS or content["target_type"] in PRIVATE_TARGETS:
        content |= {"subject_client_id": None, "target_id": "", "details": {"withheld": "psychotherapy note"}}
    return {"kind": "event", **content, "mac": event.mac}


def checkpoint_message(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {"kind": "checkpoint", **checkpoint_export(checkpoint)}


def syslog_frame(body: dict[str, Any], *, hostname: str | None = None) -> bytes:
    """One RFC 5424 message, octet-counted as RFC 5425 frames it."""
    kind = str(body["kind"])
    stamp = timezone.now().astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    host = (hostname or getattr(settings, "AUDIT_WITNESS_HOSTNAME", "") or socket.gethostname())[:255] or "-"
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    pri = FACILITY * 8 + SEVERITY[kind]
    message = f"<{pri}>1 {stamp} {host} {APP_NAME} {os.getpid()} {kind} - {text}".encode("ascii")
    return str(len(message)).encode() + b" " + message


# Transport ------------------------------------------------------------------------------------


def deliver(witness: Witness, frames: Iterable[bytes]) -> int:
    """Send the frames on one connection and wait for the collector's acknowledgement: after
    our close (TLS close_notify, or FIN without TLS) the collector closes too, which it does only
    after reading everything before it. Raises WitnessError otherwise."""
    sent = 0
    try:
        raw = socket.create_connection((witness.host, witness.port), timeout=witness.timeout)
    except OSError as error:
        raise WitnessError(f"cannot connect to {witness.host}:{witness.port}: {error}") from error
    sock: socket.socket = raw
    try:
        if witness.tls:
            context = ssl.create_default_context(cafile=witness.ca_file)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            if witness.cert_file:
                context.load_cert_chain(witness.cert_file, witness.key_file)
            sock = context.wrap_socket(raw, server_hostname=witness.host)
        buffer = bytearray()
        for frame in frames:
            buffer += frame
            sent += 1
            if len(buffer) >= 64 * 1024:
                sock.sendall(buffer)
                buffer.clear()
        if buffer:
            sock.sendall(buffer)
        _await_close(sock)
    except (OSError, ssl.SSLError, ValueError) as error:
        raise WitnessError(f"delivery to {witness.host}:{witness.port} failed: {error}") from error
    finally:
        with contextlib.suppress(OSError):
            sock.close()
    return sent


def _await_close(sock: socket.socket) -> None:
    if isinstance(sock, ssl.SSLSocket):
        try:
            sock = sock.unwrap()  # our close_notify; returns on the collector's own
        except ssl.SSLEOFError:
            return  # it closed the connection after reading our close_notify
        except ssl.SSLZeroReturnError:
            return
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return  # already closed by the collector after the TLS close
    while True:
        data = sock.recv(4096)
        if not data:
            return


# Shipping -------------------------------------------------------------------------------------


@dataclass
class ShipResult:
    events: int = 0
    checkpoints: int = 0
    error: str = ""
    chains: set[int] = field(default_factory=set)

    @property
    def delivered(self) -> bool:
        return not self.error


def _pending(limit: int) -> Iterator[tuple[int, int, list[bytes], int, int]]:
    """Per chain with something new: (chain, frames counted, frames, last event seq, last checkpoint seq)."""
    # One query finds the chains with something new: their head beyond what was delivered, or a
    # checkpoint newer than the last one delivered.
    lane = WitnessLane.objects.filter(chain=OuterRef("chain"))
    newest = AuditCheckpoint.objects.filter(chain=OuterRef("chain")).order_by("-seq").values("seq")[:1]
    moved = (
        AuditChainHead.objects.filter(seq__gt=0)
        .annotate(
            done_events=Coalesce(Subquery(lane.values("event_seq")), Value(0)),
            done_checkpoints=Coalesce(Subquery(lane.values("checkpoint_seq")), Value(0)),
            newest_checkpoint=Coalesce(Subquery(newest), Value(0)),
        )
        .filter(Q(seq__gt=F("done_events")) | Q(newest_checkpoint__gt=F("done_checkpoints")))
        .order_by("chain")
    )
    budget = limit
    for head in moved:
        done_events, done_checkpoints = head.done_events, head.done_checkpoints
        events = list(AuditEvent.objects.filter(chain=head.chain, seq__gt=done_events).order_by("seq")[:budget])
        last_event = events[-1].seq if events else done_events
        checkpoints = list(
            AuditCheckpoint.objects.filter(chain=head.chain, seq__gt=done_checkpoints, seq__lte=last_event).order_by(
                "seq"
            )
        )
        frames: list[bytes] = []
        by_seq = {c.seq: c for c in checkpoints}
        for event in events:
            frames.append(syslog_frame(event_message(event)))
            if event.seq in by_seq:
                frames.append(syslog_frame(checkpoint_message(by_seq.pop(event.seq))))
        frames.extend(syslog_frame(checkpoint_message(c)) for c in by_seq.values())  # events sent before
        last_checkpoint = checkpoints[-1].seq if checkpoints else done_checkpoints
        yield head.chain, len(events), frames, last_event, last_checkpoint
        budget -= len(events)
        if budget <= 0:
            return


def witness_ship(*, batch: int | None = None, rounds: int = 50) -> ShipResult:
    """Deliver everything the witness has not acknowledged yet. Without a witness configured,
    nothing happens. Never raises for an unreachable witness: the outage is recorded, and alerted
    once it lasts."""
    result = ShipResult()
    witness = configured_witness()
    if witness is None:
        return result
    batch = batch or int(getattr(settings, "AUDIT_WITNESS_BATCH", 2000))
    for _ in range(rounds):
        pending = list(_pending(batch))
        if not pending:
            break
        frames = [frame for _, _, chain_frames, _, _ in pending for frame in chain_frames]
        try:
            deliver(witness, frames)
        except WitnessError as error:
            result.error = str(error)
            _outage(str(error))
            return result
        now = timezone.now()
        with transaction.atomic():
            for chain, events, chain_frames, last_event, last_checkpoint in pending:
                lane, _ = WitnessLane.objects.select_for_update().get_or_create(chain=chain)
                lane.event_seq = max(lane.event_seq, last_event)
                lane.checkpoint_seq = max(lane.checkpoint_seq, last_checkpoint)
                lane.delivered_at = now
                lane.save()
                result.events += events
                result.checkpoints += len(chain_frames) - events
                result.chains.add(chain)
    _outage_over()
    return result


def _outage(error: str) -> None:
    now = timezone.now()
    outage = WitnessOutage.objects.filter(ended_at__isnull=True).order_by("-started_at").first()
    if outage is None:
        outage = WitnessOutage.objects.create(started_at=now, last_error=error[:300])
        logger.error("The audit witness is unreachable: %s", error)
    else:
        outage.attempts += 1
        outage.last_error = error[:300]
    threshold = timedelta(minutes=int(getattr(settings, "AUDIT_WITNESS_ALERT_MINUTES", 15)))
    if outage.alerted_at is None and now - outage.started_at >= threshold:
        _alert(outage, now)
        outage.alerted_at = now
    outage.save()


def _alert(outage: WitnessOutage, now: Any) -> None:
    """One alert per practice: its admins must know its trail is not being witnessed."""
    practices = {practice_of_chain(chain) for chain in AuditChainHead.objects.values_list("chain", flat=True)}
    minutes = int((now - outage.started_at).total_seconds() // 60)
    summary = (
        f"The off-host audit witness has been unreachable for {minutes} minutes "
        f"({outage.last_error[:120]}); events are queued and will be sent when it returns."
    )
    for practice_id in sorted(p for p in practices if p):
        AuditFlag.objects.get_or_create(
            key=f"witness:{outage.pk}:{practice_id}",
            defaults={
                "practice_id": practice_id,
                "rule": FlagRule.WITNESS_UNREACHABLE,
                "summary": summary[:300],
                "created_at": now,
            },
        )
    logger.critical("ALERT: %s", summary)


def _outage_over() -> None:
    WitnessOutage.objects.filter(ended_at__isnull=True).update(ended_at=timezone.now())


# Reading the witness back ---------------------------------------------------------------------


@dataclass
class WitnessRecord:
    """What the witness received, reduced to what verification needs: per chain the newest
    position it saw (seq and MAC), and every checkpoint."""

    newest: dict[int, tuple[int, str]] = field(default_factory=dict)
    checkpoints: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    events: int = 0
    unreadable: int = 0

    def saw(self, chain: int, seq: int, mac: str) -> None:
        if seq > self.newest.get(chain, (0, ""))[0]:
            self.newest[chain] = (seq, mac)


def witness_read(path: Path) -> WitnessRecord:
    """Read a collector's file line by line (flat memory): each line holds one message whose JSON
    body starts at its first ``{``; lines of other programs are skipped."""
    record = WitnessRecord()
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if f" {APP_NAME} " not in line and '"kind"' not in line:
                continue
            start = line.find("{")
            if start < 0:
                continue
            try:
                body = json.loads(line[start:])
                kind = body["kind"]
                chain, seq = int(body["chain"]), int(body["seq"])
            except (ValueError, KeyError, TypeError):
                record.unreadable += 1
                continue
            if kind == "event":
                record.events += 1
                record.saw(chain, seq, str(body.get("mac", "")))
            elif kind == "checkpoint":
                record.checkpoints[(chain, seq)] = body
    return record


@dataclass(frozen=True)
class WitnessProblem:
    chain: int
    seq: int
    kind: str
    detail: str


def witness_compare(record: WitnessRecord) -> tuple[list[WitnessProblem], dict[int, int]]:
    """Where the database does not extend what the witness saw: a cut tail, a rolled-back head,
    a rewritten or deleted lane, a deleted checkpoint. Returns the problems and, per chain the
    witness vouches for, the position from which the database must still be checked."""

    problems: list[WitnessProblem] = []
    pins = dict(record.newest)
    for (chain, seq), body in sorted(record.checkpoints.items()):
        witnessed = _checkpoint_of(body)
        if witnessed is None or not checkpoint_verify(witnessed):
            problems.append(WitnessProblem(chain, seq, "forged", f"the witness holds an unsigned checkpoint at #{seq}"))
            continue
        stored = AuditCheckpoint.objects.filter(chain=chain, seq=seq).first()
        if stored is None or stored.signature != witnessed.signature:
            problems.append(
                WitnessProblem(chain, seq, "deleted", f"the signed checkpoint at #{seq} is gone from the database")
            )
        if seq >= pins.get(chain, (0, ""))[0]:
            pins[chain] = (seq, witnessed.head_mac)
    heads = dict(AuditChainHead.objects.filter(chain__in=list(pins)).values_list("chain", "seq"))
    start: dict[int, int] = {}
    for chain, (seq, mac) in sorted(pins.items()):
        if chain not in heads:
            problems.append(
                WitnessProblem(chain, seq, "missing", f"the witness saw #{seq}; the database has no such lane")
            )
            continue
        if heads[chain] < seq:
            problems.append(
                WitnessProblem(
                    chain, heads[chain] + 1, "rolled back", f"the head is at #{heads[chain]}; the witness saw #{seq}"
                )
            )
        stored_mac = AuditEvent.objects.filter(chain=chain, seq=seq).values_list("mac", flat=True).first()
        if stored_mac is None:
            problems.append(WitnessProblem(chain, seq, "truncated", f"event #{seq}, which the witness saw, is gone"))
        elif stored_mac != mac:
            problems.append(
                WitnessProblem(chain, seq, "rewritten", f"event #{seq} differs from the one the witness saw")
            )
        start[chain] = seq  # from the pinned event itself: its content must still match its MAC
    return problems, start


def _checkpoint_of(body: dict[str, Any]) -> AuditCheckpoint | None:
    from datetime import datetime

    try:
        return AuditCheckpoint(
            chain=int(body["chain"]),
            seq=int(body["seq"]),
            head_mac=str(body["head_mac"]),
            head_digest=str(body["head_digest"]),
            created_at=datetime.fromisoformat(str(body["created_at"])),
            key_id=str(body["key_id"]),
            signature=str(body["signature"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
