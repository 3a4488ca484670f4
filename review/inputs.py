"""Checking the free text people type into the practice's own records (vendors, training, the
risk register): one rule for all of them."""

from __future__ import annotations

from teletherapy.errors import ServiceError


def clean_text(value: object, *, field: str, limit: int, required: bool = False) -> str:
    """The text trimmed, or a ServiceError naming the field: missing, too long, or holding a
    character no database can store."""
    text = str(value or "").strip()
    if required and not text:
        raise ServiceError("This is needed.", field=field)
    if len(text) > limit:
        raise ServiceError(f"Keep it under {limit:,} characters.", field=field)
    if "\x00" in text:
        raise ServiceError("That contains a character that cannot be stored.", field=field)
    return text
