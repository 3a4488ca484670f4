"""The connection test: a server-side WebRTC peer (aiortc) that sends back what it receives.

A browser offers its camera and microphone and a data channel; this peer answers, returns the
media on the same connection and echoes every data-channel message, so the page can show that
WebRTC works from its network and measure the round trip before the session. Nothing is kept:
each peer closes after a short time, and there are only a few at once per process.
"""

from __future__ import annotations

import asyncio
import logging

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack
from django.conf import settings

logger = logging.getLogger(__name__)

_peers: set[RTCPeerConnection] = set()


class EchoBusy(Exception):
    pass


async def _close(pc: RTCPeerConnection) -> None:
    _peers.discard(pc)
    try:
        await pc.close()
    except Exception:  # closing a half-open peer can fail in aiortc; it is gone either way
        logger.debug("Echo peer close failed", exc_info=True)


def open_peers() -> int:
    return len(_peers)


async def close_all() -> None:
    """Close every test peer now. Each peer's receiver decodes in a thread of its own that runs
    until the peer closes, and Python waits for such threads before a process can exit: a server
    asked to stop closes its peers first, or it would wait for each to time out."""
    await asyncio.gather(*(_close(pc) for pc in list(_peers)))


_shutdown_hooked = False


def _close_all_at_shutdown() -> None:
    """Under daphne (Twisted on asyncio), have the reactor close the peers before it shuts down."""
    global _shutdown_hooked
    if _shutdown_hooked:
        return
    try:
        from twisted.internet import defer, reactor
    except ImportError:  # another server
        return
    _shutdown_hooked = True
    closing = lambda: defer.Deferred.fromFuture(asyncio.ensure_future(close_all()))  # noqa: E731
    reactor.addSystemEventTrigger("before", "shutdown", closing)  # type: ignore[arg-type]


async def echo_answer(offer_sdp: str) -> str:
    """Answer a browser's offer (with its candidates gathered) and start echoing."""
    if len(_peers) >= settings.CONNECTION_TEST_MAX_PEERS:
        raise EchoBusy
    _close_all_at_shutdown()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    _peers.add(pc)
    relay = MediaRelay()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        pc.addTrack(relay.subscribe(track))

    @pc.on("datachannel")
    def on_datachannel(channel: object) -> None:
        @channel.on("message")  # type: ignore[attr-defined]
        def on_message(message: object) -> None:
            channel.send(message)  # type: ignore[attr-defined]

    @pc.on("connectionstatechange")
    async def on_state() -> None:
        if pc.connectionState in ("failed", "closed"):
            await _close(pc)

    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception:
        await _close(pc)
        raise
    asyncio.get_running_loop().call_later(settings.CONNECTION_TEST_SECONDS, lambda: asyncio.ensure_future(_close(pc)))
    return pc.localDescription.sdp
