"""Presence: a therapist learns that a client is waiting, on whatever page of theirs is open; and
anyone who writes messages learns that a conversation of theirs has something new.

One socket per signed-in therapist page, at /ws/presence/, through the same door as the
signaling socket (origin, sign-in, second factor, an unexpired login session; re-checked while
open). Its message says which of their sessions have someone checked in and not yet admitted,
as times only ("a client is waiting for your 3:00 session"): never a name, since a screen can
be seen by others. A check-in, an admission and the end of a session push the new list through
the channel layer, so with Redis any daphne process reaches the therapist.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async

from accounts.models import LIVE_ROLES, Role, User
from sessions import gate
from sessions.protocol import encode
from sessions.quiet_socket import QuietSocket
from sessions.realtime import CloseCode, login_group, presence_group
from sessions.selectors import waiting_for

RECHECK_SECONDS = 30


class PresenceConsumer(QuietSocket):
    socket_kind = "presence"

    async def connect(self) -> None:
        self.user: User | None = None
        self.groups_joined: list[str] = []
        self.watcher: asyncio.Task[None] | None = None
        await self.accept()
        if not gate.origin_allowed(self.scope):
            await self._refuse(CloseCode.ORIGIN_REFUSED, "This page is not allowed to connect.")
            return
        refusal = await database_sync_to_async(self._refusal)()
        if refusal is not None:
            await self._refuse(refusal.code, refusal.detail)
            return
        user = self.scope["user"]
        self.user = user
        self.groups_joined = [presence_group(user.pk)]
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if session_key:
            self.groups_joined.append(login_group(session_key))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self._send_list()
        self.watcher = asyncio.create_task(self._watch())

    def _refusal(self) -> gate.Refusal | None:
        session, user = self.scope.get("session"), self.scope.get("user")
        if session is None or user is None:
            return gate.Refusal(CloseCode.NOT_SIGNED_IN, "not_signed_in", "Sign in first.")
        refusal = gate.login_state(session, user)
        if refusal is None and not any(user.has_role(r) for r in LIVE_ROLES):
            return gate.Refusal(CloseCode.NOT_FOUND, "not_listening", "Nothing here is told to this account live.")
        return refusal

    async def _refuse(self, code: int, message: str) -> None:
        await self.send(encode("bye", code=int(code), reason=message))
        await self.close(code=int(code))

    async def _send_list(self) -> None:
        assert self.user is not None
        if not self.user.has_role(Role.THERAPIST):
            return  # only therapists hear who is waiting
        waiting = await database_sync_to_async(waiting_for)(self.user)
        await self.send(encode("presence", waiting=waiting))

    async def _watch(self) -> None:
        """Close, as the pages do, once the login session has ended or idled out."""
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            refusal = await database_sync_to_async(self._refusal)()
            if refusal is not None:
                await self._refuse(CloseCode.SIGNED_OUT, "Your session has ended.")
                return

    async def presence_changed(self, event: dict[str, Any]) -> None:
        await self._send_list()

    async def presence_alert(self, event: dict[str, Any]) -> None:
        """A client's questionnaire needs attention: said without a name or an answer."""
        await self.send(encode("alert", text="A questionnaire needs your attention.", url=str(event.get("url", ""))))

    async def message_arrived(self, event: dict[str, Any]) -> None:
        """Something new in one of their conversations: which one, never who or what."""
        conversation = str(event.get("conversation", ""))
        await self.send(encode("message", conversation=conversation, url=f"/messages/{conversation}/"))

    async def signal_close(self, event: dict[str, Any]) -> None:
        await self._refuse(int(event.get("code", CloseCode.SIGNED_OUT)), str(event.get("reason", "")))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return None  # nothing to say to the server; pings keep proxies from closing it

    async def disconnect(self, code: int) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
