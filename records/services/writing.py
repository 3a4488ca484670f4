"""What every write to a clinical record shares: its limits, how typed text is checked, and its
audit event (in the same transaction as the write).
"""

from __future__ import annotations

import re

from django.db.models import Model

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from teletherapy.context import AuditContext
from teletherapy.errors import ServiceError

MAX_SECTION_CHARS = 20_000
MAX_TEXT_CHARS = 50_000
MAX_SESSION_MINUTES = 600
CPT_PATTERN = re.compile(r"^[0-9]{4}[0-9FT]$")
ICD10_PATTERN = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")


def clean_text(value: object, *, field: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ServiceError("Enter text.", field=field)
    if "\x00" in value:
        raise ServiceError("The text contains a character that cannot be stored.", field=field)
    if len(value) > limit:
        raise ServiceError(f"Keep this under {limit:,} characters.", field=field)
    if required and not value.strip():
        raise ServiceError("This cannot be empty.", field=field)
    return value


def audit_write(action: Action, *, actor: User, context: AuditContext | None, target: Model, client_id: int) -> None:
    """The audit event of a record write: who, what, which record, whose chart."""
    audit_record(action=action, actor=actor, context=context, target=target, subject_client_id=client_id)
