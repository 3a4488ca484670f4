"""Reads of the audit trail."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from audit.models import GENESIS_MAC, AuditEvent
from audit.services import compute_mac
from teletherapy.keyring import keyring


@dataclass(frozen=True)
class ChainReport:
    chain: int
    events: int
    intact: bool
    first_broken_seq: int | None = None
    problem: str = ""


def audit_chain_verify(*, chain: int) -> ChainReport:
    """Walk one chain from its start and check every link and MAC."""
    expected_prev = GENESIS_MAC
    expected_seq = 1
    count = 0
    ring = keyring()
    for event in AuditEvent.objects.filter(chain=chain).order_by("seq").iterator(chunk_size=1000):
        count += 1
        if event.seq != expected_seq:
            return ChainReport(chain, count, False, event.seq, f"expected #{expected_seq}")
        if event.prev_mac != expected_prev:
            return ChainReport(chain, count, False, event.seq, "link to previous event broken")
        key = ring.get("audit", event.key_id)
        if key is None:
            return ChainReport(chain, count, False, event.seq, f"unknown audit key {event.key_id}")
        if not hmac.compare_digest(compute_mac(event, secret=key.secret), event.mac):
            return ChainReport(chain, count, False, event.seq, "content does not match its MAC")
        expected_prev = event.mac
        expected_seq += 1
    return ChainReport(chain, count, True)
