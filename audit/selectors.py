"""Reads of the audit trail."""

from __future__ import annotations

from audit.verify import ChainReport, verify_chain


def audit_chain_verify(*, chain: int) -> ChainReport:
    """Walk one chain from its start and check every link and MAC."""
    return verify_chain(chain=chain)
