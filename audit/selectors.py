"""Reads of the audit trail."""

from __future__ import annotations

import datetime as dt

from django.db.models import Min

from audit.models import AuditEvent, Outcome
from audit.verify import ChainReport, verify_chain


def audit_chain_verify(*, chain: int) -> ChainReport:
    """Walk one chain from its start and check every link and MAC."""
    return verify_chain(chain=chain)


def clients_touched_by(*, practice_id: int, account_id: int, start: dt.datetime, end: dt.datetime) -> list[int]:
    """The ids of the clients whose data this account read or changed in the window."""
    found = (
        AuditEvent.objects.filter(
            practice_id=practice_id,
            actor_id=account_id,
            outcome=Outcome.ALLOWED,
            occurred_at__gte=start,
            occurred_at__lte=end,
            subject_client_id__isnull=False,
        )
        .values_list("subject_client_id", flat=True)
        .distinct()
    )
    return [client_id for client_id in found if client_id is not None]


def clients_known_by(*, practice_id: int, end: dt.datetime) -> list[int]:
    """The ids of the clients whose data the practice held by then: the log has an event about
    them on or before it."""
    firsts = (
        AuditEvent.objects.filter(practice_id=practice_id, subject_client_id__isnull=False)
        .values("subject_client_id")
        .annotate(first=Min("occurred_at"))
        .filter(first__lte=end)
        .values_list("subject_client_id", flat=True)
    )
    return [client_id for client_id in firsts if client_id is not None]
