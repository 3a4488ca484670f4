"""The signaling socket at /ws/sessions/<appointment id>/.

It introduces peers to each other and carries their offers, answers and ICE candidates, one
addressed peer at a time. It never sees media (that flows peer to peer, DTLS-SRTP encrypted)
and never stores a signaling message. Peers are reached through the channel layer, so with Redis
any daphne process serves any participant.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import ChannelFull
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import transaction

from audit.models import Action, Outcome
from audit.services import AuditWriteError, audit_record
from sessions import gate, services
from sessions.ice import ice_config
from sessions.protocol import Message, ProtocolError, encode, parse
from sessions.realtime import CloseCode, host_group, login_group, media_group, room_group, user_group
from sessions.regions import region_name
from teletherapy.context import AuditContext

logger = logging.getLogger(__name__)


def heartbeat_seconds() -> int:
    """Often enough that a call keeps its login session from idling out (see gate.still_allowed)."""
    return max(5, min(20, settings.SESSION_IDLE_TIMEOUT_SECONDS // 4))


def recheck_seconds() -> float:
    """How often the server re-checks an open socket on its own, whether or not the client pings."""
    configured = getattr(settings, "SIGNALING_RECHECK_SECONDS", None)
    return max(0.2, float(configured) if configured else float(heartbeat_seconds()))


MAX_PARTICIPANTS = 4


@dataclass
class Peer:
    channel: str
    user_id: int
    name: str
    role: str


class SignalingConsumer(AsyncWebsocketConsumer):
    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every message, which costs a hop to
        # a worker thread each time. Every database access here goes through
        # database_sync_to_async, which does that itself, so relaying a message needs no hop.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.peer_id = secrets.token_hex(8)
        self.appointment_id = str(self.scope["url_route"]["kwargs"]["appointment_id"])
        self.context = AuditContext.of_scope(self.scope)
        self.entry: gate.Entry | None = None
        self.joined = False
        self.admitted = False
        self.closing = False
        self.departed = False
        self.peers: dict[str, Peer] = {}
        self.waiting: dict[str, Peer] = {}
        self.my_groups: list[str] = []
        self.last_fill = time.monotonic()
        self.dropped = 0
        self.last_error_at = 0.0
        self.refused_signal_audited = False
        self.last_check = time.monotonic()
        self.watcher: asyncio.Task[None] | None = None
        self.rate = float(settings.SIGNALING_RATE)
        self.burst = float(settings.SIGNALING_BURST)
        self.tokens = self.burst
        # Accept first: a refusal can then carry its own close code and a readable reason.
        await self.accept()
        if not gate.origin_allowed(self.scope):
            await self.refuse(gate.Refusal(CloseCode.ORIGIN_REFUSED, "origin", "This page is not allowed to connect."))
            return
        decision = await database_sync_to_async(self._decide)()
        if isinstance(decision, gate.Refusal):
            await self.refuse(decision)
            return
        self.entry = decision
        user = decision.user
        groups = [room_group(self.appointment_id), user_group(user.pk)]
        session_key = self._session_key()
        if session_key:
            groups.append(login_group(session_key))
        if decision.role == "therapist":
            groups.append(host_group(self.appointment_id))
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.my_groups = groups
        admitted = decision.role == "therapist" or await database_sync_to_async(services.admission_active)(
            appointment_id=self.appointment_id, user_id=user.pk
        )
        self.admitted = bool(admitted)
        self.watcher = asyncio.create_task(self.watch())
        await self.send(
            encode(
                "welcome",
                peer=self.peer_id,
                role=decision.role,
                name=user.full_name,
                state="admitted" if self.admitted else "waiting",
                ice=ice_config(appointment=decision.appointment, policy=decision.policy),
                heartbeat=heartbeat_seconds(),
            )
        )

    def _session_key(self) -> str | None:
        session = self.scope.get("session")
        return getattr(session, "session_key", None) if session is not None else None

    def _decide(self) -> gate.Refusal | gate.Entry:
        session = self.scope.get("session")
        user = self.scope.get("user")
        if session is None or user is None:
            return gate.Refusal(CloseCode.NOT_SIGNED_IN, "not_signed_in", "Sign in first.")
        return gate.entry_decision(user=user, session=session, appointment_id=self.appointment_id)

    # Refusing and auditing ---------------------------------------------------------------------

    def _audit(
        self,
        action: Action,
        *,
        outcome: str = Outcome.ALLOWED,
        actor: Any = None,
        practice_id: int | None = None,
        **details: Any,
    ) -> None:
        with transaction.atomic():
            audit_record(
                action=action,
                actor=actor if actor is not None else (self.entry.user if self.entry else None),
                request=self.context,
                target_type="video.appointment",
                target_id=self.appointment_id,
                practice_id=practice_id,
                outcome=outcome,
                details={"channel": "websocket", **details},
            )

    async def audit(self, action: Action, *, outcome: str = Outcome.ALLOWED, **details: Any) -> bool:
        try:
            await database_sync_to_async(self._audit)(action, outcome=outcome, **details)
        except AuditWriteError:
            logger.exception("Could not audit %s", action)
            return False
        return True

    async def refuse(self, refusal: gate.Refusal) -> None:
        user = refusal.user
        await self.audit(
            Action.VIDEO_REFUSED,
            outcome=Outcome.DENIED,
            actor=user if user is not None and getattr(user, "is_authenticated", False) else None,
            practice_id=refusal.appointment.practice_id if refusal.appointment else None,
            reason=refusal.reason,
            close_code=int(refusal.code),
        )
        await self.bye(refusal.code, refusal.reason, refusal.detail)

    async def bye(self, code: CloseCode | int, reason: str, detail: str = "") -> None:
        if self.closing:
            return
        self.closing = True
        await self.send(encode("bye", code=int(code), reason=reason, detail=detail))
        await self.depart(int(code))
        await self.close(code=int(code))

    async def error(self, code: str, detail: str) -> None:
        await self.send(encode("error", code=code, detail=detail))

    # Receiving ----------------------------------------------------------------------------------

    def _take_token(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last_fill) * self.rate)
        self.last_fill = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.entry is None or self.closing:
            return
        if not self._take_token():
            self.dropped += 1
            if self.dropped > self.burst:
                await self.audit(Action.VIDEO_REFUSED, outcome=Outcome.DENIED, reason="flooding")
                await self.bye(CloseCode.FLOODING, "flooding", "Too many messages.")
                return
            now = time.monotonic()
            if now - self.last_error_at >= 1:
                self.last_error_at = now
                await self.error("rate_limited", "Too many messages; some were dropped.")
            return
        if text_data is None:
            await self.error("text_only", "Messages are JSON text.")
            return
        try:
            message = parse(text_data)
        except ProtocolError as exc:
            await self.error(exc.code, exc.detail)
            return
        handler = getattr(self, f"on_{message.type}")
        await handler(message)

    async def recheck(self, *, activity: bool) -> bool:
        """Ask the gate again; close with its code if the socket may no longer stay open."""
        if self.entry is None or self.closing:
            return False
        refusal = await database_sync_to_async(gate.still_allowed)(
            user_id=self.entry.user.pk,
            session_key=self._session_key(),
            appointment_id=self.appointment_id,
            activity=activity,
        )
        if refusal is not None:
            await self.bye(refusal.code, refusal.reason, refusal.detail)
            return False
        return True

    async def watch(self) -> None:
        """The server's own timer: login lifetime, idle time, the join window and consent are
        re-checked even when the client has stopped sending heartbeats."""
        try:
            while not self.closing:
                await asyncio.sleep(recheck_seconds())
                if not await self.recheck(activity=False):
                    return
        except asyncio.CancelledError:
            pass
        except Exception:  # a failed check must not leave the socket open unchecked
            logger.exception("Re-checking a signaling socket failed")
            await self.bye(CloseCode.SIGNED_OUT, "check_failed", "The session could not be checked; join again.")

    async def on_ping(self, message: Message) -> None:
        now = time.monotonic()
        if now - self.last_check >= heartbeat_seconds():
            # A heartbeat is activity during a call (it keeps the login session from idling out).
            self.last_check = now
            if not await self.recheck(activity=True):
                return
        await self.send(encode("pong", t=message.data.get("t")))

    async def on_join(self, message: Message) -> None:
        entry = self.entry
        assert entry is not None
        if self.joined:
            await self.error("already_joined", "You have already joined.")
            return
        if not await self.audit(Action.VIDEO_JOIN, state="admitted" if self.admitted else "waiting"):
            await self.bye(CloseCode.NOT_FOUND, "audit_unavailable", "The session cannot be joined right now.")
            return
        self.joined = True
        # The same person in another tab or a stale connection gives way to this one.
        await self.channel_layer.group_send(
            user_group(entry.user.pk),
            {"type": "signal.replace", "appointment": self.appointment_id, "channel": self.channel_name},
        )
        if entry.role == "therapist":
            await self.channel_layer.group_send(
                room_group(self.appointment_id), {"type": "signal.rollcall", "host": self.channel_name}
            )
        if self.admitted:
            await self.enter_media()
        else:
            await self.announce_waiting(host_group(self.appointment_id), group=True)

    async def announce_waiting(self, target: str, *, group: bool) -> None:
        entry = self.entry
        assert entry is not None
        check_in = entry.check_in
        payload = {
            "type": "signal.waiting",
            "peer": self.peer_id,
            "channel": self.channel_name,
            "user_id": entry.user.pk,
            "name": entry.user.full_name,
            "location": check_in.location if check_in else "",
            "location_name": region_name(check_in.location) if check_in else "",
            "licensed": entry.licensed,
            "checklist": {
                "device": bool(check_in and check_in.private_device),
                "network": bool(check_in and check_in.private_network),
                "space": bool(check_in and check_in.private_space),
            },
        }
        if group:
            await self.channel_layer.group_send(target, payload)
        else:
            await self.channel_layer.send(target, payload)

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
        body = {k: v for k, v in message.data.items() if k in ("sdp", "candidate")}
        try:
            await self.channel_layer.send(
                target.channel, {"type": "signal.relay", "from": self.peer_id, "kind": message.type, "body": body}
            )
        except ChannelFull:
            await self.error("busy", "The server is busy; send that again in a moment.")

    on_offer = on_answer = on_ice = relay

    async def on_leave(self, message: Message) -> None:
        await self.bye(CloseCode.LEFT, "left", "You left the session.")

    async def host_only(self) -> bool:
        assert self.entry is not None
        if self.entry.role != "therapist":
            await self.audit(Action.VIDEO_REFUSED, outcome=Outcome.DENIED, reason="not_host")
            await self.error("not_allowed", "Only the therapist can do that.")
            return False
        return True

    async def on_admit(self, message: Message) -> None:
        if not await self.host_only():
            return
        assert self.entry is not None
        waiting = self.waiting.get(message.data["peer"])
        if waiting is None:
            await self.error("unknown_peer", "Nobody with that id is waiting.")
            return
        if len(self.peers) + 1 >= MAX_PARTICIPANTS:
            await self.error("room_full", f"A session has at most {MAX_PARTICIPANTS} participants.")
            return
        await database_sync_to_async(services.admission_grant)(
            therapist=self.entry.user, appointment=self.entry.appointment, user_id=waiting.user_id
        )
        await self.channel_layer.send(waiting.channel, {"type": "signal.admitted"})
        await self.channel_layer.group_send(
            host_group(self.appointment_id), {"type": "signal.waiting_gone", "peer": message.data["peer"]}
        )

    async def on_remove(self, message: Message) -> None:
        if not await self.host_only():
            return
        assert self.entry is not None
        target = self.peers.get(message.data["peer"]) or self.waiting.get(message.data["peer"])
        if target is None or target.role == "therapist":
            await self.error("unknown_peer", "That participant is not in this session.")
            return
        await database_sync_to_async(services.admission_revoke)(
            therapist=self.entry.user, appointment=self.entry.appointment, user_id=target.user_id
        )
        await self.channel_layer.send(
            target.channel, {"type": "signal.close", "code": int(CloseCode.REMOVED), "reason": "removed"}
        )

    async def on_end(self, message: Message) -> None:
        if not await self.host_only():
            return
        assert self.entry is not None
        try:
            await database_sync_to_async(services.appointment_end)(
                therapist=self.entry.user, appointment=self.entry.appointment
            )
        except services.AppointmentError as exc:
            await self.error(exc.code, exc.message)

    # From the channel layer ---------------------------------------------------------------------

    async def signal_close(self, event: dict[str, Any]) -> None:
        details = {
            "ended": "Your therapist ended the session.",
            "cancelled": "This session was cancelled.",
            "rescheduled": "This session was moved to another time.",
            "removed": "Your therapist removed you from the session.",
            "consent_withdrawn": "Consent for this session was withdrawn, so it cannot continue.",
            "signed_out": "You were signed out.",
            "deactivated": "Your account was deactivated.",
        }
        await self.bye(event["code"], event["reason"], details.get(event["reason"], ""))

    async def signal_replace(self, event: dict[str, Any]) -> None:
        if event["appointment"] == self.appointment_id and event["channel"] != self.channel_name and self.joined:
            await self.bye(CloseCode.REPLACED, "replaced", "You joined this session from another window.")

    async def signal_rollcall(self, event: dict[str, Any]) -> None:
        if self.joined and not self.admitted and not self.closing:
            await self.announce_waiting(event["host"], group=False)

    async def signal_waiting(self, event: dict[str, Any]) -> None:
        if self.entry is None or self.entry.role != "therapist":
            return
        self.waiting[event["peer"]] = Peer(event["channel"], event["user_id"], event["name"], "client")
        fields = ("peer", "name", "location", "location_name", "licensed", "checklist")
        await self.send(encode("waiting", **{k: event[k] for k in fields}))

    async def signal_waiting_gone(self, event: dict[str, Any]) -> None:
        if self.waiting.pop(event["peer"], None) is not None:
            await self.send(encode("waiting-gone", peer=event["peer"]))

    async def signal_admitted(self, event: dict[str, Any]) -> None:
        if self.admitted or self.closing:
            return
        self.admitted = True
        await self.send(encode("admitted"))
        await self.enter_media()

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
            await self.send(encode("peer-left", peer=event["peer"]))
        if self.waiting.pop(event["peer"], None) is not None:
            await self.send(encode("waiting-gone", peer=event["peer"]))

    # Leaving -------------------------------------------------------------------------------------

    async def depart(self, code: int) -> None:
        """Tell the others this peer is gone, once, whether it hung up or was closed."""
        if self.entry is None or not self.joined or self.departed:
            return
        self.departed = True
        gone = {"type": "signal.gone", "peer": self.peer_id}
        await self.channel_layer.group_send(media_group(self.appointment_id), gone)
        await self.channel_layer.group_send(host_group(self.appointment_id), gone)
        await self.audit(Action.VIDEO_LEAVE, close_code=code)

    async def disconnect(self, code: int) -> None:
        watcher = getattr(self, "watcher", None)
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
        await self.depart(code)
        for group in self.my_groups:
            await self.channel_layer.group_discard(group, self.channel_name)


class NoSuchSocket(AsyncWebsocketConsumer):
    """Any other WebSocket path: a clear close code instead of a dropped connection."""

    async def connect(self) -> None:
        await self.accept()
        await self.send(encode("bye", code=int(CloseCode.NOT_FOUND), reason="not_found", detail="No such socket."))
        await self.close(code=int(CloseCode.NOT_FOUND))
