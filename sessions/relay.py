"""The relay: introducing admitted peers to each other and carrying their offers, answers and ICE
candidates, one addressed peer at a time, never stored. A part of the signalling consumer
(sessions.consumers)."""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull

from audit.models import Action, Outcome
from sessions import services
from sessions.protocol import Message, encode
from sessions.realtime import CloseCode, host_group, media_group
from sessions.socket_state import Peer, SocketState
from teletherapy import metrics
from teletherapy.channel_layers import LAYER_ERRORS

logger = logging.getLogger(__name__)

# What a relayed message carries to its peer besides its type and who it is from.
RELAYED_FIELDS = frozenset({"sdp", "candidate", "step", "hash", "fingerprint", "nonce"})

# A socket closed by the browser on purpose: the page was closed, reloaded or left.
GOODBYES = {1000, 1001}
CLOSE_CODES = {int(code) for code in CloseCode}


def dropped(code: int) -> bool:
    """Whether a close code means the connection broke rather than someone leaving or being told
    to go (each of the app's own codes names a reason)."""
    return code not in GOODBYES and code not in CLOSE_CODES


class Relay(SocketState):
    async def enter_media(self) -> None:
        entry = self.entry
        assert entry is not None
        group = media_group(self.appointment_id)
        await self.channel_layer.group_add(group, self.channel_name)
        self.my_groups.append(group)
        await self.channel_layer.group_send(group, self._introduction("signal.announce"))

    def _introduction(self, kind: str) -> dict[str, Any]:
        entry = self.entry
        assert entry is not None
        return {
            "type": kind,
            "peer": self.peer_id,
            "channel": self.channel_name,
            "user_id": entry.user.pk,
            "name": entry.user.full_name,
            "role": entry.role,
        }

    async def relay(self, message: Message) -> None:
        if not self.admitted:
            if not self.refused_signal_audited:
                self.refused_signal_audited = True
                await self.audit(Action.VIDEO_REFUSED, outcome=Outcome.DENIED, reason="not_admitted", sent=message.type)
            await self.error("not_admitted", "Wait until your therapist admits you.")
            return
        target = self.peers.get(message.data["to"])
        if target is None:
            await self.error("unknown_peer", "That participant is not in this session.")
            return
        body = {k: v for k, v in message.data.items() if k in RELAYED_FIELDS}
        try:
            await self.channel_layer.send(
                target.channel, {"type": "signal.relay", "from": self.peer_id, "kind": message.type, "body": body}
            )
        except ChannelFull:
            await self.error("busy", "The server is busy; send that again in a moment.")
            return
        metrics.relayed(message.type)

    async def signal_announce(self, event: dict[str, Any]) -> None:
        if event["peer"] == self.peer_id or not self.admitted or self.closing:
            return
        self.peers[event["peer"]] = Peer(event["channel"], event["user_id"], event["name"], event["role"])
        # The newcomer makes the offer; whoever was here first is the polite side of any glare.
        await self.send(encode("peer-joined", peer=event["peer"], name=event["name"], role=event["role"], polite=True))
        await self.channel_layer.send(event["channel"], self._introduction("signal.present"))

    async def signal_present(self, event: dict[str, Any]) -> None:
        if not self.admitted or self.closing:
            return
        self.peers[event["peer"]] = Peer(event["channel"], event["user_id"], event["name"], event["role"])
        await self.send(encode("peer-joined", peer=event["peer"], name=event["name"], role=event["role"], polite=False))

    async def signal_relay(self, event: dict[str, Any]) -> None:
        # Only from a peer this socket was introduced to by the server.
        if event["from"] not in self.peers or self.closing:
            return
        await self.send(encode(event["kind"], **{"from": event["from"]}, **event["body"]))

    async def signal_gone(self, event: dict[str, Any]) -> None:
        if self.peers.pop(event["peer"], None) is not None:
            away = event.get("reconnecting", False)
            extra = {"reconnecting": True, "grace": event.get("grace", 0)} if away else {}
            await self.send(encode("peer-left", peer=event["peer"], **extra))
        if self.waiting.pop(event["peer"], None) is not None:
            await self.send(encode("waiting-gone", peer=event["peer"]))

    # Leaving -------------------------------------------------------------------------------------

    async def depart(self, code: int) -> None:
        """Tell the others this peer is gone, once, whether it hung up or was closed."""
        if self.entry is None or not self.joined or self.departed:
            return
        self.departed = True
        # The audit event first: telling the others needs Redis, which may be away.
        await self.audit(Action.VIDEO_LEAVE, close_code=code)
        if self.admitted and self.entry.role != "therapist":
            await database_sync_to_async(services.admission_departed)(
                appointment_id=self.appointment_id, user_id=self.entry.user.pk
            )
        gone: dict[str, Any] = {"type": "signal.gone", "peer": self.peer_id}
        if self.admitted and dropped(code):
            # Not a goodbye: the connection broke. The others are told the peer is reconnecting,
            # and for how long it may come straight back in.
            gone |= {"reconnecting": True, "grace": int(services.rejoin_grace().total_seconds())}
        try:
            await self.channel_layer.group_send(media_group(self.appointment_id), gone)
            await self.channel_layer.group_send(host_group(self.appointment_id), gone)
        except LAYER_ERRORS as exc:
            logger.warning("Could not tell the others that %s left: %s", self.peer_id, exc)
