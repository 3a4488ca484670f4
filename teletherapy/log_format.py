"""How the processes log: to the console, as text or as one JSON object a line, with every secret
in a path redacted (teletherapy/log_redaction.py).

Django's own request logger warns of every 4xx, and a refusal (PermissionDenied) comes with its
traceback: an expected refusal is not an error, and the request line (teletherapy/middleware.py)
already says it. Those records are dropped; a 5xx keeps its traceback.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from teletherapy.log_redaction import redact

# Attributes every LogRecord has; anything else was passed as ``extra`` and is written as a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            # Values given as ``extra``: plain ones only (a request object would print its path).
            if key not in _STANDARD and not key.startswith("_") and isinstance(value, str | int | float | bool | None):
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps({k: redact(v) if isinstance(v, str) else v for k, v in entry.items()}, ensure_ascii=False)


class ExpectedRefusals(logging.Filter):
    """Drops django.request's records of answers below 500 (a 403 or 404 is expected)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        return not (isinstance(status, int) and status < 500)


def logging_config(form: str, level: str) -> dict[str, Any]:
    formatter = "json" if form.lower() == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            # Tokens in paths (invitations, set-up links, calendar feeds) never reach a log.
            "redact": {"()": "teletherapy.log_redaction.RedactSecrets"},
            "expected_refusals": {"()": "teletherapy.log_format.ExpectedRefusals"},
        },
        "formatters": {
            "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "teletherapy.log_format.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "filters": ["redact"], "formatter": formatter},
        },
        "loggers": {
            "django.request": {"filters": ["expected_refusals"]},
            "teletherapy.requests": {"level": "INFO"},
        },
        "root": {"handlers": ["console"], "level": level},
    }
