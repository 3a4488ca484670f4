"""Identifiers as they arrive from a URL, a form or a JSON body."""

from __future__ import annotations

import uuid


def as_uuid(value: object) -> uuid.UUID | None:
    """The UUID a value spells, or None for anything that is not one."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None
