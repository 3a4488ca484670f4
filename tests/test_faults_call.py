"""Redis down during a live call: the therapist in Chromium on one daphne, the client (aiortc) on
another, meeting through a Redis of the test's own. Redis is stopped mid-call and started again:
media goes on meanwhile (it is peer to peer), the signaling between the two processes works
again once Redis is back, and the audit log misses nothing."""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest
from django.conf import settings

from audit.models import Action, AuditEvent
from audit.verify import verify_chain
from tests.browser import CHROMIUM_FLAGS, chromium_path, free_port
from tests.servers import RedisServer, can_run_own_servers, private_folder
from tests.test_video_calls import ready_room  # noqa: F401 - the fixture
from tests.webrtc import aiortc_in_thread, daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.browser]


def _frames(page) -> int:
    return int(page.locator(".tile[data-peer]").get_attribute("data-frames-decoded") or 0)


def test_a_call_survives_redis_going_down_and_coming_back(ready_room, client_user, therapist, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    from tests.conftest import require_infrastructure

    require_infrastructure("redis-server and runuser (a Redis of the test's own)", can_run_own_servers())
    redis = RedisServer(private_folder("call-redis-"))
    redis.start()
    own = f"redis://127.0.0.1:{redis.port}/0"
    appointment, therapist_key, client_key = ready_room
    with ExitStack() as stack:
        stack.callback(redis.stop)
        first = stack.enter_context(daphne(free_port(), tmp_path / "a.log", REDIS_URL=own))
        second = stack.enter_context(daphne(free_port(), tmp_path / "b.log", REDIS_URL=own))
        playwright = stack.enter_context(sync_playwright())
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        stack.callback(chromium.close)
        context = chromium.new_context()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": therapist_key, "url": first}])
        page = context.new_page()
        page.goto(f"{first}/sessions/{appointment.pk}/join/")
        page.wait_for_selector("#devices[data-state='ok']")
        page.get_by_role("button", name="Open the session").click()

        result: dict = {"linger": 16}
        cookie = f"{settings.SESSION_COOKIE_NAME}={client_key}"
        worker = aiortc_in_thread(second, str(appointment.pk), cookie, result)
        page.get_by_role("button", name=f"Admit {client_user.full_name}").click(timeout=30_000)
        page.wait_for_selector(".tile[data-state='connected']", timeout=30_000)
        page.wait_for_selector(".tile[data-peer]:not([data-frames-decoded='0'])", timeout=30_000)
        page.locator("#chat-log li", has_text="Hello from aiortc").wait_for(state="attached", timeout=30_000)

        redis.stop()
        before = _frames(page)
        time.sleep(5)
        during = _frames(page)
        assert during > before, (before, during)  # media went on with Redis down
        assert page.locator(".tile[data-peer]").get_attribute("data-state") == "connected"

        redis.start()  # the same port, empty, as a restarted Redis would be
        # The client leaves once its linger is over: that goes from the second daphne to the
        # first through Redis, so the therapist sees it only if signaling works again.
        page.get_by_text(f"{client_user.full_name} left the call.").wait_for(timeout=40_000)
        worker.join(60)
        assert result.get("error") is None, result
        assert result["connection"] == "connected"

    leave = AuditEvent.objects.filter(action=Action.VIDEO_LEAVE, actor_id=client_user.pk)
    assert leave.exists()
    assert AuditEvent.objects.filter(action=Action.VIDEO_JOIN, actor_id=therapist.pk).exists()
    for chain in set(AuditEvent.objects.values_list("chain", flat=True)):
        assert verify_chain(chain=chain).intact
