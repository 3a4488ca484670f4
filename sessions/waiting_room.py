"""The waiting room: who waits, who the therapist admits or removes, and ending the session for
everyone. A part of the signalling consumer (sessions.consumers)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from audit.models import Action, Outcome
from sessions import services
from sessions.protocol import Message, encode
from sessions.realtime import CloseCode, deliver, holding_pushes, host_group
from sessions.regions import region_name
from sessions.socket_state import MAX_PARTICIPANTS, Peer, SocketState
from teletherapy.errors import ServiceError


class WaitingRoom(SocketState):
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
        # The one being admitted hears first; the therapist's other pages (presence) after.
        _, pushes = await database_sync_to_async(holding_pushes)(
            services.admission_grant,
            therapist=self.entry.user,
            appointment=self.entry.appointment,
            user_id=waiting.user_id,
            context=self.context,
        )
        await self.channel_layer.send(waiting.channel, {"type": "signal.admitted"})
        await self.channel_layer.group_send(
            host_group(self.appointment_id), {"type": "signal.waiting_gone", "peer": message.data["peer"]}
        )
        await deliver(pushes)

    async def on_remove(self, message: Message) -> None:
        if not await self.host_only():
            return
        assert self.entry is not None
        target = self.peers.get(message.data["peer"]) or self.waiting.get(message.data["peer"])
        if target is None or target.role == "therapist":
            await self.error("unknown_peer", "That participant is not in this session.")
            return
        await database_sync_to_async(services.admission_revoke)(
            therapist=self.entry.user, appointment=self.entry.appointment, user_id=target.user_id, context=self.context
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
                therapist=self.entry.user, appointment=self.entry.appointment, context=self.context
            )
        except ServiceError as exc:
            await self.error(exc.code, exc.message)

    # From the channel layer ---------------------------------------------------------------------

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
