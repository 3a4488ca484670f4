"""Walk the audit chain and say exactly where and how it was tampered with."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass

from audit.models import GENESIS_MAC, AuditChainHead, AuditCheckpoint, AuditEvent
from audit.services import compute_mac
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


def chains() -> list[int]:
    return list(AuditEvent.objects.order_by().values_list("chain", flat=True).distinct()) or []


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


def _events(chain: int, since: int) -> Iterator[AuditEvent]:
    # iterator() streams with a server-side cursor on PostgreSQL: memory stays flat at any size.
    return AuditEvent.objects.filter(chain=chain, seq__gte=since).order_by("seq").iterator(chunk_size=2000)


def verify_chain(*, chain: int, since: int = 1) -> ChainReport:
    started = time.perf_counter()
    expected_seq = since
    if since > 1:
        previous = AuditEvent.objects.filter(chain=chain, seq=since - 1).values_list("mac", flat=True).first()
        expected_prev = previous or ""
    else:
        expected_prev = GENESIS_MAC
    head = AuditChainHead.objects.filter(chain=chain).first()
    count = 0

    def report(problem: Problem | None) -> ChainReport:
        return ChainReport(chain=chain, events=count, seconds=time.perf_counter() - started, problem=problem)

    for event in _events(chain, since):
        count += 1
        if event.seq > expected_seq:
            missing = f"#{expected_seq}" if event.seq == expected_seq + 1 else f"#{expected_seq}-#{event.seq - 1}"
            return report(Problem(expected_seq, DELETED, f"event {missing} is missing"))
        if head is not None and event.seq > head.seq:
            return report(Problem(event.seq, INSERTED, f"event #{event.seq} lies beyond the chain head #{head.seq}"))
        mac_ok = _mac_ok(event)
        link_ok = hmac.compare_digest(event.prev_mac, expected_prev)
        if not mac_ok:
            if link_ok:
                return report(Problem(event.seq, MODIFIED, f"event #{event.seq} was changed after it was written"))
            moved_from = _belongs_elsewhere(event)
            if moved_from is not None:
                return report(Problem(event.seq, REORDERED, f"event #{event.seq} was written as #{moved_from}"))
            return report(Problem(event.seq, INSERTED, f"event #{event.seq} was not written by the platform"))
        if not link_ok:
            return report(Problem(event.seq, INSERTED, f"event #{event.seq} does not follow #{event.seq - 1}"))
        expected_prev = event.mac
        expected_seq += 1
    if head is not None and head.seq >= expected_seq:
        return report(Problem(expected_seq, TRUNCATED, f"events #{expected_seq}-#{head.seq} are gone from the end"))
    return report(_against_checkpoint(chain, last_seq=expected_seq - 1))


def _against_checkpoint(chain: int, *, last_seq: int) -> Problem | None:
    """What a hash chain alone cannot catch: a tail rewritten or cut by someone with the MAC key."""
    from audit.checkpoints import checkpoint_verify

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
