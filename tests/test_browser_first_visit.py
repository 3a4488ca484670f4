"""A new client's first visit on a phone, as Chromium on a 390 x 844 touch screen: from the
invitation e-mail to the waiting room of a session that is open now, with every tap counted."""

from __future__ import annotations

import json
import re
import time
import zoneinfo
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.browser import PHONE, serious_violations, sign_in_again, taps, taps_counted, virtual_authenticator

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
EMAIL = "quinn.first@example.org"
NAME = "Quinn First"
TAP_BUDGET = 12


def newest_invitation(server, after: int) -> str | None:
    text = (server.data_dir / "run.log").read_text(errors="replace")[after:]
    found = re.findall(r"(http://\S+/invite/[^/\s]+/)", text)
    return found[-1] if found else None


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_from_the_invitation_email_to_the_waiting_room_in_a_dozen_taps(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    # Dr. Park (an admin who also sees clients) invites Quinn.
    office = browser.new_context()
    therapist = office.new_page()
    sign_in_again(therapist, server, "director@riverside.example")
    therapist.goto(f"{server.url}/practice/invitations/")
    therapist.get_by_label("Email").fill(EMAIL)
    therapist.get_by_label("Name (optional)").fill(NAME)
    therapist.get_by_label("Role").select_option(value="client")
    log_size = len((server.data_dir / "run.log").read_text(errors="replace"))
    therapist.get_by_role("button", name="Send invitation").click()
    therapist.get_by_text(f"Invitation sent to {EMAIL}").wait_for()
    deadline = time.monotonic() + 60  # the worker sends it
    while (link := newest_invitation(server, log_size)) is None:
        assert time.monotonic() < deadline, "no invitation e-mail reached the log"
        time.sleep(0.3)

    phone = browser.new_context(**PHONE)
    taps_counted(phone)
    page = phone.new_page()
    problems: dict[str, list[str]] = {}
    virtual_authenticator(phone, page, synced=True)
    page.goto(link)  # the tap on the link in the e-mail, counted below
    page.get_by_label("Password").fill("a lantern by the north window")
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("heading", name="Set up two-step sign-in").wait_for()
    assert no_sideways_scroll(page)

    # Meanwhile Dr. Park books Quinn's first session, starting in two minutes.
    zone = zoneinfo.ZoneInfo("America/New_York")
    starts = (datetime.now(zone) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    therapist.goto(f"{server.url}/sessions/new/")
    therapist.get_by_label("Kind of session").select_option("individual")
    therapist.get_by_label(NAME).check()
    therapist.get_by_label("Starts at (your time zone)").fill(starts)
    therapist.get_by_label("Length in minutes").fill("30")  # clear of Riley's session later today
    therapist.get_by_role("button", name="Schedule").click()
    therapist.get_by_text("scheduled").first.wait_for()

    # A synced passkey: no password to remember at sign-in, and no backup codes forced on Quinn.
    page.get_by_role("button", name="Create a passkey").click()
    # Signed in with a session open now: Join leads through the two consents it needs, on one page.
    page.wait_for_url("**/consent/sign/")
    assert no_sideways_scroll(page)
    assert page.get_by_role("heading", name="Consent to treatment").is_visible()
    assert page.get_by_role("heading", name="Consent to telehealth technology").is_visible()
    assert not page.get_by_role("heading", name="Privacy notice").count()
    page.get_by_label("Type your full name to sign").fill(NAME)
    page.get_by_label("I have read these documents and I understand them.").check()
    page.get_by_role("button", name="Sign all 2").click()

    # Back at Join: the essentials on one screen, each check running by itself.
    page.wait_for_url("**/join/")
    page.wait_for_selector("#devices[data-state='ok']")
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    try:
        page.wait_for_selector("#test-result[data-state]", timeout=30_000)
    except Exception:
        raise AssertionError((page.locator("#test-result").text_content(), console, page.url)) from None
    assert page.locator("#test-result").get_attribute("data-state") == "ok", page.locator("#test-result").text_content()
    assert no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "first-visit-join.png"), full_page=True)
    ready = page.get_by_role("button", name="I'm ready").bounding_box()
    assert ready["y"] + ready["height"] <= PHONE["viewport"]["height"], ready
    problems["join"] = serious_violations(page)
    for label in ("I'm on my own device", "I'm on a private network", "No one can overhear me"):
        page.get_by_label(label).click()
    page.get_by_label("Where are you right now?").select_option("US-NY")
    page.get_by_role("button", name="I'm ready").click()

    # The waiting message takes the place of the form, at the top.
    page.wait_for_selector("#waiting-message", state="visible")
    box = page.locator("#waiting").bounding_box()
    assert box["y"] < 260 and not page.locator("#check-in").is_visible(), box
    problems["waiting"] = serious_violations(page)
    page.screenshot(path=str(ARTIFACTS / "first-visit-waiting.png"))
    counted = taps(page) + 1  # and the link in the e-mail
    record = ARTIFACTS / "taps.json"
    known = json.loads(record.read_text()) if record.is_file() else {}
    known["first visit: invitation e-mail to the waiting room (phone)"] = counted
    record.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    assert counted <= TAP_BUDGET, counted
    assert not any(problems.values()), problems
    phone.close()
    office.close()
