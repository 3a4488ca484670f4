"""Scale-out behind a real HAProxy (Debian's), with the deployment's own configuration
(deploy/haproxy/haproxy.cfg): a call's two sockets land on the same daphne process, hashed on
the appointment; pages and the presence socket are spread. The process holding a call is killed
mid-call: HAProxy's health check takes it out, the therapist's page (Chromium) reconnects to the
other process, the client (aiortc) is let back in there as already admitted, and the media never
stops, since it is peer to peer."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from tests.browser import CHROMIUM_FLAGS, ROOT, chromium_path, free_port, until, wait_healthy
from tests.conftest import require_infrastructure
from tests.test_video_calls import ready_room  # noqa: F401 - the fixture
from tests.webrtc import RUNNING, aiortc_in_thread, daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.browser]
CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"


@contextmanager
def haproxy(port: int, servers: list[str], log_path: Path):
    """HAProxy on the deployment's configuration, in front of ``servers`` (host:port each)."""
    binary = shutil.which("haproxy")
    require_infrastructure("haproxy (Debian's package)", bool(binary))
    assert binary is not None
    env = dict(os.environ, PROXY_BIND=f"127.0.0.1:{port}", WEB_1=servers[0], WEB_2=servers[1])
    checked = subprocess.run([binary, "-c", "-f", str(CONFIG)], env=env, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "-db", "-f", str(CONFIG)], env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process, log_path=log_path)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def connects_to(log: Path, appointment_id: object) -> int:
    """How many call sockets of this appointment a daphne process accepted (its access log)."""
    return sum(
        1
        for line in log.read_text(errors="replace").splitlines()
        if "WSCONNECT" in line and f"/ws/sessions/{appointment_id}/" in line
    )


def frames(page) -> int:
    return int(page.locator(".tile[data-peer]").get_attribute("data-frames-decoded") or 0)


async def come_back(url: str, appointment_id: object, cookie: str, seen: dict, hold: float) -> None:
    """The client's signaling, back through HAProxy: welcomed, joined, announced to the others;
    held open a while, then dropped as a network would drop it (not a goodbye)."""
    from websockets.asyncio.client import connect

    ws_url = url.replace("http://", "ws://") + f"/ws/sessions/{appointment_id}/"
    async with connect(ws_url, origin=url, additional_headers={"Cookie": cookie}) as socket:
        seen["welcome"] = json.loads(await asyncio.wait_for(socket.recv(), 10))
        await socket.send(json.dumps({"v": 1, "type": "join"}))
        while "peer" not in seen:
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if message["type"] == "peer-joined":
                seen["peer"] = message
        await asyncio.sleep(hold)
        await socket.close(code=4999, reason="network gone")


def test_a_call_survives_the_loss_of_its_daphne_process_behind_haproxy(
    ready_room,  # noqa: F811
    client_user,
    tmp_path,
):
    from playwright.sync_api import sync_playwright

    appointment, therapist_key, client_key = ready_room
    cookie = f"{settings.SESSION_COOKIE_NAME}={client_key}"
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with ExitStack() as stack:
        first = stack.enter_context(daphne(free_port(), logs[0]))
        second = stack.enter_context(daphne(free_port(), logs[1]))
        servers = [first.removeprefix("http://"), second.removeprefix("http://")]
        proxy = stack.enter_context(haproxy(free_port(), servers, tmp_path / "haproxy.log"))
        playwright = stack.enter_context(sync_playwright())
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        stack.callback(chromium.close)
        context = chromium.new_context()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": therapist_key, "url": proxy}])
        page = context.new_page()
        page.goto(f"{proxy}/sessions/{appointment.pk}/join/")
        page.wait_for_selector("#devices[data-state='ok']")
        page.get_by_role("button", name="Open the session").click()

        result: dict = {"linger": 30}

        worker = aiortc_in_thread(proxy, str(appointment.pk), cookie, result)
        page.get_by_role("button", name=f"Admit {client_user.full_name}").click(timeout=30_000)
        page.wait_for_selector(".tile[data-state='connected']", timeout=30_000)
        page.wait_for_selector(".tile[data-peer]:not([data-frames-decoded='0'])", timeout=30_000)
        page.locator("#chat-log li", has_text="Hello from aiortc").wait_for(state="attached", timeout=30_000)

        # Sticky: every socket of the call (the page's, the client's) is on one process, none on the other.
        counts = [connects_to(log, appointment.pk) for log in logs]
        assert min(counts) == 0 and max(counts) >= 2, counts
        holder = 0 if counts[0] else 1
        survivor = 1 - holder

        tile = page.locator(".tile[data-peer]")
        ufrag, old_id = tile.get_attribute("data-remote-ufrag"), tile.get_attribute("data-peer")
        RUNNING[[first, second][holder]].kill()  # no goodbye: the process is gone
        before = frames(page)
        time.sleep(5)
        assert frames(page) > before  # media went on: it never passed through daphne
        assert tile.get_attribute("data-state") == "connected"
        # The therapist's page reconnects, through HAProxy, to the process that is left.
        until(
            page,
            "() => Number(document.body.dataset.reconnections || 0) >= 1 && !document.body.dataset.reconnecting",
            seconds=30,
        )
        reconnected = connects_to(logs[survivor], appointment.pk)
        assert reconnected >= 1
        # The client's signaling comes back there too, let in as already admitted; the page takes
        # the connection it kept up again under the client's new id, with no renegotiation.
        seen: dict = {}
        back = threading.Thread(
            target=lambda: asyncio.run(come_back(proxy, appointment.pk, cookie, seen, hold=8)), daemon=True
        )
        back.start()
        until(page, f"() => document.querySelector('.tile[data-peer]')?.dataset.peer !== {json.dumps(old_id)}", 20)
        assert seen["welcome"]["type"] == "welcome" and seen["welcome"]["state"] == "admitted", seen
        assert connects_to(logs[survivor], appointment.pk) > reconnected
        assert page.locator(".tile[data-peer]").count() == 1
        assert tile.get_attribute("data-peer") == seen["welcome"]["peer"]
        assert tile.get_attribute("data-remote-ufrag") == ufrag  # the same ICE session: nothing renegotiated
        resumed = frames(page)
        time.sleep(2)
        assert frames(page) > resumed and tile.get_attribute("data-state") == "connected"
        back.join(30)
        worker.join(60)
        assert result.get("error") is None, result
        assert result["connection_at_end"] == "connected" and result.get("socket_lost") is True
