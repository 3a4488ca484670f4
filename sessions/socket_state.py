"""What one signalling socket knows about itself and its room, shared by the consumer's parts
(sessions.consumers, sessions.waiting_room, sessions.relay)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from audit.models import Action, Outcome
from sessions import gate
from sessions.protocol import Message
from sessions.quiet_socket import QuietSocket
from sessions.realtime import CloseCode
from teletherapy.context import AuditContext

MAX_PARTICIPANTS = 4


@dataclass
class Peer:
    channel: str
    user_id: int
    name: str
    role: str


class SocketState(QuietSocket):
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

    if TYPE_CHECKING:
        # The steps the consumer defines (sessions.consumers), declared for the type checker only:
        # at run time the parts find them on the consumer itself.
        async def audit(self, action: Action, *, outcome: str = Outcome.ALLOWED, **details: Any) -> bool: ...

        async def bye(self, code: CloseCode | int, reason: str, detail: str = "") -> None: ...

        async def error(self, code: str, detail: str) -> None: ...

        async def enter_media(self) -> None: ...

        async def relay(self, message: Message) -> None: ...

        async def announce_waiting(self, target: str, *, group: bool) -> None: ...
