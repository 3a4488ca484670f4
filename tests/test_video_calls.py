"""Real calls between Chromium and an aiortc peer, through daphne processes of this project
sharing PostgreSQL and Redis, as in production.

- Two daphne processes: the therapist in Chromium on one, the client (aiortc) on the other;
  they meet through the Redis channel layer and complete a DTLS-connected call with media both
  ways, a chat message and the same security code on each side.
- Relay-only: the practice forces TURN; a real coturn accepts the short-lived HMAC credential
  the socket handed out, and the browser's media goes through the relay.
"""

from __future__ import annotations

import shutil
import subprocess
from contextlib import ExitStack, contextmanager

import pytest
from django.conf import settings
from django.db import connection

from sessions.models import SessionPolicy
from sessions.services import check_in_record, licenses_set
from tests.browser import CHROMIUM_FLAGS, chromium_path, free_port
from tests.conftest import require_infrastructure, sign_for_video
from tests.webrtc import aiortc_in_thread, daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis, pytest.mark.browser]
TURN_SECRET = "turn-secret-for-tests"


@pytest.fixture
def ready_room(consent_docs, schedule, therapist, client_user, login_as):
    require_infrastructure("PostgreSQL", connection.vendor == "postgresql")
    require_infrastructure("Redis", bool(settings.REDIS_URL))
    require_infrastructure("Chromium", bool(chromium_path()))
    licenses_set(therapist=therapist, regions=["US-NY"], context=None)
    sign_for_video(client_user)
    appointment = schedule(client_user, in_hours=5 / 60)
    check_in_record(
        user=client_user,
        appointment=appointment,
        location="US-NY",
        private_device=True,
        private_network=True,
        private_space=True,
        context=None,
    )
    therapist_key = login_as(therapist).cookies[settings.SESSION_COOKIE_NAME].value
    client_key = login_as(client_user).cookies[settings.SESSION_COOKIE_NAME].value
    return appointment, therapist_key, client_key


def call(stack: ExitStack, therapist_url: str, client_url: str, room, client_user) -> tuple[object, dict]:
    """The therapist opens the session in Chromium, the aiortc client joins and is admitted."""
    from playwright.sync_api import sync_playwright

    appointment, therapist_key, client_key = room
    playwright = stack.enter_context(sync_playwright())
    chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
    stack.callback(chromium.close)
    context = chromium.new_context()
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": therapist_key, "url": therapist_url}])
    page = context.new_page()
    page.goto(f"{therapist_url}/sessions/{appointment.pk}/join/")
    page.wait_for_selector("#devices[data-state='ok']")
    page.get_by_role("button", name="Open the session").click()

    result: dict = {}
    cookie = f"{settings.SESSION_COOKIE_NAME}={client_key}"

    worker = aiortc_in_thread(client_url, str(appointment.pk), cookie, result)
    page.get_by_role("button", name=f"Admit {client_user.full_name}").click(timeout=30_000)
    page.wait_for_selector(".tile[data-state='connected']", timeout=30_000)
    page.wait_for_selector(".tile[data-peer]:not([data-frames-decoded='0'])", timeout=30_000)
    page.locator("#chat-log li", has_text="Hello from aiortc").wait_for(state="attached", timeout=30_000)
    page.wait_for_selector(".security-code[data-code]", state="attached")
    page.wait_for_selector(".tile[data-peer][data-route]")
    result["browser_code"] = page.locator(".security-code").get_attribute("data-code")
    result["browser_route"] = page.locator(".tile[data-peer]").get_attribute("data-route")
    result["browser_state"] = page.locator(".tile[data-peer] .state").text_content()
    worker.join(60)
    assert not worker.is_alive()
    assert result.get("error") is None, result
    page.get_by_text(f"{client_user.full_name} left the call.").wait_for()
    return page, result


def test_a_client_on_one_daphne_calls_a_therapist_in_chromium_on_another(ready_room, client_user, tmp_path):
    with ExitStack() as stack:
        first = stack.enter_context(daphne(free_port(), tmp_path / "a.log"))
        second = stack.enter_context(daphne(free_port(), tmp_path / "b.log"))
        _page, result = call(stack, first, second, ready_room, client_user)
    assert result["connection"] == "connected" and result["frame"][0] > 0
    assert result["code"] == result["browser_code"]
    assert result["browser_route"] == "direct"


@contextmanager
def coturn(port: int, log_path):
    """coturn with the shared-secret scheme, on loopback (which the production config refuses)."""
    binary = shutil.which("turnserver")
    require_infrastructure("coturn", bool(binary))
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                binary,
                "-n",
                "--listening-ip=127.0.0.1",
                f"--listening-port={port}",
                "--relay-ip=127.0.0.1",
                "--min-port=49160",
                "--max-port=49400",
                "--use-auth-secret",
                f"--static-auth-secret={TURN_SECRET}",
                "--realm=teletherapy.test",
                "--allow-loopback-peers",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--fingerprint",
                "--log-file=stdout",
                "--simple-log",
                "--verbose",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield f"turn:127.0.0.1:{port}?transport=udp"
        finally:
            process.terminate()
            process.wait(10)


def test_relay_only_media_goes_through_turn_with_the_short_lived_credential(
    ready_room, client_user, practice, tmp_path
):
    SessionPolicy.objects.create(practice=practice, relay_only=True)
    with ExitStack() as stack:
        turn_url = stack.enter_context(coturn(free_port(), tmp_path / "turn.log"))
        server = stack.enter_context(
            daphne(free_port(), tmp_path / "a.log", ICE_TURN_URLS=turn_url, TURN_SHARED_SECRET=TURN_SECRET)
        )
        _page, result = call(stack, server, server, ready_room, client_user)
    assert result["connection"] == "connected" and result["frame"][0] > 0
    assert result["ice"]["iceTransportPolicy"] == "relay"
    assert result["browser_route"] == "relay" and "relay" in result["browser_state"]
    username = result["ice"]["iceServers"][0]["username"]
    log = (tmp_path / "turn.log").read_text(errors="replace")
    assert f"user <{username}>" in log and "ALLOCATE processed, success" in log
