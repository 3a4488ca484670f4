"""In Chromium, with fake camera and microphone: a client checks their devices and connection,
confirms the privacy checklist and waits; the therapist admits them; they talk, chat and hang up."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest

from tests.browser import serious_violations, server_logs, sign_in_again, sign_needed, until

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    return problems


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}


def press(page, name: str) -> None:
    """A tap on a phone, a click elsewhere: as the person would, through More where the control
    is in its sheet."""
    touch = page.evaluate("() => navigator.maxTouchPoints > 0")
    button = page.get_by_role("button", name=name, exact=True)
    more = page.locator("#more-toggle")
    if not button.is_visible() and more.is_visible():
        more.tap() if touch else more.click()
        button.wait_for(state="visible")
    button.tap() if touch else button.click()


def _in_reach(page, controls) -> list[str]:
    viewport = page.viewport_size
    boxes: list[tuple[str, dict]] = []
    for control in controls:
        box = control.bounding_box()
        name = control.inner_text()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1, name
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 1, name
        assert box["height"] >= 32 and box["width"] >= 32, name  # big enough for a finger
        for other, seen in boxes:
            overlap_x = min(box["x"] + box["width"], seen["x"] + seen["width"]) - max(box["x"], seen["x"])
            overlap_y = min(box["y"] + box["height"], seen["y"] + seen["height"]) - max(box["y"], seen["y"])
            assert overlap_x <= 1 or overlap_y <= 1, (name, other)
        boxes.append((name, box))
    return [name for name, _ in boxes]


def controls_in_reach(page, *, phone: bool) -> None:
    """The call fills the screen with nothing to scroll: the other side large, and every control
    inside the viewport, none covering another. On a phone the bar is one row and the rest are
    one tap away, in More's sheet."""
    viewport = page.viewport_size
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    remote = page.locator(".tile[data-peer]").bounding_box()
    assert remote["width"] >= 0.6 * viewport["width"] and remote["height"] >= 0.6 * viewport["height"], remote
    bar = _in_reach(page, page.locator(".controls > button:visible").all())
    more = page.locator("#more-toggle")
    assert more.is_visible()
    if not phone:
        # One row of icons with short words; More opens a menu above it, and the therapist's
        # Leave a menu of its own with Hang up and End for everyone.
        rows = {
            round(page.locator(f".controls > button:visible >> nth={i}").bounding_box()["y"]) for i in range(len(bar))
        }
        assert len(rows) == 1, "the bar wraps"
        assert bar[:4] == ["Mute", "Turn camera off", "Share screen", "Chat"], bar
        assert bar[-1] in ("Hang up", "Leave"), bar
        more.click()
        menu = _in_reach(page, page.locator(".more-controls > button:visible").all())
        page.keyboard.press("Escape")
        leave = []
        if bar[-1] == "Leave":
            page.locator("#leave-toggle").click()
            leave = _in_reach(page, page.locator(".leave-menu > button:visible").all())
            assert leave == ["Hang up", "End for everyone"], leave
            page.keyboard.press("Escape")
        assert len(bar + menu + leave) >= 12, bar + menu + leave
        return
    rows = {round(page.locator(f".controls > button:visible >> nth={i}").bounding_box()["y"]) for i in range(len(bar))}
    assert len(rows) == 1, "the bar wraps"
    assert bar[-1] == "Hang up" and {"Mute", "Turn camera off", "Chat", "More"} <= set(bar), bar
    more.tap()
    assert more.get_attribute("aria-expanded") == "true"
    sheet = _in_reach(page, page.locator(".more-controls > button:visible").all())
    assert len(bar + sheet) >= 12, bar + sheet
    assert page.evaluate("() => document.activeElement.id") == "audio-only"
    page.keyboard.press("Escape")
    assert not page.locator("#audio-only").is_visible()
    assert page.evaluate("() => document.activeElement.id") == "more-toggle"


def walk_controls(actor, observer, greeting: str) -> None:
    """Every control of the call screen, pressed by ``actor``; what the other side is shown."""
    seen = observer.locator(".tile[data-peer]")
    mute = actor.locator("#mute")
    press(actor, "Mute")
    assert mute.get_attribute("aria-pressed") == "true" and mute.text_content() == "Unmute"
    seen.locator(".badge-muted", has_text="Muted").wait_for()
    camera = actor.locator("#camera-toggle")
    press(actor, "Turn camera off")
    assert camera.get_attribute("aria-pressed") == "true" and camera.text_content() == "Turn camera on"
    # A name instead of a black tile.
    observer.wait_for_selector(".tile[data-peer][data-camera='off']")
    assert "Camera off" in seen.locator(".badges").inner_text()
    press(actor, "Turn camera on")
    press(actor, "Unmute")
    observer.wait_for_selector(".tile[data-peer][data-camera='on'][data-muted='false']")
    # Sharing the screen (Chromium's fake capture).
    press(actor, "Share screen")
    actor.wait_for_selector("#share[aria-pressed='true']", state="attached")
    seen.locator(".badge-sharing", has_text="Sharing their screen").wait_for()
    press(actor, "Stop sharing")
    observer.wait_for_selector(".tile[data-peer] .badges:not(:has(.badge-sharing))", state="attached")

    # Camera and microphone can be changed inside the call (Chromium's fake devices), and what the
    # person chose stays: a muted microphone stays muted on the new one.
    press(actor, "Mute")
    press(actor, "Devices")
    panel = actor.locator("#devices-panel")
    panel.wait_for(state="visible")
    assert actor.locator("#devices-toggle").get_attribute("aria-expanded") == "true"
    box, viewport = panel.bounding_box(), actor.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 1
    microphones = actor.locator("#call-microphone option")
    assert microphones.count() >= 1 and actor.locator("#call-camera option").count() >= 1
    actor.locator("#call-microphone").select_option(index=microphones.count() - 1)
    actor.wait_for_timeout(500)
    assert actor.evaluate("document.getElementById('self-view').srcObject.getAudioTracks()[0].enabled") is False
    actor.locator("#devices-close").click()
    assert not panel.is_visible()
    press(actor, "Unmute")

    # Audio only, by choice: the other side is told, and stops sending video to this side too.
    press(actor, "Audio only")
    seen.locator(".badge-audioOnly", has_text="Audio only").wait_for()
    observer.wait_for_selector(".tile[data-peer][data-camera='off']")
    arriving = actor.locator(".tile[data-peer]")
    actor.wait_for_timeout(1500)
    before = int(arriving.get_attribute("data-frames-decoded"))
    actor.wait_for_timeout(2000)
    assert int(arriving.get_attribute("data-frames-decoded")) <= before + 2
    press(actor, "Back to video")
    observer.wait_for_selector(".tile[data-peer][data-camera='on']")
    for _ in range(50):
        if int(arriving.get_attribute("data-frames-decoded")) > before + 10:
            break
        actor.wait_for_timeout(200)
    assert int(arriving.get_attribute("data-frames-decoded")) > before + 10
    press(actor, "Low bandwidth")
    seen.locator(".badge-lowBandwidth", has_text="Low bandwidth").wait_for()
    press(actor, "Low bandwidth")
    observer.wait_for_selector(".tile[data-peer] .badges:not(:has(.badge-lowBandwidth))", state="attached")

    # Chat in a side panel (a sheet from the bottom on a phone); a message arriving while it is
    # closed is counted on the other side's button.
    press(actor, "Chat")
    sheet, viewport = actor.locator("#chat-panel").bounding_box(), actor.viewport_size
    assert sheet["x"] >= 0 and sheet["x"] + sheet["width"] <= viewport["width"] + 1
    assert sheet["y"] + sheet["height"] <= viewport["height"] + 1
    actor.get_by_label("Message").fill(greeting)
    actor.get_by_role("button", name="Send").click()
    observer.get_by_role("button", name=re.compile(r"^Chat \(1 new\)$")).click()
    observer.locator("#chat-log li", has_text=greeting).wait_for()
    observer.locator("#chat-close").click()
    actor.locator("#chat-close").click()

    # Your own view moves to another corner at a tap; full screen and picture in picture.
    corner = actor.locator(".tile.self").get_attribute("data-corner")
    press(actor, "Move your own view to another corner")
    assert actor.locator(".tile.self").get_attribute("data-corner") != corner
    press(actor, "Full screen")
    until(actor, "() => document.fullscreenElement?.id === 'call'")
    press(actor, "Full screen")
    until(actor, "() => !document.fullscreenElement")
    if actor.evaluate("document.pictureInPictureEnabled"):
        press(actor, "Picture in picture")
        until(actor, "() => document.pictureInPictureElement !== null")
        press(actor, "Picture in picture")
        until(actor, "() => document.pictureInPictureElement === null")
    # The security code is one tap away.
    press(actor, "Security code")
    assert actor.locator(".tile[data-peer] .security-code").is_visible()
    press(actor, "Security code")
    assert not actor.locator(".tile[data-peer] .security-code").is_visible()


def until_true(predicate, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.25)


def test_a_video_session_from_waiting_room_to_hang_up(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    # Dr. Santos signs in first (her second step may wait for a fresh code), then stays on another page.
    therapist_context = browser.new_context()
    therapist = therapist_context.new_page()
    therapist_problems = _watch(therapist)
    sign_in_again(therapist, server, "therapist2@riverside.example")
    therapist.goto(f"{server.url}/records/charts/")
    client_context = browser.new_context(**PHONE)  # Morgan joins from a phone
    client = client_context.new_page()
    client_problems = _watch(client)
    # Morgan's signaling socket passes through the test, which can cut it as a network would.
    sockets, held, unreachable = [], [], []

    def through(route):
        if unreachable:  # opens here, but nothing behind it answers
            held.append(route)
            return
        route.connect_to_server()
        sockets.append(route)

    client.route_web_socket(re.compile(r"/ws/sessions/"), through)
    sign_in_again(client, server, "morgan@riverside.example")

    # Morgan has signed nothing yet: joining leads to both consents first.
    client.goto(f"{server.url}/sessions/")
    client.get_by_role("link", name="Join").click()
    sign_needed(client, "Morgan Reyes", ["Consent to treatment", "Consent to telehealth technology"])
    client.wait_for_url("**/join/")  # signed, back to where Join left off

    # Device check: the preview plays and the pickers list the fake devices.
    client.wait_for_selector("#devices[data-state='ok']")
    assert client.locator("#camera option").count() >= 1 and client.locator("#microphone option").count() >= 1
    # The connection check against the server's echo peer runs by itself once the camera is on.
    client.wait_for_selector("#test-result[data-state]", timeout=30_000)
    assert client.locator("#test-result").get_attribute("data-state") == "ok", client.locator(
        "#test-result"
    ).text_content()
    assert int(client.locator("#test-result").get_attribute("data-rtt")) >= 0
    # The privacy checklist and where Morgan is: each box beside its label, and an error that
    # goes once it is put right.
    for box_id in ("private-device", "private-network", "private-space"):
        box, label = client.evaluate(
            """(id) => [document.getElementById(id), document.querySelector(`label[for='${id}']`)].map((el) => {
                const r = el.getBoundingClientRect();
                return { x: r.x, y: r.y, width: r.width, height: r.height };
            })""",
            box_id,
        )  # both at once: the page above may still be settling
        assert box["x"] + box["width"] <= label["x"] and abs(box["y"] - label["y"]) < label["height"], (box, label)
    client.get_by_role("button", name="I'm ready").click()
    client.locator("#check-in-error", has_text="Choose where you are.").wait_for()
    client.get_by_label("Where are you right now?").select_option("US-NY")
    client.locator("#check-in-error").wait_for(state="hidden")
    assert client.get_by_label("Where are you right now?").get_attribute("aria-invalid") is None
    client.get_by_label("I'm on my own device").check()
    client.get_by_label("I'm on a private network").check()
    client.get_by_label("No one can overhear me").check()
    client.get_by_label("Where are you right now?").select_option("US-NY")
    client.get_by_role("button", name="I'm ready").click()
    client.wait_for_selector("#waiting-message", state="visible")
    problems = {"waiting room": serious_violations(client)}
    client.screenshot(path=str(ARTIFACTS / "video-waiting.png"), full_page=True)

    # The therapist is on another page when Morgan checks in: a banner and a count tell her at once.
    banner = therapist.locator("#presence-banner")
    banner.wait_for(state="visible", timeout=15_000)
    assert re.fullmatch(
        r"A client is waiting for your \d{1,2}:\d\d session\.", therapist.locator("#presence-text").inner_text()
    )
    assert "Morgan" not in banner.inner_text()
    assert therapist.locator('nav a[href="/sessions/"] .count').inner_text() == "1"
    therapist.get_by_role("link", name="Open the session").click()
    therapist.wait_for_url("**/join/")
    therapist.wait_for_selector("#devices[data-state='ok']")
    therapist.get_by_role("button", name="Open the session").click()
    entry = therapist.locator("#waiting-list li", has_text="Morgan Reyes")
    entry.wait_for()
    assert "New York" in entry.text_content() and "3 of 3" in entry.text_content()
    problems["waiting list (therapist)"] = serious_violations(therapist)
    assert not entry.locator(".license-warning").count()
    # While Morgan waits, her page has the connection to whoever admits her ready, offer made.
    client.wait_for_selector("body[data-prepared='ready']", state="attached")
    prepared_ufrag = client.locator("body").get_attribute("data-prepared-ufrag")
    assert prepared_ufrag
    therapist.get_by_role("button", name="Admit Morgan Reyes").click()

    for page in (client, therapist):
        page.wait_for_selector(".tile[data-state='connected']", timeout=30_000)
        # Decoded video frames are counted by the page from getStats (no eval under the CSP).
        page.wait_for_selector(".tile[data-peer]:not([data-frames-decoded='0'])", timeout=30_000)
        assert int(page.locator(".tile[data-peer]").get_attribute("data-frames-decoded")) > 0
        page.wait_for_selector(".security-code[data-code]", state="attached")
    # The offer Dr. Santos answered is the one Morgan's page made while waiting.
    assert client.locator("body").get_attribute("data-prepared") == "used"
    assert therapist.locator(".tile[data-peer]").get_attribute("data-remote-ufrag") == prepared_ufrag
    # The call fills the screen: the set-up cards and the site's header are gone, the other side
    # is large, and every control is in view, none covering another. The therapist is at a
    # desk, Morgan on a phone (portrait, then landscape).
    assert not therapist.locator("header.top").is_visible() and not therapist.locator("#devices").is_visible()
    assert not client.locator("header.top").is_visible() and not client.locator("#devices").is_visible()
    controls_in_reach(therapist, phone=False)
    controls_in_reach(client, phone=True)
    client.screenshot(path=str(ARTIFACTS / "video-call-phone.png"))
    client.set_viewport_size({"width": 844, "height": 390})
    controls_in_reach(client, phone=True)
    client.locator("#more-toggle").tap()
    client.screenshot(path=str(ARTIFACTS / "video-call-phone-more.png"))
    problems["in the call, More open (client, phone)"] = serious_violations(client)
    client.locator("#more-toggle").tap()
    client.screenshot(path=str(ARTIFACTS / "video-call-phone-landscape.png"))
    client.set_viewport_size(PHONE["viewport"])
    problems["in the call (therapist)"] = serious_violations(therapist)
    problems["in the call (client, phone)"] = serious_violations(client)
    codes = {p.locator(".security-code").get_attribute("data-code") for p in (client, therapist)}
    assert len(codes) == 1 and len(codes.pop()) == 7
    assert therapist.locator(".tile[data-peer] .state").text_content() == "Connected"

    # Every control, each side in turn, and what the other side is shown of it.
    walk_controls(therapist, client, "Hello from Dr. Santos")
    walk_controls(client, therapist, "Hello from Morgan")

    # Each reads the code aloud and confirms it matches: once both have, each tile says so.
    press(therapist, "Security code")
    therapist.get_by_role("button", name="Same code on both screens").click()
    press(therapist, "Security code")
    therapist.wait_for_timeout(500)
    assert not therapist.locator(".badge-verified").count()  # one side's word is not enough
    press(client, "Security code")
    client.get_by_role("button", name="Same code on both screens").tap()
    press(client, "Security code")
    for page in (therapist, client):
        page.locator(".tile[data-peer] .badge-verified", has_text="Encrypted, code verified").wait_for()
    therapist.screenshot(path=str(ARTIFACTS / "video-call-therapist.png"), full_page=True)

    # The network comes back after a change: the side that offered restarts ICE, renegotiating
    # through the signaling socket, and video keeps arriving.
    remote_ufrag_before = therapist.locator(".tile[data-peer]").get_attribute("data-remote-ufrag")
    frames_before = int(therapist.locator(".tile[data-peer]").get_attribute("data-frames-decoded"))
    client.evaluate("() => window.dispatchEvent(new Event('online'))")
    client.wait_for_selector(".tile[data-peer][data-ice-restarts='1']")
    therapist.wait_for_selector(f".tile[data-peer]:not([data-remote-ufrag='{remote_ufrag_before}'])")
    therapist.wait_for_selector(".tile[data-peer][data-state='connected']")
    for _ in range(50):
        if int(therapist.locator(".tile[data-peer]").get_attribute("data-frames-decoded")) > frames_before + 10:
            break
        therapist.wait_for_timeout(200)
    assert int(therapist.locator(".tile[data-peer]").get_attribute("data-frames-decoded")) > frames_before + 10

    # The signaling connection drops: Morgan's page reconnects on its own and, within the grace
    # period, goes straight back into the call without being admitted again.
    ufrag_kept = therapist.locator(".tile[data-peer]").get_attribute("data-remote-ufrag")
    unreachable.append(True)
    sockets[-1].close(code=4999, reason="network gone")
    client.wait_for_selector("body[data-reconnecting='true']")
    client.locator("#call-status", has_text="Reconnecting").wait_for()
    until(client, "() => document.querySelector('#call-status').getAttribute('aria-live') === 'polite'")
    for _ in range(100):
        if held:
            break
        client.wait_for_timeout(100)
    assert held, "the page did not try to connect again"
    problems["reconnecting (client, phone)"] = serious_violations(client)
    # The therapist sees Morgan's place kept, marked as reconnecting, not a departure.
    therapist.locator(".tile.away", has_text="Reconnecting").wait_for()
    therapist.locator("#call-status", has_text="Morgan Reyes is reconnecting").wait_for()
    problems["other side reconnecting (therapist)"] = serious_violations(therapist)
    unreachable.clear()
    held[-1].close(code=4999, reason="still gone")
    client.wait_for_selector("body[data-reconnections='1']", timeout=30_000)
    therapist.locator("#call-status", has_text="Morgan Reyes is back.").wait_for()
    assert not therapist.locator(".tile.away").count()
    # Media never depended on the signaling socket: both sides kept the same connection (the same
    # ICE session, nothing renegotiated) and took it up again under Morgan's new peer id.
    assert therapist.locator(".tile[data-peer]").count() == 1
    assert therapist.locator(".tile[data-peer]").get_attribute("data-remote-ufrag") == ufrag_kept
    assert therapist.locator(".tile[data-peer]").get_attribute("data-state") == "connected"
    assert len(sockets) >= 2
    for page in (client, therapist):
        page.wait_for_selector(".tile[data-peer][data-state='connected']", timeout=30_000)
    assert not therapist.locator("#waiting-list li").count()

    client.get_by_role("button", name="Hang up").click()
    client.locator("#ended-text", has_text="You left the session.").wait_for()
    therapist.get_by_text("Morgan Reyes left the call.").wait_for()
    assert not therapist.locator(".tile[data-peer]").count()
    # A way back in while the session is open; focus moves to what happened.
    assert client.evaluate("document.activeElement.id") == "ended-h"
    problems["ended (client)"] = serious_violations(client)
    client.get_by_role("link", name="Rejoin").click()
    client.wait_for_selector("#devices[data-state='ok']")
    # Back within the grace period: straight into the call, with no second admission.
    client.get_by_label("I'm on my own device").check()
    client.get_by_label("I'm on a private network").check()
    client.get_by_label("No one can overhear me").check()
    client.get_by_label("Where are you right now?").select_option("US-NY")
    client.get_by_role("button", name="I'm ready").click()
    for page in (client, therapist):
        page.wait_for_selector(".tile[data-peer][data-state='connected']", timeout=30_000)
    # Audio only for a moment, and back: the server hears which medium the session is in.
    appointment_id = re.search(r"/sessions/([0-9a-f-]{36})/join/", client.url).group(1).replace("-", "")
    database = sqlite3.connect(server.data_dir / "teletherapy.sqlite3", timeout=30)
    medium = "SELECT audio_only FROM video_mediumchange WHERE appointment_id = ? ORDER BY at, id"
    heard = len(database.execute(medium, (appointment_id,)).fetchall())
    for pressed in ("true", "false"):
        if not therapist.locator("#audio-only").is_visible():
            therapist.locator("#more-toggle").click()
        therapist.locator("#audio-only").click()
        until_true(lambda want=pressed: therapist.locator("#audio-only").get_attribute("aria-pressed") == want)
    until_true(lambda: [row[0] for row in database.execute(medium, (appointment_id,))][heard:] == [1, 0])
    # As if Morgan had been in the call for 40 minutes: the charge drafted at the end meets 90834.
    with database:
        database.execute(
            "UPDATE video_admission SET admitted_at = datetime(admitted_at, '-40 minutes') WHERE appointment_id = ?",
            (appointment_id,),
        )
    # The therapist ends it for everyone: each side is told in its own words, and nobody rejoins.
    therapist.once("dialog", lambda dialog: dialog.accept())
    therapist.get_by_role("button", name="Leave").click()
    therapist.get_by_role("button", name="End for everyone").click()
    therapist.locator("#ended-text", has_text="You ended the session for everyone.").wait_for()
    client.locator("#ended-text", has_text="Your therapist ended the session.").wait_for()
    assert not client.get_by_role("link", name="Rejoin").is_visible()
    # The worker drafts the session's charge: the minutes connected, held by video (95).
    charge = "SELECT cpt_code, modifier, place_of_service, status FROM records_billingrecord WHERE appointment_id = ?"
    until_true(lambda: database.execute(charge, (appointment_id,)).fetchone() is not None, seconds=60)
    assert database.execute(charge, (appointment_id,)).fetchone() == ("90834", "95", "10", "draft")
    database.close()
    problems["ended for everyone (therapist)"] = serious_violations(therapist)
    problems["ended for everyone (client)"] = serious_violations(client)
    assert not any(problems.values()), problems  # axe-core: nothing serious or critical in any state
    assert not [p for p in client_problems + therapist_problems if "Content Security Policy" in p]
    client_context.close()
    therapist_context.close()
    # Hang-ups, drops and an end for everyone: sockets closing normally leave no traceback.
    log = server_logs(server)
    assert "Traceback" not in log, log[log.index("Traceback") - 300 : log.index("Traceback") + 3000]
