"""In Chromium, with fake camera and microphone: a client checks their devices and connection,
confirms the privacy checklist and waits; the therapist admits them; they talk, chat and hang up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import serious_violations, sign_consent, sign_in_again

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def until(page, predicate: str, seconds: float = 10) -> None:
    """Poll a condition in the page (wait_for_function would need eval, which the CSP refuses)."""
    for _ in range(int(seconds * 10)):
        if page.evaluate(predicate):
            return
        page.wait_for_timeout(100)
    raise AssertionError(predicate)


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    return problems


def test_a_video_session_from_waiting_room_to_hang_up(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    client_context = browser.new_context()
    client = client_context.new_page()
    client_problems = _watch(client)
    # Morgan's signaling socket passes through the test, which can cut it as a network would.
    sockets = []

    def through(route):
        route.connect_to_server()
        sockets.append(route)

    client.route_web_socket(re.compile(r"/ws/sessions/"), through)
    sign_in_again(client, server, "morgan@riverside.example")

    # Morgan has signed nothing yet: joining leads to both consents first.
    client.goto(f"{server.url}/sessions/")
    client.get_by_role("link", name="Join").click()
    client.wait_for_url("**/consent/")
    client.locator("tr[data-kind='treatment']").get_by_role("link", name="Read and sign").click()
    sign_consent(client, "Consent to treatment", "Morgan Reyes")
    client.wait_for_url("**/consent/versions/**/sign/**")
    sign_consent(client, "Consent to telehealth technology", "Morgan Reyes")
    client.wait_for_url("**/consent/")

    therapist_context = browser.new_context()
    therapist = therapist_context.new_page()
    therapist_problems = _watch(therapist)
    sign_in_again(therapist, server, "therapist2@riverside.example")
    therapist.goto(f"{server.url}/records/charts/")

    client.goto(f"{server.url}/sessions/")
    client.get_by_role("link", name="Join").click()
    client.wait_for_url("**/join/")
    # Device check: the preview plays and the pickers list the fake devices.
    client.wait_for_selector("#devices[data-state='ok']")
    assert client.locator("#camera option").count() >= 1 and client.locator("#microphone option").count() >= 1
    # Connection test against the server's echo peer.
    client.get_by_role("button", name="Test my connection").click()
    client.wait_for_selector("#test-result[data-state]", timeout=30_000)
    assert client.locator("#test-result").get_attribute("data-state") == "ok", client.locator(
        "#test-result"
    ).text_content()
    assert int(client.locator("#test-result").get_attribute("data-rtt")) >= 0
    # The privacy checklist and where Morgan is.
    client.get_by_label("I am on a personal device").check()
    client.get_by_label("I am on a private, password-protected network").check()
    client.get_by_label("I am somewhere private").check()
    client.get_by_label("Where are you right now?").select_option("US-NY")
    client.get_by_role("button", name="Go to the waiting room").click()
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
    assert not entry.locator(".license-warning").count()
    therapist.get_by_role("button", name="Admit Morgan Reyes").click()

    for page in (client, therapist):
        page.wait_for_selector(".tile[data-state='connected']", timeout=30_000)
        # Decoded video frames are counted by the page from getStats (no eval under the CSP).
        page.wait_for_selector(".tile[data-peer]:not([data-frames-decoded='0'])", timeout=30_000)
        assert int(page.locator(".tile[data-peer]").get_attribute("data-frames-decoded")) > 0
        page.wait_for_selector(".security-code[data-code]", state="attached")
    # The call fills the screen: the set-up cards and the site's header are gone, the other side
    # is large, and every control is in view without scrolling.
    viewport = therapist.viewport_size
    assert not therapist.locator("header.top").is_visible() and not therapist.locator("#devices").is_visible()
    remote = therapist.locator(".tile[data-peer]").bounding_box()
    assert remote["width"] > 0.6 * viewport["width"]
    for control in ("#mute", "#camera-toggle", "#share", "#chat-toggle", "#code-toggle", "#hangup", "#end"):
        box = therapist.locator(control).bounding_box()
        assert box and box["y"] + box["height"] <= viewport["height"], control
    problems["in the call (therapist)"] = serious_violations(therapist)
    problems["in the call (client)"] = serious_violations(client)
    # Your own view moves to another corner at a tap; full screen and picture in picture.
    therapist.get_by_role("button", name="Move your own view to another corner").click()
    assert therapist.locator(".tile.self").get_attribute("data-corner") == "bottom-left"
    therapist.get_by_role("button", name="Full screen").click()
    until(therapist, "() => document.fullscreenElement?.id === 'call'")
    therapist.get_by_role("button", name="Full screen").click()
    until(therapist, "() => !document.fullscreenElement")
    if therapist.get_by_role("button", name="Picture in picture").is_visible():
        therapist.get_by_role("button", name="Picture in picture").click()
        until(therapist, "() => document.pictureInPictureElement !== null")
        therapist.get_by_role("button", name="Picture in picture").click()
        until(therapist, "() => document.pictureInPictureElement === null")
    # The security code is one tap away.
    therapist.get_by_role("button", name="Security code").click()
    assert therapist.locator(".tile[data-peer] .security-code").is_visible()
    therapist.get_by_role("button", name="Security code").click()
    # On a phone, the same: the other side fills the screen, the controls in a bar at the bottom.
    client.set_viewport_size({"width": 390, "height": 844})
    assert client.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    hangup = client.locator("#hangup").bounding_box()
    assert hangup["y"] + hangup["height"] <= 844
    client.screenshot(path=str(ARTIFACTS / "video-call-phone.png"))
    client.set_viewport_size({"width": 1280, "height": 720})
    codes = {p.locator(".security-code").get_attribute("data-code") for p in (client, therapist)}
    assert len(codes) == 1 and len(codes.pop()) == 7
    assert therapist.locator(".tile[data-peer] .state").text_content() == "Connected"

    # Each side sees the other's state: muted, camera off (a name instead of a black tile),
    # sharing the screen (Chromium's fake capture).
    seen = therapist.locator(".tile[data-peer]")
    mute = client.locator("#mute")
    mute.click()
    assert mute.get_attribute("aria-pressed") == "true" and mute.text_content() == "Unmute"
    seen.locator(".badge-muted", has_text="Muted").wait_for()
    camera = client.locator("#camera-toggle")
    camera.click()
    assert camera.get_attribute("aria-pressed") == "true" and camera.text_content() == "Turn camera on"
    therapist.wait_for_selector(".tile[data-peer][data-camera='off']")
    assert "Camera off" in seen.locator(".badges").inner_text()
    camera.click()
    mute.click()
    therapist.wait_for_selector(".tile[data-peer][data-camera='on'][data-muted='false']")
    client.get_by_role("button", name="Share screen").click()
    client.wait_for_selector("#share[aria-pressed='true']")
    seen.locator(".badge-sharing", has_text="Sharing their screen").wait_for()
    client.get_by_role("button", name="Stop sharing").click()
    therapist.wait_for_selector(".tile[data-peer] .badges:not(:has(.badge-sharing))", state="attached")

    # Camera and microphone can be changed inside the call (Chromium's fake devices), and what the
    # person chose stays: a muted microphone stays muted on the new one.
    mute.click()
    client.get_by_role("button", name="Devices").click()
    microphones = client.locator("#call-microphone option")
    assert microphones.count() >= 1 and client.locator("#call-camera option").count() >= 1
    client.locator("#call-microphone").select_option(index=microphones.count() - 1)
    client.wait_for_timeout(500)
    assert client.evaluate("document.getElementById('self-view').srcObject.getAudioTracks()[0].enabled") is False
    client.get_by_role("button", name="Close").first.click()
    mute.click()

    # Audio only, by choice: the other side is told, and stops sending video to this side too.
    client.get_by_role("button", name="Audio only").click()
    seen.locator(".badge-audioOnly", has_text="Audio only").wait_for()
    therapist.wait_for_selector(".tile[data-peer][data-camera='off']")
    arriving = client.locator(".tile[data-peer]")
    client.wait_for_timeout(1500)
    before = int(arriving.get_attribute("data-frames-decoded"))
    client.wait_for_timeout(2000)
    assert int(arriving.get_attribute("data-frames-decoded")) <= before + 2
    client.get_by_role("button", name="Back to video").click()
    therapist.wait_for_selector(".tile[data-peer][data-camera='on']")
    for _ in range(50):
        if int(arriving.get_attribute("data-frames-decoded")) > before + 10:
            break
        client.wait_for_timeout(200)
    assert int(arriving.get_attribute("data-frames-decoded")) > before + 10
    client.get_by_role("button", name="Low bandwidth").click()
    seen.locator(".badge-lowBandwidth", has_text="Low bandwidth").wait_for()
    client.get_by_role("button", name="Low bandwidth").click()

    # Chat in a side panel; a message arriving while it is closed is counted on the button.
    client.get_by_role("button", name="Chat").click()
    client.get_by_label("Message").fill("Hello from Morgan")
    client.get_by_role("button", name="Send").click()
    therapist.get_by_role("button", name="Chat (1 new)").click()
    therapist.locator("#chat-log li", has_text="Hello from Morgan").wait_for()
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
    sockets[-1].close(code=4999, reason="network gone")
    client.wait_for_selector("body[data-reconnections='1']", timeout=30_000)
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
    problems["ended"] = serious_violations(client)
    assert not any(problems.values()), problems  # axe-core: nothing serious or critical in any state
    client.get_by_role("link", name="Rejoin").click()
    client.wait_for_selector("#devices[data-state='ok']")
    # Back within the grace period: straight into the call, with no second admission.
    client.get_by_label("I am on a personal device").check()
    client.get_by_label("I am on a private, password-protected network").check()
    client.get_by_label("I am somewhere private").check()
    client.get_by_label("Where are you right now?").select_option("US-NY")
    client.get_by_role("button", name="Go to the waiting room").click()
    for page in (client, therapist):
        page.wait_for_selector(".tile[data-peer][data-state='connected']", timeout=30_000)
    # The therapist ends it for everyone: each side is told in its own words, and nobody rejoins.
    therapist.once("dialog", lambda dialog: dialog.accept())
    therapist.get_by_role("button", name="End for everyone").click()
    therapist.locator("#ended-text", has_text="You ended the session for everyone.").wait_for()
    client.locator("#ended-text", has_text="Your therapist ended the session.").wait_for()
    assert not client.get_by_role("link", name="Rejoin").is_visible()
    assert not [p for p in client_problems + therapist_problems if "Content Security Policy" in p]
    client_context.close()
    therapist_context.close()
