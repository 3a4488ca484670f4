"""Join to connected: two headless Chromium peers on loopback, from the therapist's click on
"Admit" (the click as the therapist's page receives it) to both sides showing connectionState
"connected" and a decoded video frame from the other (fake camera). The time from Playwright's
click call is shown too: it adds the driver's own checks before the click (about two frames).
Baseline in the same run: two bare RTCPeerConnections in one page, from createOffer to the same
two conditions.

The platform runs as in production (daphne, PostgreSQL, the Redis channel layer):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/teletherapy_bench \\
    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python benchmarks/join_connected.py

BENCH_ROUNDS sets the number of calls of each kind (default 15). Each round also makes the same
call with the client on a phone viewport (390 x 844, touch), since clients mostly join on phones.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.signaling_relay import REDIS_URL, prepare_platform  # noqa: E402
from tests.browser import CHROMIUM_FLAGS, chromium_path, free_port, wait_healthy  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))

BASELINE_PAGE = """<!doctype html><html><body>
<video id="remote" autoplay muted playsinline></video>
<script>
window.runCall = async () => {
  const start = performance.timeOrigin + performance.now();
  const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const video = document.getElementById("remote");
  const remote = new MediaStream();
  b.ontrack = (e) => { remote.addTrack(e.track); video.srcObject = remote; };
  const frame = new Promise((resolve) => video.requestVideoFrameCallback(() =>
    resolve(performance.timeOrigin + performance.now())));
  const connected = (pc) => new Promise((resolve) => {
    const check = () => pc.connectionState === "connected" && resolve(performance.timeOrigin + performance.now());
    pc.addEventListener("connectionstatechange", check); check();
  });
  const started = performance.timeOrigin + performance.now();
  stream.getTracks().forEach((t) => a.addTrack(t, stream));
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  const done = Math.max(await connected(a), await connected(b), await frame);
  a.close(); b.close(); stream.getTracks().forEach((t) => t.stop());
  return done - started;
};
</script></body></html>"""


# Where the time between "Admit" and the call goes: the signaling messages each page sends and
# receives, as the browser reports them, in ms after the click (the median over the calls).
MILESTONES = (
    ("therapist sends admit", "therapist", "sent", "admit"),
    ("client hears admitted", "client", "received", "admitted"),
    ("therapist hears peer-joined", "therapist", "received", "peer-joined"),
    ("client hears peer-joined", "client", "received", "peer-joined"),
    ("first offer sent", "", "sent", "offer"),
    ("first offer received", "", "received", "offer"),
    ("first answer sent", "", "sent", "answer"),
    ("first answer received", "", "received", "answer"),
    ("first candidate received", "", "received", "ice"),
)
TIMELINE: dict[str, list[float]] = {}


def watch_signaling(page: object, side: str, seen: list[tuple[float, str, str, str]]) -> None:
    import json

    def frames(socket: object) -> None:
        if "/ws/sessions/" not in socket.url:  # type: ignore[attr-defined]
            return
        for direction in ("sent", "received"):

            def note(payload: str | bytes, direction: str = direction) -> None:
                try:
                    kind = json.loads(payload).get("type", "")
                except ValueError:
                    return
                seen.append((time.time() * 1000, side, direction, kind))

            socket.on(f"frame{direction}", note)  # type: ignore[attr-defined]

    page.on("websocket", frames)  # type: ignore[attr-defined]


# The moment the page receives the click on Admit, recorded by a listener of the benchmark's own.
CLICK_WATCH = """() => document.addEventListener("click", (event) => {
  if (event.target.closest("button.admit")) {
    document.body.dataset.benchAdmitAt = String(performance.timeOrigin + event.timeStamp);
  }
}, true)"""

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def platform_call(
    browser: object, url: str, appointment_id: str, therapist_key: str, client_key: str, *, phone: bool = False
) -> tuple[float, float]:
    """Milliseconds to connected from the click event and from Playwright's click call."""
    from django.conf import settings

    client_context = browser.new_context(**(PHONE if phone else {}))  # type: ignore[attr-defined]
    therapist_context = browser.new_context()  # type: ignore[attr-defined]
    for context, key in ((client_context, client_key), (therapist_context, therapist_key)):
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": url}])
    client, therapist = client_context.new_page(), therapist_context.new_page()
    seen: list[tuple[float, str, str, str]] = []
    watch_signaling(client, "client", seen)
    watch_signaling(therapist, "therapist", seen)
    try:
        client.goto(f"{url}/sessions/{appointment_id}/join/")
        client.wait_for_selector("#devices[data-state='ok']")
        client.get_by_label("Where are you right now?").select_option("US-NY")
        client.get_by_role("button", name="Go to the waiting room").click()
        client.wait_for_selector("#waiting-message", state="visible")
        therapist.goto(f"{url}/sessions/{appointment_id}/join/")
        therapist.wait_for_selector("#devices[data-state='ok']")
        therapist.get_by_role("button", name="Open the session").click()
        admit = therapist.locator("#waiting-list button.admit")
        admit.wait_for()
        therapist.evaluate(CLICK_WATCH)
        client.wait_for_selector("body[data-prepared='ready']", state="attached")
        clicked = time.time() * 1000
        admit.click()
        done = 0.0
        for page in (client, therapist):
            tile = page.locator(".tile[data-peer][data-connected-at][data-first-frame-at]")
            tile.wait_for(timeout=30_000)
            done = max(
                done, float(tile.get_attribute("data-connected-at")), float(tile.get_attribute("data-first-frame-at"))
            )
        for label, side, direction, kind in MILESTONES:
            times = [
                t for t, s, d, k in seen if k == kind and d == direction and (not side or s == side) and t >= clicked
            ]
            if times:
                TIMELINE.setdefault(label, []).append(min(times) - clicked)
        TIMELINE.setdefault("connected, with a frame, on both", []).append(done - clicked)
        event_at = float(therapist.locator("body").get_attribute("data-bench-admit-at"))
        TIMELINE.setdefault("(the page receives the click)", []).append(event_at - clicked)
        client.get_by_role("button", name="Hang up").click()
        return done - event_at, done - clicked
    finally:
        client_context.close()
        therapist_context.close()


def baseline_call(browser: object, url: str) -> float:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.route(f"{url}/baseline", lambda route: route.fulfill(body=BASELINE_PAGE, content_type="text/html"))
    page.goto(f"{url}/baseline")
    elapsed = float(page.evaluate("() => window.runCall()"))
    context.close()
    return elapsed


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    return f"p50 {statistics.median(ordered):6.0f} ms   p90 {ordered[int(len(ordered) * 0.9) - 1]:6.0f} ms"


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not REDIS_URL:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL: this benchmark measures the production configuration.")
    # Each call its own appointment: a client back in the same one within the rejoin grace
    # period would go straight in, with no "Admit" to time.
    ids, hosts, client_key = prepare_platform(ROUNDS * 2)
    os.environ["REDIS_URL"] = REDIS_URL
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    server = subprocess.Popen(  # noqa: S603 - our own daphne
        [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "teletherapy.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    platform: list[float] = []
    baseline: list[float] = []
    phone: list[float] = []
    from_call: list[float] = []
    try:
        wait_healthy(url, server)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
            baseline_call(browser, url)  # warm-up: codecs, fake devices
            for desktop_id, phone_id in zip(ids[:ROUNDS], ids[ROUNDS:], strict=True):
                baseline.append(baseline_call(browser, url))
                desktop_ms, call_ms = platform_call(browser, url, desktop_id, hosts[desktop_id], client_key)
                platform.append(desktop_ms)
                from_call.append(call_ms)
                phone.append(platform_call(browser, url, phone_id, hosts[phone_id], client_key, phone=True)[0])
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"{ROUNDS} calls of each kind, interleaved")
    print(f"two bare peer connections in one page (baseline): {summary(baseline)}")
    print(f"admit to connected with a decoded frame:          {summary(platform)}")
    print(f"the same, the client on a phone viewport:         {summary(phone)}")
    print(f"desktop, from Playwright's click call:            {summary(from_call)}")
    print("where the time goes, ms after Playwright's click call (median over all calls):")
    for label, values in TIMELINE.items():
        print(f"  {label:<34} {statistics.median(values):6.0f}")
    for name, values in (("desktop", platform), ("phone", phone)):
        ratio = statistics.median(values) / statistics.median(baseline)
        met = statistics.median(values) < 500
        print(f"{name}: ratio of medians {ratio:.2f}x   goals: p50 < 500 ms: {met}; <= 1.5x: {ratio <= 1.5}")


if __name__ == "__main__":
    main()
