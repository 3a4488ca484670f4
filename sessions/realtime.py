"""Group names and server-side pushes to signaling sockets, through the channel layer.

With Redis as the channel layer any daphne process reaches any socket, so a cancel in one
process closes a participant connected to another.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable
from enum import IntEnum
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)
T = TypeVar("T")
_holding = threading.local()


class CloseCode(IntEnum):
    """WebSocket close codes: one per reason, so the page can say what happened."""

    APPOINTMENT_OVER = 4000  # ended by the therapist, or cancelled
    SIGNED_OUT = 4001  # the login session ended (sign-out, timeout, deactivation)
    REMOVED = 4002  # the therapist removed this participant
    LEFT = 4003  # the participant hung up
    REPLACED = 4004  # the same person joined again from another tab
    NOT_SIGNED_IN = 4401
    MFA_REQUIRED = 4402
    ORIGIN_REFUSED = 4403
    NOT_FOUND = 4404
    OUTSIDE_WINDOW = 4408
    CONSENT_MISSING = 4412
    CHECK_IN_REQUIRED = 4428
    FLOODING = 4429
    LOCATION_BLOCKED = 4451


def _hex(value: uuid.UUID | str) -> str:
    return uuid.UUID(str(value)).hex


def room_group(appointment_id: uuid.UUID | str) -> str:
    """Every socket of the appointment, waiting or admitted."""
    return f"room.{_hex(appointment_id)}"


def media_group(appointment_id: uuid.UUID | str) -> str:
    """The admitted sockets: only these exchange offers, answers and candidates."""
    return f"media.{_hex(appointment_id)}"


def host_group(appointment_id: uuid.UUID | str) -> str:
    """The therapist's sockets: they hear about the waiting room."""
    return f"host.{_hex(appointment_id)}"


def user_group(user_id: int) -> str:
    return f"user.{int(user_id)}"


def login_group(session_key: str) -> str:
    return "login." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def presence_group(user_id: int) -> str:
    """A therapist's presence sockets (sessions.presence): who is waiting, on any page."""
    return f"presence.{int(user_id)}"


def presence_changed(therapist_id: int) -> None:
    """Tell a therapist's open pages their waiting list changed (after the transaction commits)."""
    push(presence_group(therapist_id), {"type": "presence.changed"})


def push(group: str, message: dict[str, Any]) -> None:
    """Send to a group once the surrounding transaction has committed (at once outside one)."""

    def send() -> None:
        held = getattr(_holding, "pushes", None)
        if held is not None:
            held.append((group, message))
            return
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:  # the change is committed; a socket that misses this re-checks on its next ping
            logger.exception("Could not reach group %s", group)

    transaction.on_commit(send)


def holding_pushes(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> tuple[T, list[tuple[str, dict[str, Any]]]]:
    """Run ``func`` (a service, in a worker thread) and hand back the pushes it made once committed
    instead of sending them: a socket that calls it answers the person in front of it first, then
    sends them with ``deliver``. A push committed after ``func`` returns goes out as usual."""
    held: list[tuple[str, dict[str, Any]]] = []
    _holding.pushes = held
    try:
        return func(*args, **kwargs), held
    finally:
        del _holding.pushes


async def deliver(pushes: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    for group, message in pushes:
        try:
            await layer.group_send(group, message)
        except Exception:  # committed already; a socket that misses this re-checks on its next ping
            logger.exception("Could not reach group %s", group)


def close_group(group: str, code: CloseCode, reason: str) -> None:
    push(group, {"type": "signal.close", "code": int(code), "reason": reason})
