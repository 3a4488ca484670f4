"""Calls on bad networks, impaired for real: the client's Chromium runs in a network namespace of
its own, joined to this one by a veth link the test creates; daphne and the therapist's Chromium
stay here. The link is then made lossy (nftables: 5% of UDP dropped each way), cut for ten
seconds (the link set down), and squeezed to 150 kbit/s (tc tbf each way). This kernel has no
netem qdisc, so no delay is added.

Measured and printed: the time to connect, to recover from the outage, and to offer audio only.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from tests.browser import CHROMIUM_FLAGS, chromium_path, free_port
from tests.conftest import require_infrastructure
from tests.netns import can_make_namespaces, chromium_in, client_link, lossy, secure_origin_flag, squeezed
from tests.test_video_calls import ready_room  # noqa: F401 - the same prepared session
from tests.webrtc import daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis, pytest.mark.browser]


def frames(page) -> int:
    return int(page.locator(".tile[data-peer]").get_attribute("data-frames-decoded") or 0)


def audio_packets(page) -> int:
    return int(page.locator(".tile[data-peer]").get_attribute("data-audio-packets") or 0)


def keeps_arriving(page, measure=frames, seconds: float = 5, at_least: int = 5) -> bool:
    before = measure(page)
    page.wait_for_timeout(seconds * 1000)
    return measure(page) >= before + at_least


def test_a_call_survives_loss_an_outage_and_a_thin_link(ready_room, tmp_path):  # noqa: F811 - the fixture
    require_infrastructure("network namespaces, tc and nftables (as root)", can_make_namespaces())
    from playwright.sync_api import sync_playwright

    appointment, therapist_key, client_key = ready_room
    timings: dict[str, float] = {}
    with client_link() as link:
        wrapper = chromium_in(link, chromium_path(), tmp_path)
        with daphne(free_port(), tmp_path / "daphne.log", address=link.host_ip) as url, sync_playwright() as playwright:
            flags = [*CHROMIUM_FLAGS, secure_origin_flag(url)]
            here = playwright.chromium.launch(executable_path=chromium_path(), args=flags)
            there = playwright.chromium.launch(executable_path=str(wrapper), args=flags)
            contexts = {"client": there.new_context(), "therapist": here.new_context()}
            for role, key in (("client", client_key), ("therapist", therapist_key)):
                contexts[role].add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": url}])
            client, therapist = contexts["client"].new_page(), contexts["therapist"].new_page()
            client.goto(f"{url}/sessions/{appointment.pk}/join/")
            client.wait_for_selector("#devices[data-state='ok']")
            client.get_by_label("Where are you right now?").select_option("US-NY")
            client.get_by_role("button", name="Go to the waiting room").click()
            therapist.goto(f"{url}/sessions/{appointment.pk}/join/")
            therapist.wait_for_selector("#devices[data-state='ok']")
            therapist.get_by_role("button", name="Open the session").click()
            admit = therapist.locator("#waiting-list button.admit")
            admit.wait_for(timeout=30_000)
            started = time.monotonic()
            admit.click()
            for page in (client, therapist):
                page.wait_for_selector(".tile[data-peer][data-state='connected']", timeout=30_000)
                page.wait_for_selector(".tile[data-peer]:not([data-frames-decoded='0'])", timeout=30_000)
            timings["connect"] = time.monotonic() - started
            # The media really crosses the link: the client's side has no other way out.
            assert keeps_arriving(therapist) and keeps_arriving(client)

            # 5% of the media packets lost each way: the call holds and video keeps arriving.
            with lossy(link, 5):
                assert keeps_arriving(therapist, seconds=6) and keeps_arriving(client, seconds=6)
                assert therapist.locator(".tile[data-peer]").get_attribute("data-state") == "connected"

            # Ten seconds with no network at all: the call comes back by itself.
            link.in_namespace("ip", "link", "set", link.client_side, "down")
            therapist.wait_for_timeout(10_000)
            link.in_namespace("ip", "link", "set", link.client_side, "up")
            back = time.monotonic()
            deadline = back + 45
            before = frames(therapist)
            while frames(therapist) < before + 10:
                assert time.monotonic() < deadline, "the call did not recover within 45 s of the outage"
                therapist.wait_for_timeout(200)
            timings["recover"] = time.monotonic() - back
            assert keeps_arriving(client)

            # 150 kbit/s each way: audio only is offered (and taken), and the voice keeps coming.
            with squeezed(link, "150kbit"):
                squeezed_at = time.monotonic()
                client.locator("#weak-offer").wait_for(state="visible", timeout=60_000)
                timings["offer_audio_only"] = time.monotonic() - squeezed_at
                client.locator("#weak-accept").click()
                therapist.locator(".tile[data-peer] .badge-audioOnly").wait_for(timeout=15_000)
                assert keeps_arriving(therapist, audio_packets, seconds=6, at_least=50)
            print(
                f"\nimpaired call: connected in {timings['connect']:.1f} s; recovered {timings['recover']:.1f} s "
                f"after a 10 s outage; audio only offered {timings['offer_audio_only']:.1f} s after the link "
                "fell to 150 kbit/s"
            )
            here.close()
            there.close()
