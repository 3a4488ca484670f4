"""The platform's side of Janus, the media server of group sessions (deploy/janus/): one private
VideoRoom per group session, with end-to-end encryption required of everyone in it, a secret
only the platform knows, and only the tokens it handed to members (after the gate) allowed in.

Janus forwards what the pages encrypt and never holds a key: it sees ciphertext. Browsers never
reach this API; the platform talks to it on a private address with the API secret, and creates
rooms with the VideoRoom admin key."""

from __future__ import annotations

import contextlib
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

PLUGIN = "janus.plugin.videoroom"
MAX_MEMBERS = 12


class SfuError(Exception):
    """Janus refused a request, or could not be reached."""


@dataclass(frozen=True)
class Room:
    id: str
    secret: str


class Janus:
    def __init__(self, url: str | None = None, api_secret: str | None = None, admin_key: str | None = None) -> None:
        self.url = (url if url is not None else settings.JANUS_URL).rstrip("/")
        self.api_secret = api_secret if api_secret is not None else settings.JANUS_API_SECRET
        self.admin_key = admin_key if admin_key is not None else settings.JANUS_ROOM_ADMIN_KEY
        if not self.url:
            raise SfuError("No media server is configured for group sessions (JANUS_URL).")

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        payload = {**body, "transaction": secrets.token_hex(8), "apisecret": self.api_secret}
        request = urllib.request.Request(  # noqa: S310 - the configured http(s) URL of the platform's own Janus
            self.url + path, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - as above
                answer: dict[str, Any] = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise SfuError(f"The media server did not answer: {error}") from error
        if answer.get("janus") == "error":
            raise SfuError(str(answer.get("error", {}).get("reason", "refused")))
        return answer

    def _videoroom(self, body: dict[str, Any]) -> dict[str, Any]:
        """One synchronous VideoRoom request, on a handle of its own that is let go after."""
        session = self._post("", {"janus": "create"})["data"]["id"]
        try:
            handle = self._post(f"/{session}", {"janus": "attach", "plugin": PLUGIN})["data"]["id"]
            answer = self._post(f"/{session}/{handle}", {"janus": "message", "body": body})
            data: dict[str, Any] = answer.get("plugindata", {}).get("data", {})
            if "error" in data:
                raise SfuError(str(data["error"]))
            return data
        finally:
            with contextlib.suppress(SfuError):
                self._post(f"/{session}", {"janus": "destroy"})

    def room_open(self, room_id: str, tokens: list[str]) -> Room:
        """A private room for one group session: end-to-end encryption required of every
        publisher and subscriber, no recording, at most MAX_MEMBERS publishing, only ``tokens``
        let in."""
        secret = secrets.token_urlsafe(24)
        self._videoroom({
            "request": "create", "admin_key": self.admin_key, "room": room_id, "permanent": False,
            "description": "group session", "secret": secret, "is_private": True,
            "publishers": MAX_MEMBERS, "require_e2ee": True, "record": False, "lock_record": True, "allowed": tokens,
            "audiocodec": "opus", "videocodec": "vp8",
        })  # fmt: skip
        return Room(room_id, secret)

    def room_allow(self, room: Room, *, add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
        """Change who may enter: a member admitted gets a token, one removed loses it."""
        for action, tokens in (("add", list(add)), ("remove", list(remove))):
            if tokens:
                self._videoroom({"request": "allowed", "room": room.id, "secret": room.secret, "action": action,
                                 "allowed": tokens})  # fmt: skip

    def room_kick(self, room: Room, participant: int | str) -> None:
        self._videoroom({"request": "kick", "room": room.id, "secret": room.secret, "id": participant})

    def room_close(self, room: Room) -> None:
        self._videoroom({"request": "destroy", "room": room.id, "secret": room.secret, "permanent": False})

    def room_settings(self, room_id: str) -> dict[str, Any]:
        """The room as Janus holds it (private rooms are listed to the admin key only)."""
        rooms = self._videoroom({"request": "list", "admin_key": self.admin_key}).get("list", [])
        found = next((r for r in rooms if str(r.get("room")) == room_id), None)
        if found is None:
            raise SfuError("No such room.")
        return dict(found)
