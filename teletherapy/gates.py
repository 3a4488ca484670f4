"""Gates before clinical data: conditions a higher layer sets on a staff member's access to
clinical records (for example training not attested), registered at start-up in
``teletherapy.hooks.clinical_gates`` and asked by the records doors, which cannot import the
layers above them."""

from __future__ import annotations

from typing import Any

from teletherapy.hooks import clinical_gates


def clinical_refusal(user: Any) -> str | None:
    """The first reason a gate gives to keep this staff member out of clinical data, or None."""
    for gate in clinical_gates:
        reason = gate(user)
        if reason:
            return reason
    return None
