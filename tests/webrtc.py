"""A real WebRTC peer for tests: aiortc through the signaling socket of a running daphne."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import subprocess
import threading
import time
from contextlib import contextmanager

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp
from django.db import connection

from tests.browser import ROOT, wait_healthy

# The daphne processes started by daphne() and still running, by URL (a test may kill one).
RUNNING: dict[str, subprocess.Popen] = {}


@contextmanager
def daphne(port: int, log_path, address: str = "127.0.0.1", **extra_env: str):
    """A daphne process of this project on the test database (PostgreSQL), as in production,
    serving ``address`` (loopback, or a veth link's end for calls on impaired links)."""
    env = dict(os.environ, **extra_env)
    if address != "127.0.0.1":
        env["ALLOWED_HOSTS"] = f"{address},127.0.0.1,localhost"
    env["DATABASE_URL"] = (
        f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:"
        f"{connection.settings_dict['PORT']}/{connection.settings_dict['NAME']}"
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("MIGRATION_DATABASE_URL", None)  # it serves, as the runtime role; it does not migrate
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(ROOT / ".venv/bin/daphne"), "-b", address, "-p", str(port), "teletherapy.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://{address}:{port}"
        RUNNING[url] = process
        try:
            wait_healthy(url, process, log_path=log_path)
            yield url
        finally:
            RUNNING.pop(url, None)
            process.terminate()
            process.wait(timeout=10)


def fingerprint(sdp: str) -> str:
    line = next(x for x in sdp.splitlines() if x.lower().startswith("a=fingerprint:sha-256 "))
    return line.split(" ")[1].strip().upper()


def commitment(print_: str, nonce: str) -> str:
    """The same as static/js/call/security_code.js."""
    return hashlib.sha256(f"teletherapy-commit-v2|{print_}|{nonce}".encode()).hexdigest()


def code_digits(digest: bytes) -> str:
    digits = f"{int.from_bytes(digest[:4], 'big') % 1_000_000:06d}"
    return f"{digits[:3]} {digits[3:]}"


def security_code(offerer: tuple[str, str], answerer: tuple[str, str]) -> str:
    """The same derivation as static/js/call/security_code.js: (fingerprint, nonce) of each side,
    the offerer's first."""
    text = f"teletherapy-code-v2|{offerer[0]}|{offerer[1]}|{answerer[0]}|{answerer[1]}"
    return code_digits(hashlib.sha256(text.encode()).digest())


class OffererExchange:
    """The offering side of the security code's exchange, for a Python peer."""

    def __init__(self, local_sdp: str) -> None:
        self.mine = (fingerprint(local_sdp), secrets.token_hex(32))
        self.code = ""
        self.theirs = ""

    def commit(self, to: str) -> dict:
        return {"v": 1, "type": "verify", "to": to, "step": "commit", "hash": commitment(*self.mine)}

    def on_nonce(self, message: dict) -> dict:
        assert message["step"] == "nonce", message
        self.theirs = message["fingerprint"]
        self.code = security_code(self.mine, (message["fingerprint"], message["nonce"]))
        return {
            "v": 1,
            "type": "verify",
            "to": message["from"],
            "step": "open",
            "fingerprint": self.mine[0],
            "nonce": self.mine[1],
        }


def aiortc_in_thread(url: str, appointment_id: str, cookie: str, result: dict) -> threading.Thread:
    """aiortc_client in a thread of its own (the test's thread drives the browser); an exception
    is left in ``result["error"]`` for the test to report."""

    def run() -> None:
        try:
            asyncio.run(aiortc_client(url, appointment_id, cookie, result))
        except BaseException as exc:  # reported by the main thread
            result["error"] = repr(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    return worker


async def aiortc_client(url: str, appointment_id: str, cookie: str, result: dict) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    ws_url = url.replace("http://", "ws://") + f"/ws/sessions/{appointment_id}/"
    async with connect(ws_url, origin=url, additional_headers={"Cookie": cookie}) as socket:
        exchange: OffererExchange | None = None

        async def next_of(kind: str) -> dict:
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), 60))
                if message["type"] == kind:
                    return message
                if message["type"] == "verify" and exchange is not None:
                    await socket.send(json.dumps(exchange.on_nonce(message)))
                    continue
                if message["type"] == "bye":
                    raise AssertionError(message)
                result.setdefault("seen", []).append(message["type"])

        welcome = json.loads(await socket.recv())
        assert welcome["state"] == "waiting"
        result["ice"] = welcome["ice"]
        await socket.send(json.dumps({"v": 1, "type": "join"}))
        await next_of("admitted")
        peer = await next_of("peer-joined")
        assert peer["polite"] is False and peer["role"] == "therapist"

        servers = [RTCIceServer(**server) for server in welcome["ice"]["iceServers"]]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        pc.addTrack(VideoStreamTrack())
        pc.addTrack(AudioStreamTrack())
        chat = pc.createDataChannel("chat")
        video = asyncio.get_running_loop().create_future()
        pc.on("track", lambda track: track.kind == "video" and not video.done() and video.set_result(track))
        await pc.setLocalDescription(await pc.createOffer())
        exchange = OffererExchange(pc.localDescription.sdp)
        await socket.send(json.dumps(exchange.commit(peer["peer"])))
        await socket.send(json.dumps({"v": 1, "type": "offer", "to": peer["peer"], "sdp": pc.localDescription.sdp}))
        answer = await next_of("answer")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

        async def candidates() -> None:
            while True:
                message = await next_of("ice")
                candidate = message["candidate"]
                if candidate and candidate["candidate"]:
                    parsed = candidate_from_sdp(candidate["candidate"].split(":", 1)[1])
                    parsed.sdpMid = candidate.get("sdpMid")
                    parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
                    await pc.addIceCandidate(parsed)

        feeder = asyncio.create_task(candidates())
        deadline = time.monotonic() + 30
        while pc.connectionState != "connected":
            assert time.monotonic() < deadline, pc.connectionState
            await asyncio.sleep(0.1)
        frame = await asyncio.wait_for((await asyncio.wait_for(video, 10)).recv(), 20)
        result["frame"] = (frame.width, frame.height)
        result["connection"] = pc.connectionState
        while not exchange.code:
            await asyncio.sleep(0.05)
        # The fingerprint the page revealed is the one its answer (and so its DTLS) carries.
        assert exchange.theirs == fingerprint(pc.remoteDescription.sdp), exchange.theirs
        result["code"] = exchange.code
        while chat.readyState != "open":
            await asyncio.sleep(0.05)
        chat.send("Hello from aiortc")
        await asyncio.sleep(result.get("linger", 4))
        feeder.cancel()
        result["connection_at_end"] = pc.connectionState
        try:
            await socket.send(json.dumps({"v": 1, "type": "leave"}))
        except ConnectionClosed:  # its server went away during the call; the media did not
            result["socket_lost"] = True
        await pc.close()
