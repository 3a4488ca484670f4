"""Where a request comes from, without trusting what the client says about itself."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid_ip(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The client's address as seen by the nearest trusted hop.

    ``X-Forwarded-For`` is read only when ``TRUSTED_PROXY_COUNT`` proxies are declared, and
    then only the entry those proxies appended; anything to its left came from the client.
    """
    remote = _valid_ip(request.META.get("REMOTE_ADDR", "") or "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < hops:
        return remote
    return _valid_ip(forwarded[-hops]) or remote
