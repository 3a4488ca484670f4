"""Gates before clinical data: conditions a higher layer sets on a staff member's access to
clinical records (for example training not attested), registered at start-up and asked by the
records doors, which cannot import the layers above them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_clinical_gates: list[Callable[[Any], str | None]] = []


def on_clinical_access(gate: Callable[[Any], str | None]) -> None:
    """Register a gate: given the staff member, the reason they may not open clinical data, or None."""
    if gate not in _clinical_gates:
        _clinical_gates.append(gate)


def clinical_refusal(user: Any) -> str | None:
    for gate in _clinical_gates:
        reason = gate(user)
        if reason:
            return reason
    return None
