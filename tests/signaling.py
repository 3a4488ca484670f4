"""Helpers for talking to the signaling socket through the real ASGI application."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

OFFER_SDP = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
    "a=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n"
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n"
    "a=setup:actpass\r\na=rtpmap:96 VP8/90000\r\n"
)


def message(kind: str, **fields: Any) -> dict[str, Any]:
    return {"v": 1, "type": kind, **fields}


async def open_socket(
    appointment_id: object,
    client: Client | None = None,
    *,
    origin: str | None = "http://testserver",
    host: str = "testserver",
    path: str | None = None,
) -> WebsocketCommunicator:
    from teletherapy.asgi import application

    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if client is not None and settings.SESSION_COOKIE_NAME in client.cookies:
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        headers.append((b"cookie", cookie.encode()))
    socket = WebsocketCommunicator(application, path or f"/ws/sessions/{appointment_id}/", headers=headers)
    connected, _ = await socket.connect(timeout=10)
    assert connected
    return socket


async def receive(socket: WebsocketCommunicator, timeout: float = 5) -> dict[str, Any]:
    return json.loads(await socket.receive_from(timeout=timeout))


async def receive_type(socket: WebsocketCommunicator, kind: str, timeout: float = 5) -> dict[str, Any]:
    """The next message of this type, skipping others (pongs, introductions)."""
    while True:
        data = await receive(socket, timeout)
        if data["type"] == kind:
            return data


async def expect_closed(socket: WebsocketCommunicator, code: int, timeout: float = 5) -> dict[str, Any]:
    """The server says goodbye with a reason, then closes with ``code``."""
    bye = await receive_type(socket, "bye", timeout)
    assert bye["code"] == code, bye
    closing = await socket.receive_output(timeout=timeout)
    assert closing == {"type": "websocket.close", "code": code}
    return bye


async def send(socket: WebsocketCommunicator, kind: str, **fields: Any) -> None:
    await socket.send_to(text_data=json.dumps(message(kind, **fields)))


# A room and its people ------------------------------------------------------------------


async def therapist_in(room, therapist, login_as):
    client = await sync_to_async(login_as)(therapist)
    socket = await open_socket(room.pk, client)
    welcome = await receive(socket)
    assert welcome["type"] == "welcome" and welcome["role"] == "therapist" and welcome["state"] == "admitted"
    await send(socket, "join")
    return socket, welcome


async def client_waiting(room, user, login_as):
    client = await sync_to_async(login_as)(user)
    socket = await open_socket(room.pk, client)
    welcome = await receive(socket)
    assert welcome["type"] == "welcome" and welcome["state"] == "waiting"
    await send(socket, "join")
    return socket, welcome, client


async def admitted_pair(room, therapist, client_user, login_as):
    host, host_welcome = await therapist_in(room, therapist, login_as)
    guest, guest_welcome, guest_client = await client_waiting(room, client_user, login_as)
    waiting = await receive_type(host, "waiting")
    await send(host, "admit", peer=waiting["peer"])
    await receive_type(guest, "admitted")
    await receive_type(guest, "peer-joined")
    await receive_type(host, "peer-joined")
    return host, host_welcome, guest, guest_welcome, guest_client
