"""Checking the free text people type into the practice's own records (vendors, training, the
risk register): one rule for all of them."""

from __future__ import annotations

from urllib.parse import urlsplit

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
