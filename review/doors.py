"""The doors of the practice's own records (vendors, training, the risk analysis): who may come
in, and the one record asked for, or NotVisible, in one place."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from accounts.models import Role
from teletherapy.errors import NotVisible

M = TypeVar("M", bound=Model)


def admin_only(user: Any, target_type: str) -> None:
    """Only the practice's admins may know these records exist."""
    if not user.has_role(Role.ADMIN):
        raise NotVisible(target_type, "")


def found_in(records: QuerySet[M], object_id: object, target_type: str) -> M:
    """The record of ``records`` (already narrowed to what the asker may reach) with this id."""
    try:
        key = uuid.UUID(str(object_id))
    except ValueError:
        raise NotVisible(target_type, object_id) from None
    found = records.filter(pk=key).first()
    if found is None:
        raise NotVisible(target_type, object_id)
    return found
