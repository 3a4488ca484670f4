"""Secrets that travel in a URL's path (a calendar feed's address, set-up, invitation, recovery
and password-reset links) never reach a log: daphne's access log, Django's request warnings (a
404 names its path) and HAProxy's log (deploy/haproxy/haproxy.cfg names the same prefixes) write each as the prefix
and ``[redacted]``. A route that carries a token must start with one of SECRET_PREFIXES; a test
walks every URL pattern with a token to hold that."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

SECRET_PREFIXES = ("/invite/", "/mfa/enroll/link/", "/mfa/recovery/cancel/", "/password/reset/", "/sessions/feed/")
# Each prefix as it is written in a path, and percent-encoded, as in a sign-in link's ?next=.
_FORMS = [re.escape(prefix) for prefix in SECRET_PREFIXES] + [
    re.escape(quote(prefix, safe="")).replace("%2F", "%2[Ff]") for prefix in SECRET_PREFIXES
]
_SECRET = re.compile("(" + "|".join(_FORMS) + r")(?:(?!%2[Ff])[^/?#&\s\"'.])+")


def redact(text: str) -> str:
    return _SECRET.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """A logging filter: every string in a record's message and arguments, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def redact_daphne_access_log() -> None:
    """daphne writes its access log itself (its NCSA-style AccessLogGenerator, not through
    logging): its entries are redacted in the same way. Called by the ASGI entry point, which
    daphne loads before it makes its access logger."""
    try:
        from daphne.access import AccessLogGenerator
    except ImportError:  # another server
        return
    if getattr(AccessLogGenerator.write_entry, "redacts", False):
        return
    original = AccessLogGenerator.write_entry

    def write_entry(self: Any, host: Any, date: Any, request: str, *args: Any, **kwargs: Any) -> None:
        original(self, host, date, redact(request), *args, **kwargs)

    write_entry.redacts = True  # type: ignore[attr-defined]
    AccessLogGenerator.write_entry = write_entry  # type: ignore[method-assign]
