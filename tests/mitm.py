"""A party in the middle of a call, for tests: it sits in one page's signaling socket (a
Playwright WebSocket route), terminates DTLS on each side with aiortc peers of its own, and plays
the security code's exchange (static/js/call/security_code.js) to make the two codes match.

Between the client's page C (the offerer) and the therapist's page T (the answerer), the relay
is T to C and C to T. Strategies:

- ``honest``: it follows the protocol on each side, holding C's messages until its exchange with
  T is over (so it knows T's code before it answers C). The codes then match only by chance.
- ``grind``: it answers C at once, learns C's code, then waits for T's nonce and searches for an
  opening of its own that gives T the same code: the commitment it sent T before seeing T's
  nonce no longer matches, which T must refuse. (It searches over its nonce rather than its
  certificate: the commitment binds both, and a nonce costs one hash where a certificate costs a
  signature.)
- ``pass``: nothing in the middle; every message goes through unchanged.

The test's thread owns the Playwright objects, so messages for the page or the server wait in an
outbox until the test calls ``pump`` (between its own Playwright calls).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import queue
import secrets
import threading
import time
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp

from tests.webrtc import code_digits, commitment, fingerprint, security_code


class SignalingRelay:
    def __init__(self, strategy: str) -> None:
        self.strategy = strategy
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.inbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.outbox: queue.Queue[tuple[str, str]] = queue.Queue()
        self.errors: list[str] = []
        self.routes: tuple[Any, Any] | None = None
        self.therapist = ""
        self.client_pc: RTCPeerConnection | None = None
        self.therapist_pc: RTCPeerConnection | None = None
        self.pcs: list[RTCPeerConnection] = []
        self.reset()
        self.worker = asyncio.run_coroutine_threadsafe(self._work(), self.loop)

    def reset(self) -> None:
        """What one call through the relay learns; a new offer from C starts over."""
        self.client_commit = ""
        self.client_open: tuple[str, str] | None = None  # C's (fingerprint, nonce)
        self.to_client: tuple[str, str] | None = None  # what the relay revealed to C, as T
        self.to_therapist: tuple[str, str] | None = None  # what it committed to T, as C
        self.therapist_nonce: tuple[str, str] | None = None
        self.held: list[dict] = []  # C's messages held back (honest strategy)
        self.client_code = ""
        self.therapist_code = ""
        self.forged_code = ""
        self.tries = 0
        self.done = False

    # The Playwright side (the test's thread) ------------------------------------------------------

    def attach(self, route: Any) -> None:
        """The route of a new signaling socket of C's page."""
        server = route.connect_to_server()
        self.routes = (route, server)
        route.on_message(lambda text: self._arrive("page", text))
        server.on_message(lambda text: self._arrive("server", text))

    def _arrive(self, side: str, text: str | bytes) -> None:
        message = text if isinstance(text, str) else text.decode()
        self.loop.call_soon_threadsafe(self.inbox.put_nowait, (side, message))

    def pump(self, page: Any, seconds: float, until=lambda: False) -> None:
        """Deliver what the relay sent, for up to ``seconds`` or until ``until()``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not until():
            page.wait_for_timeout(20)
            while not self.outbox.empty():
                side, text = self.outbox.get()
                if self.routes:
                    (self.routes[0] if side == "page" else self.routes[1]).send(text)
            assert not self.errors, self.errors

    def set_strategy(self, strategy: str) -> None:
        asyncio.run_coroutine_threadsafe(self._set(strategy), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close_pcs(), self.loop).result(10)
        self.worker.cancel()
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.loop).result(5)  # the cancellation lands
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    # The relay itself (its own event loop) --------------------------------------------------------

    async def _set(self, strategy: str) -> None:
        await self._close_pcs()
        self.strategy = strategy
        self.reset()

    async def _close_pcs(self) -> None:
        for pc in self.pcs:
            await pc.close()
        self.pcs.clear()
        self.client_pc = self.therapist_pc = None

    async def _work(self) -> None:
        while True:
            side, text = await self.inbox.get()
            try:
                await self._handle(side, json.loads(text), text)
            except Exception as exc:  # reported on the test's thread by pump()
                self.errors.append(repr(exc))

    def _to(self, side: str, **message: Any) -> None:
        self.outbox.put((side, json.dumps({"v": 1, **message})))

    async def _handle(self, side: str, message: dict, text: str) -> None:
        kind = message.get("type")
        if side == "server":
            if kind == "peer-joined" and message.get("role") == "therapist":
                self.therapist = message["peer"]
            if (
                self.strategy != "pass"
                and message.get("from") == self.therapist
                and kind in ("answer", "ice", "verify")
            ):
                await self._from_therapist(message)
                return
            self.outbox.put(("page", text))
            return
        if self.strategy != "pass" and message.get("to") == self.therapist and kind in ("offer", "ice", "verify"):
            if self.strategy == "honest" and not self.done and kind == "verify" and message["step"] == "open":
                self.held.append(message)  # C's opening waits until the relay is done with T
                return
            await self._from_client(message)
            return
        self.outbox.put(("server", text))

    async def _peer(self) -> RTCPeerConnection:
        pc = RTCPeerConnection()
        pc.addTrack(VideoStreamTrack())
        pc.addTrack(AudioStreamTrack())
        self.pcs.append(pc)
        return pc

    async def _from_client(self, message: dict) -> None:
        kind = message["type"]
        if kind == "verify" and message["step"] == "commit":
            await self._close_pcs()
            self.reset()
            self.client_commit = message["hash"]
        elif kind == "verify" and message["step"] == "open":
            self.client_open = (message["fingerprint"], message["nonce"])
            assert commitment(*self.client_open) == self.client_commit
            assert self.to_client is not None
            self.client_code = security_code(self.client_open, self.to_client)
            await self._finish()
        elif kind == "offer" and self.client_pc is None:
            # As T to C: answer with the relay's own certificate and reveal it with a nonce.
            self.client_pc = await self._peer()
            await self.client_pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="offer"))
            await self.client_pc.setLocalDescription(await self.client_pc.createAnswer())
            self._to("page", type="answer", **{"from": self.therapist}, sdp=self.client_pc.localDescription.sdp)
            self.to_client = (fingerprint(self.client_pc.localDescription.sdp), secrets.token_hex(32))
            self._to(
                "page",
                type="verify",
                **{"from": self.therapist},
                step="nonce",
                fingerprint=self.to_client[0],
                nonce=self.to_client[1],
            )
            # As C to T: a commitment to its other certificate, then the offer.
            self.therapist_pc = await self._peer()
            self.therapist_pc.createDataChannel("chat")
            await self.therapist_pc.setLocalDescription(await self.therapist_pc.createOffer())
            self.to_therapist = (fingerprint(self.therapist_pc.localDescription.sdp), secrets.token_hex(32))
            self._to("server", type="verify", to=self.therapist, step="commit", hash=commitment(*self.to_therapist))
            self._to("server", type="offer", to=self.therapist, sdp=self.therapist_pc.localDescription.sdp)
        elif kind == "ice" and self.client_pc is not None:
            await add_candidate(self.client_pc, message.get("candidate"))

    async def _from_therapist(self, message: dict) -> None:
        kind = message["type"]
        if kind == "answer" and self.therapist_pc is not None:
            await self.therapist_pc.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="answer"))
        elif kind == "ice" and self.therapist_pc is not None:
            await add_candidate(self.therapist_pc, message.get("candidate"))
        elif kind == "verify" and message["step"] == "nonce":
            self.therapist_nonce = (message["fingerprint"], message["nonce"])
            await self._finish()

    async def _finish(self) -> None:
        """Open the commitment made to T: honestly, or with whatever opening gives T C's code."""
        if self.done or self.therapist_nonce is None or self.to_therapist is None:
            return
        if self.strategy == "honest":
            self.done = True
            self._open(self.to_therapist)
            self.therapist_code = security_code(self.to_therapist, self.therapist_nonce)
            for held in self.held:  # now C may open its commitment
                await self._from_client(held)
            return
        if not self.client_code:
            return  # grind: wait until C's code is known
        self.done = True
        mine, (their_print, their_nonce) = self.to_therapist[0], self.therapist_nonce
        for tries in range(1, 50_000_000):
            nonce = f"{tries:064x}"
            text = f"teletherapy-code-v2|{mine}|{nonce}|{their_print}|{their_nonce}"
            if code_digits(hashlib.sha256(text.encode()).digest()) == self.client_code:
                self.tries = tries
                self.forged_code = security_code((mine, nonce), self.therapist_nonce)
                self._open((mine, nonce))
                return
        raise AssertionError("no opening found")

    def _open(self, opening: tuple[str, str]) -> None:
        self._to("server", type="verify", to=self.therapist, step="open", fingerprint=opening[0], nonce=opening[1])


async def add_candidate(pc: RTCPeerConnection, candidate: dict | None) -> None:
    if candidate and candidate.get("candidate"):
        parsed = candidate_from_sdp(candidate["candidate"].split(":", 1)[1])
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        await pc.addIceCandidate(parsed)
