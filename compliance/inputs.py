"""Checking what people type into the practice's own records (vendors, training, the risk
register, incidents): free text, dates, choices, numbers; one rule for each, each refusal naming
its field."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlsplit

from teletherapy.errors import ServiceError

TEXT_LIMIT = 4000


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


def host_of(url: str) -> str:
    """The host an address names, TURN's ``turn:host:port`` form included; empty if none."""
    for scheme in ("turns:", "turn:", "stun:"):
        if url.startswith(scheme) and not url.startswith(scheme + "//"):
            url = scheme + "//" + url[len(scheme) :]
            break
    return urlsplit(url).hostname or ""


def hosts_of(urls: list[str]) -> list[str]:
    """The distinct hosts of these addresses, in order."""
    return list(dict.fromkeys(host for host in map(host_of, urls) if host))


def text_field(value: object, name: str, *, required: bool = False, limit: int = TEXT_LIMIT) -> str:
    return clean_text(value, field=name, limit=limit, required=required)


def day_field(value: object, name: str, *, required: bool = False, not_after: dt.date | None = None) -> dt.date | None:
    """A date given as YYYY-MM-DD (or a date), within reason; None when not given."""
    if value in (None, ""):
        if required:
            raise ServiceError("Give a date.", field=name)
        return None
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        raise ServiceError("Give a date as YYYY-MM-DD.", field=name) from None
    if not dt.date(2000, 1, 1) <= day <= (not_after or dt.date(2200, 1, 1)):
        raise ServiceError("That date cannot be right.", field=name)
    return day


def choice_field(value: object, choices: dict[str, str], name: str) -> str:
    text = str(value or "")
    if text not in choices:
        raise ServiceError("Choose one of the options.", field=name)
    return text


def yes(value: object) -> bool:
    """A box ticked, in any of the ways a form or a JSON body says so."""
    return value in (True, "1", "on", "true", "yes", 1)


def id_number(value: object) -> int:
    """A row id as given, or 0 (which matches nothing) for anything else."""
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 19 else 0


def id_uuid(value: object) -> str:
    """A UUID as given, or the nil UUID (which matches nothing) for anything else."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return "00000000-0000-0000-0000-000000000000"
