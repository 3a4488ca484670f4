"""Two daphne processes sharing PostgreSQL and Redis: the therapist in Chromium on one, a client
on the other as an aiortc peer. They meet through the Redis channel layer and complete a real
DTLS-connected call, with media both ways and the same security code on each side."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import threading
import time
import urllib.request
from contextlib import ExitStack, contextmanager

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp
from django.conf import settings
from django.db import connection

from sessions.services import check_in_record, licenses_set
from tests.browser import CHROMIUM_FLAGS, ROOT, chromium_path, free_port
from tests.conftest import require_infrastructure, sign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis, pytest.mark.browser]


@contextmanager
def daphne(port: int, log_path):
    env = dict(os.environ)
    env["DATABASE_URL"] = (
        f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:"
        f"{connection.settings_dict['PORT']}/{connection.settings_dict['NAME']}"
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "teletherapy.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(log_path.read_text()) from None
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def fingerprint(sdp: str) -> str:
    line = next(x for x in sdp.splitlines() if x.lower().startswith("a=fingerprint:sha-256 "))
    return line.split(" ")[1].strip().upper()


def security_code(local_sdp: str, remote_sdp: str) -> str:
    """The same derivation as static/js/call.js."""
    prints = sorted([fingerprint(local_sdp), fingerprint(remote_sdp)])
    digest = hashlib.sha256("|".join(prints).encode()).digest()
    digits = f"{int.from_bytes(digest[:4], 'big') % 1_000_000:06d}"
    return f"{digits[:3]} {digits[3:]}"


async def aiortc_client(url: str, appointment_id: str, cookie: str, result: dict) -> None:
    from websockets.asyncio.client import connect

    ws_url = url.replace("http://", "ws://") + f"/ws/sessions/{appointment_id}/"
    async with connect(ws_url, origin=url, additional_headers={"Cookie": cookie}) as socket:

        async def next_of(kind: str) -> dict:
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), 60))
                if message["type"] == kind:
                    return message
                if message["type"] == "bye":
                    raise AssertionError(message)
                result.setdefault("seen", []).append(message["type"])

        welcome = json.loads(await socket.recv())
        assert welcome["state"] == "waiting"
        await socket.send(json.dumps({"v": 1, "type": "join"}))
        await next_of("admitted")
        peer = await next_of("peer-joined")
        assert peer["polite"] is False and peer["role"] == "therapist"

        pc = RTCPeerConnection()
        pc.addTrack(VideoStreamTrack())
        pc.addTrack(AudioStreamTrack())
        chat = pc.createDataChannel("chat")
        video = asyncio.get_running_loop().create_future()
        pc.on("track", lambda track: track.kind == "video" and not video.done() and video.set_result(track))
        await pc.setLocalDescription(await pc.createOffer())
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
        result["code"] = security_code(pc.localDescription.sdp, pc.remoteDescription.sdp)
        while chat.readyState != "open":
            await asyncio.sleep(0.05)
        chat.send("Hello from aiortc")
        await asyncio.sleep(result.get("linger", 4))
        feeder.cancel()
        await socket.send(json.dumps({"v": 1, "type": "leave"}))
        await pc.close()


def test_a_client_on_one_daphne_calls_a_therapist_in_chromium_on_another(
    consent_docs, schedule, therapist, client_user, login_as, tmp_path
):
    require_infrastructure("PostgreSQL", connection.vendor == "postgresql")
    require_infrastructure("Redis", bool(settings.REDIS_URL))
    path = chromium_path()
    require_infrastructure("Chromium", bool(path))
    licenses_set(therapist=therapist, regions=["US-NY"], request=None)
    sign(client_user, "treatment")
    sign(client_user, "telehealth")
    appointment = schedule(client_user, in_hours=5 / 60)
    check_in_record(
        user=client_user,
        appointment=appointment,
        location="US-NY",
        private_device=True,
        private_network=True,
        private_space=True,
        request=None,
    )
    therapist_key = login_as(therapist).cookies[settings.SESSION_COOKIE_NAME].value
    client_key = login_as(client_user).cookies[settings.SESSION_COOKIE_NAME].value

    from playwright.sync_api import sync_playwright

    with ExitStack() as stack:
        first = stack.enter_context(daphne(free_port(), tmp_path / "a.log"))
        second = stack.enter_context(daphne(free_port(), tmp_path / "b.log"))
        playwright = stack.enter_context(sync_playwright())
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        stack.callback(chromium.close)
        context = chromium.new_context()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": therapist_key, "url": first}])
        page = context.new_page()
        page.goto(f"{first}/sessions/{appointment.pk}/join/")
        page.wait_for_selector("#devices[data-state='ok']")
        page.get_by_role("button", name="Open the session").click()

        result: dict = {}
        cookie = f"{settings.SESSION_COOKIE_NAME}={client_key}"

        def run() -> None:
            try:
                asyncio.run(aiortc_client(second, str(appointment.pk), cookie, result))
            except BaseException as exc:  # reported by the main thread
                result["error"] = repr(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        page.get_by_role("button", name=f"Admit {client_user.full_name}").click(timeout=30_000)
        page.wait_for_selector(".tile[data-state='connected']", timeout=30_000)
        page.wait_for_selector(".tile[data-peer]:not([data-frames-decoded='0'])", timeout=30_000)
        page.locator("#chat-log li", has_text="Hello from aiortc").wait_for(timeout=30_000)
        page.wait_for_selector(".security-code[data-code]")
        browser_code = page.locator(".security-code").get_attribute("data-code")
        browser_prints = page.locator(".security-code").get_attribute("data-prints")
        worker.join(60)
        assert not worker.is_alive()
        assert result.get("error") is None, result
        assert result["connection"] == "connected" and result["frame"][0] > 0
        assert result["code"] == browser_code, (browser_prints, result)
        page.get_by_text(f"{client_user.full_name} left the call.").wait_for()
