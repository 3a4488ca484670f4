"""Calls on bad networks, impaired for real: the client's Chromium runs in a network namespace of
its own, joined to this one by a veth link the test creates; daphne and the therapist's Chromium
stay here. The link is then made lossy (nftables: 5% of UDP dropped each way), cut for ten
seconds (the link set down), and squeezed to 150 kbit/s (tc tbf each way).

This kernel has no netem qdisc, so for delay the call is relayed: both sides may only use the
TURN server (coturn), and the client reaches it through a delay line that holds each of its
datagrams 150 ms each way, on top of the same 5% loss.

Measured and printed: the time to connect, to recover from the outage, and to offer audio only.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from sessions.models import SessionPolicy
from tests.browser import CHROMIUM_FLAGS, chromium_path, free_port
from tests.conftest import require_infrastructure
from tests.netns import (
    Link,
    can_make_namespaces,
    chromium_in,
    client_link,
    delay_line,
    lossy,
    secure_origin_flag,
    squeezed,
)
from tests.test_video_calls import TURN_SECRET, coturn, ready_room  # noqa: F401 - the same prepared session
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


def connected_call(playwright, link: Link, url: str, room, folder):
    """The client's Chromium in the link's namespace, the therapist's here; the client checks
    in, is admitted, and both sides see the other's video. Returns both pages, both browsers
    and the seconds from admission to video on both sides."""
    appointment, therapist_key, client_key = room
    flags = [*CHROMIUM_FLAGS, secure_origin_flag(url)]
    here = playwright.chromium.launch(executable_path=chromium_path(), args=flags)
    there = playwright.chromium.launch(executable_path=str(chromium_in(link, chromium_path(), folder)), args=flags)
    contexts = {"client": there.new_context(), "therapist": here.new_context()}
    for role, key in (("client", client_key), ("therapist", therapist_key)):
        contexts[role].add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": url}])
    client, therapist = contexts["client"].new_page(), contexts["therapist"].new_page()
    client.goto(f"{url}/sessions/{appointment.pk}/join/")
    client.wait_for_selector("#devices[data-state='ok']")
    client.get_by_label("Where are you right now?").select_option("US-NY")
    client.get_by_role("button", name="I'm ready").click()
    therapist.goto(f"{url}/sessions/{appointment.pk}/join/")
    therapist.wait_for_selector("#devices[data-state='ok']")
    therapist.get_by_role("button", name="Open the session").click()
    admit = therapist.locator("#waiting-list button.admit")
    admit.wait_for(timeout=30_000)
    started = time.monotonic()
    admit.click()
    for page in (client, therapist):
        page.wait_for_selector(".tile[data-peer][data-state='connected']", timeout=45_000)
        page.wait_for_selector(".tile[data-peer]:not([data-frames-decoded='0'])", timeout=45_000)
    return client, therapist, (here, there), time.monotonic() - started


def test_a_call_survives_loss_an_outage_and_a_thin_link(ready_room, tmp_path):  # noqa: F811 - the fixture
    require_infrastructure("network namespaces, tc and nftables (as root)", can_make_namespaces())
    from playwright.sync_api import sync_playwright

    timings: dict[str, float] = {}
    with (
        client_link() as link,
        daphne(free_port(), tmp_path / "daphne.log", address=link.host_ip) as url,
        sync_playwright() as playwright,
    ):
        client, therapist, (here, there), timings["connect"] = connected_call(
            playwright, link, url, ready_room, tmp_path
        )
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
            # The therapist is shown that the client's connection is poor (from getStats).
            therapist.locator(".tile[data-peer] .badge-poor", has_text="Poor connection").wait_for(timeout=30_000)
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


def test_a_relayed_call_holds_through_150_ms_each_way_and_5_percent_loss(ready_room, practice, tmp_path):  # noqa: F811
    require_infrastructure("network namespaces, tc and nftables (as root)", can_make_namespaces())
    from playwright.sync_api import sync_playwright

    # Only the relay: the delay line in front of it is the client's one way to the other side.
    SessionPolicy.objects.create(practice=practice, relay_only=True)
    with client_link() as link, coturn(free_port(), tmp_path / "turn.log") as turn_url:
        turn_port = int(turn_url.split("?")[0].rsplit(":", 1)[1])
        with (
            delay_line((link.host_ip, 0), ("127.0.0.1", turn_port), delay=0.150, delayed_from=link.client_ip) as line,
            daphne(
                free_port(),
                tmp_path / "daphne.log",
                address=link.host_ip,
                ICE_TURN_URLS=f"turn:{line.address[0]}:{line.address[1]}?transport=udp",
                TURN_SHARED_SECRET=TURN_SECRET,
            ) as url,
            sync_playwright() as playwright,
            lossy(link, 5),
        ):
            client, therapist, browsers, connect = connected_call(playwright, link, url, ready_room, tmp_path)
            for page in (client, therapist):
                page.wait_for_selector(".tile[data-peer][data-route='relay'][data-rtt]", timeout=15_000)
            # The delay is real: each side measures a round trip of at least the 300 ms held.
            rtts = [int(p.locator(".tile[data-peer]").get_attribute("data-rtt") or 0) for p in (client, therapist)]
            assert min(rtts) >= 290, rtts
            # Through the delay and the loss, video keeps arriving both ways and the call holds.
            assert keeps_arriving(therapist, seconds=8) and keeps_arriving(client, seconds=8)
            assert keeps_arriving(therapist, audio_packets, seconds=4, at_least=50)
            assert therapist.locator(".tile[data-peer]").get_attribute("data-state") == "connected"
            print(f"\nrelayed call, 150 ms each way and 5% loss: connected in {connect:.1f} s; round trips {rtts} ms")
            for browser in browsers:
                browser.close()
    assert line.datagrams > 500  # the media went through the delay line
