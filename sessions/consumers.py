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
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction

from audit.models import Action, Outcome
from audit.services import AuditWriteError, audit_record
from sessions import gate, services
from sessions.ice import ice_config
from sessions.protocol import Message, ProtocolError, encode, parse
from sessions.quiet_socket import QuietSocket
from sessions.realtime import CloseCode, host_group, login_group, room_group, user_group
from sessions.relay import Relay
from sessions.services.charges import medium_record
from sessions.socket_state import Peer
from sessions.waiting_room import WaitingRoom
from teletherapy.channel_layers import LAYER_ERRORS
from teletherapy.context import AuditContext

logger = logging.getLogger(__name__)


def heartbeat_seconds() -> int:
    """Often enough that a call keeps its login session from idling out (see gate.still_allowed)."""
    return max(5, min(20, settings.SESSION_IDLE_TIMEOUT_SECONDS // 4))


def recheck_seconds() -> float:
    """How often the server re-checks an open socket on its own, whether or not the client pings."""
    configured = getattr(settings, "SIGNALING_RECHECK_SECONDS", None)
    return max(0.2, float(configured) if configured else float(heartbeat_seconds()))


def activity_seconds() -> float:
    """How often a heartbeat is re-checked and counted as activity: every heartbeat by default.
    A practice that sets the server's re-checks further apart (to hold more sockets per process:
    each check asks the database several times) has heartbeats checked as often, yet never less
    often than a quarter of the idle timeout, so a call still keeps its login session alive."""
    configured = getattr(settings, "SIGNALING_RECHECK_SECONDS", None)
    if not configured:
        return float(heartbeat_seconds())
    return max(float(heartbeat_seconds()), min(float(configured), settings.SESSION_IDLE_TIMEOUT_SECONDS / 4))


class SignalingConsumer(WaitingRoom, Relay, QuietSocket):
    """The door (connect: sessions.gate), the checks while open, and the protocol's dispatch; the
    waiting room and the relay are its two parts (sessions.waiting_room, sessions.relay)."""

    socket_kind = "signaling"

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
        self.last_check = self.last_activity = time.monotonic()
        self.last_ping = 0.0
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
        if self.admitted and decision.role != "therapist":
            await database_sync_to_async(services.admission_returned)(
                appointment_id=self.appointment_id, user_id=user.pk
            )
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
                context=self.context,
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
        try:
            await handler(message)
        except LAYER_ERRORS as exc:
            # Redis is away: this message could not be relayed. The socket stays open (the call's
            # media does not need it); the client may send it again.
            logger.warning("Signaling could not relay a %s message: %s", message.type, exc)
            await self.error("signaling_unavailable", "Signaling is briefly unavailable; the call goes on.")

    async def recheck(self, *, activity: bool) -> bool:
        """Ask the gate again; close with its code if the socket may no longer stay open."""
        if self.entry is None or self.closing:
            return False
        self.last_check = time.monotonic()
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
        re-checked even when the client has stopped sending heartbeats. A check made for a
        heartbeat counts, so a socket whose heartbeats flow is asked once per interval, not twice:
        while they flow the timer leaves half an interval's slack for the next one, so a socket
        whose heartbeats stop is checked again within one and a half intervals."""
        try:
            while not self.closing:
                interval = recheck_seconds()
                if time.monotonic() - self.last_ping <= activity_seconds() * 1.5:
                    interval *= 1.5
                wait = self.last_check + interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                if not await self.recheck(activity=False):
                    return
        except asyncio.CancelledError:
            pass
        except Exception:  # a failed check must not leave the socket open unchecked
            logger.exception("Re-checking a signaling socket failed")
            await self.bye(CloseCode.SIGNED_OUT, "check_failed", "The session could not be checked; join again.")

    async def on_ping(self, message: Message) -> None:
        # The answer says the server heard; it goes at once, so that a heartbeat's round trip
        # never waits for a database check. The check follows, and may still close the socket
        # before anything else this socket sends is relayed.
        await self.send(encode("pong", t=message.data.get("t")))
        now = self.last_ping = time.monotonic()
        if now - self.last_activity >= activity_seconds():
            # A heartbeat is activity during a call (it keeps the login session from idling out).
            self.last_activity = now
            await self.recheck(activity=True)

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

    async def on_offer(self, message: Message) -> None:
        await self.relay(message)

    on_answer = on_ice = on_verify = on_offer

    async def on_medium(self, message: Message) -> None:
        """Audio only, or back to video: kept for the charge's modifier (sessions.services.charges)."""
        if self.entry is None or not self.joined or not self.admitted:
            await self.error("not_in_call", "Choose audio only once you are in the call.")
            return
        await database_sync_to_async(medium_record)(
            appointment_id=self.appointment_id, user_id=self.entry.user.pk, audio_only=message.data["audio_only"]
        )

    async def on_leave(self, message: Message) -> None:
        await self.bye(CloseCode.LEFT, "left", "You left the session.")

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
        if self.entry is not None and self.entry.role == "therapist":
            # The one who did it is told in their own words, not as if someone else had.
            details |= {
                "ended": "You ended the session for everyone.",
                "cancelled": "You cancelled this session.",
                "rescheduled": "You moved this session to another time.",
            }
        await self.bye(event["code"], event["reason"], details.get(event["reason"], ""))

    async def signal_replace(self, event: dict[str, Any]) -> None:
        if event["appointment"] == self.appointment_id and event["channel"] != self.channel_name and self.joined:
            await self.bye(CloseCode.REPLACED, "replaced", "You joined this session from another window.")

    async def disconnect(self, code: int) -> None:
        watcher = getattr(self, "watcher", None)
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
        await self.depart(code)
        for group in self.my_groups:
            await self.channel_layer.group_discard(group, self.channel_name)


class NoSuchSocket(QuietSocket):
    """Any other WebSocket path: a clear close code instead of a dropped connection."""

    async def connect(self) -> None:
        await self.accept()
        await self.send(encode("bye", code=int(CloseCode.NOT_FOUND), reason="not_found", detail="No such socket."))
        await self.close(code=int(CloseCode.NOT_FOUND))
