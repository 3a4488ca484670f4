"""Recovery from a 10-second network outage, for real: the client's Chromium in a network
namespace of its own behind a veth link (tests/netns.py), the link set down for ten seconds and
up again; the clock runs from the link coming back to ten more video frames decoded on the other
side. Platform: the real pages through daphne (PostgreSQL, the Redis channel layer), the
therapist's Chromium here. Baseline, in the same run over the same link: two bare
RTCPeerConnections, one in each browser, signaled by the harness.

Needs root (namespaces), tc and nftables:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/teletherapy_bench \\
    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python benchmarks/call_impairment.py

BENCH_ROUNDS sets the number of outages of each kind (default 5).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.signaling_relay import REDIS_URL, prepare_platform  # noqa: E402
from tests.browser import CHROMIUM_FLAGS, chromium_path, free_port, wait_healthy  # noqa: E402
from tests.netns import Link, can_make_namespaces, chromium_in, client_link, secure_origin_flag  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
OUTAGE_SECONDS = 10

BARE_PAGE = """<!doctype html><html><body><video id="remote" autoplay muted playsinline></video><script>
window.frames_ = 0;
window.start = async (sending) => {
  window.pc = new RTCPeerConnection();
  if (sending) {
    const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
    stream.getTracks().forEach((t) => pc.addTrack(t, stream));
  } else {
    pc.addTransceiver("video", {direction: "recvonly"});
    pc.addTransceiver("audio", {direction: "recvonly"});
  }
  pc.ontrack = (e) => { document.getElementById("remote").srcObject = e.streams[0] || new MediaStream([e.track]); };
  setInterval(async () => {
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") window.frames_ = r.framesDecoded || 0;
    });
  }, 200);
};
const complete = () => new Promise((resolve) => {
  if (pc.iceGatheringState === "complete") return resolve();
  pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
});
window.offer = async () => {
  await pc.setLocalDescription(await pc.createOffer()); await complete(); return pc.localDescription.sdp;
};
window.answer = async (sdp) => {
  await pc.setRemoteDescription({type: "offer", sdp});
  await pc.setLocalDescription(await pc.createAnswer()); await complete(); return pc.localDescription.sdp;
};
window.accept = async (sdp) => pc.setRemoteDescription({type: "answer", sdp});
</script></body></html>"""


def outage(link: Link) -> float:
    """Cut the link for OUTAGE_SECONDS; the moment it is back."""
    link.in_namespace("ip", "link", "set", link.client_side, "down")
    time.sleep(OUTAGE_SECONDS)
    link.in_namespace("ip", "link", "set", link.client_side, "up")
    return time.monotonic()


def until_frames(read, base: int, since: float, limit: float = 60) -> float:
    while read() < base + 10:
        if time.monotonic() - since > limit:
            return float("inf")
        time.sleep(0.05)
    return time.monotonic() - since


def platform_round(here, there, url, appointment_id, therapist_key, client_key, link) -> float:
    from django.conf import settings

    contexts = []
    pages = {}
    for role, browser, key in (("client", there, client_key), ("therapist", here, therapist_key)):
        context = browser.new_context()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": url}])
        contexts.append(context)
        pages[role] = context.new_page()
    client, therapist = pages["client"], pages["therapist"]
    try:
        client.goto(f"{url}/sessions/{appointment_id}/join/")
        client.wait_for_selector("#devices[data-state='ok']")
        client.get_by_label("Where are you right now?").select_option("US-NY")
        client.get_by_role("button", name="Go to the waiting room").click()
        therapist.goto(f"{url}/sessions/{appointment_id}/join/")
        therapist.wait_for_selector("#devices[data-state='ok']")
        therapist.get_by_role("button", name="Open the session").click()
        therapist.locator("#waiting-list button.admit").click(timeout=30_000)
        therapist.wait_for_selector(".tile[data-peer]:not([data-frames-decoded='0'])", timeout=30_000)

        def read() -> int:
            return int(therapist.locator(".tile[data-peer]").get_attribute("data-frames-decoded") or 0)

        back = outage(link)
        return until_frames(read, read(), back)
    finally:
        for context in contexts:
            context.close()


def baseline_round(here, there, url, link) -> float:
    contexts = [there.new_context(), here.new_context()]
    sender, receiver = (context.new_page() for context in contexts)
    try:
        for page in (sender, receiver):
            page.route(f"{url}/bare", lambda route: route.fulfill(body=BARE_PAGE, content_type="text/html"))
            page.goto(f"{url}/bare")
        sender.evaluate("() => window.start(true)")
        receiver.evaluate("() => window.start(false)")
        offer = sender.evaluate("() => window.offer()")
        answer = receiver.evaluate("(sdp) => window.answer(sdp)", offer)
        sender.evaluate("(sdp) => window.accept(sdp)", answer)

        def read() -> int:
            return int(receiver.evaluate("() => window.frames_"))

        until_frames(read, 0, time.monotonic(), 30)
        back = outage(link)
        return until_frames(read, read(), back)
    finally:
        for context in contexts:
            context.close()


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    return f"p50 {statistics.median(ordered):5.1f} s   max {ordered[-1]:5.1f} s"


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not REDIS_URL:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: this benchmark measures the production configuration.")
    if not can_make_namespaces():
        sys.exit("This needs root, ip, tc and nft (network namespaces).")
    ids, hosts, client_key = prepare_platform(ROUNDS)
    os.environ["REDIS_URL"] = REDIS_URL
    platform: list[float] = []
    baseline: list[float] = []
    from playwright.sync_api import sync_playwright

    with client_link() as link, tempfile.TemporaryDirectory() as folder:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        env["ALLOWED_HOSTS"] = f"{link.host_ip},127.0.0.1,localhost"
        server = subprocess.Popen(  # noqa: S603 - our own daphne
            [str(ROOT / ".venv/bin/daphne"), "-b", link.host_ip, "-p", str(port), "teletherapy.asgi:application"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://{link.host_ip}:{port}"
        try:
            wait_healthy(url, server)
            flags = [*CHROMIUM_FLAGS, secure_origin_flag(url)]
            with sync_playwright() as playwright:
                here = playwright.chromium.launch(executable_path=chromium_path(), args=flags)
                wrapper = chromium_in(link, chromium_path(), Path(folder))
                there = playwright.chromium.launch(executable_path=str(wrapper), args=flags)
                for appointment_id in ids:
                    baseline.append(baseline_round(here, there, url, link))
                    platform.append(
                        platform_round(here, there, url, appointment_id, hosts[appointment_id], client_key, link)
                    )
                here.close()
                there.close()
        finally:
            server.terminate()
            server.wait(10)
    print(f"{ROUNDS} outages of {OUTAGE_SECONDS} s each kind, interleaved; time from the link's return to 10 frames")
    print(f"two bare peer connections (baseline): {summary(baseline)}")
    print(f"the platform's call:                  {summary(platform)}")
    print(f"ratio of medians: {statistics.median(platform) / statistics.median(baseline):.2f}x")


if __name__ == "__main__":
    main()
