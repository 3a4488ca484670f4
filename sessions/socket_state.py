"""What one signalling socket knows about itself and its room, shared by the consumer's parts
(sessions.consumers, sessions.waiting_room, sessions.relay)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from audit.models import Action, Outcome
from sessions import gate
from sessions.protocol import Message
from sessions.realtime import CloseCode
from teletherapy.context import AuditContext

MAX_PARTICIPANTS = 4


@dataclass
class Peer:
    channel: str
    user_id: int
    name: str
    role: str


class SocketState(AsyncWebsocketConsumer):
    """The state every part reads, and the steps every part may take (defined by the consumer)."""

    peer_id: str
    appointment_id: str
    context: AuditContext
    entry: gate.Entry | None
    joined: bool
    admitted: bool
    closing: bool
    departed: bool
    peers: dict[str, Peer]
    waiting: dict[str, Peer]
    my_groups: list[str]
    refused_signal_audited: bool

    async def audit(self, action: Action, *, outcome: str = Outcome.ALLOWED, **details: Any) -> bool:
        raise NotImplementedError

    async def bye(self, code: CloseCode | int, reason: str, detail: str = "") -> None:
        raise NotImplementedError

    async def error(self, code: str, detail: str) -> None:
        raise NotImplementedError

    async def enter_media(self) -> None:
        raise NotImplementedError

    async def relay(self, message: Message) -> None:
        raise NotImplementedError

    async def announce_waiting(self, target: str, *, group: bool) -> None:
        raise NotImplementedError
