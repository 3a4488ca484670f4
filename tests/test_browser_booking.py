"""Booking online in Chromium on a 390 x 844 touch screen: a client books a session with every tap
counted, moves it and cancels it; someone who is not yet a client asks for a first session on
the practice's public page, and an admin sees the request. axe-core on every page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser import PHONE, serious_violations, sign_in_again, taps, taps_counted

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TAP_BUDGET = 6


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_client_books_moves_and_cancels_a_session_on_a_phone(server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in_again(page, server, "jordan@riverside.example")
    taps_counted(context)
    page.goto(f"{server.url}/sessions/")
    problems: dict[str, list[str]] = {}
    start = taps(page)
    page.get_by_role("link", name="Book a session").click()
    # Jordan's care team has two therapists: three kinds of session to choose from.
    page.get_by_role("heading", name="What kind of session?").wait_for()
    problems["types"] = serious_violations(page)
    page.screenshot(path=str(ARTIFACTS / "booking-types-phone.png"), full_page=True)
    page.get_by_role("link", name="Individual session 50 minutes · Video · with Dr. Theo Okafor").click()
    # The last day shown, so the session stays clear of the demo's days other tests look at.
    days = page.locator(".day-chips a")
    days.last.click()
    page.wait_for_url("**day=*")
    assert no_sideways_scroll(page)
    problems["times"] = serious_violations(page)
    page.screenshot(path=str(ARTIFACTS / "booking-times-phone.png"), full_page=True)
    chosen = page.locator(".time-grid a").first
    time_shown = chosen.inner_text()
    chosen.click()
    page.get_by_role("heading", name="Check and confirm").wait_for()
    assert "late cancellation" in page.locator("main").inner_text()
    problems["confirm"] = serious_violations(page)
    page.screenshot(path=str(ARTIFACTS / "booking-confirm-phone.png"), full_page=True)
    page.get_by_role("button", name="Book this time").click()
    page.get_by_text("Booked.").wait_for()
    counted = taps(page) - start + 1  # and Sessions in the tab bar
    booked = page.locator(".sessions li", has_text=time_shown).filter(has_text="Dr. Theo Okafor").first
    assert booked.is_visible()
    record = ARTIFACTS / "taps.json"
    known = json.loads(record.read_text()) if record.is_file() else {}
    known["booking: Sessions to a booked session (phone)"] = counted
    record.write_text(json.dumps(known, indent=2, sort_keys=True) + "\n")
    assert counted <= TAP_BUDGET, counted

    # Move it to the next open time that day, then cancel it.
    booked.get_by_role("link", name="Move or cancel").click()
    page.get_by_role("heading", name="Move to another time").wait_for()
    problems["change"] = serious_violations(page)
    page.screenshot(path=str(ARTIFACTS / "booking-change-phone.png"), full_page=True)
    page.locator(".time-grid a").nth(1).click()
    page.get_by_role("button", name="Move to this time").click()
    page.get_by_text("Moved.").wait_for()
    page.locator(".sessions li", has_text="Dr. Theo Okafor").get_by_role("link", name="Move or cancel").last.click()
    page.get_by_role("button", name="Cancel this session").click()
    page.get_by_text("Cancelled.").wait_for()
    assert not any(problems.values()), problems
    context.close()


def test_someone_asks_for_a_first_session_and_an_admin_sees_it(server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{server.url}/sessions/ask/riverside-demo/")
    problems = {"ask": serious_violations(page)}
    page.screenshot(path=str(ARTIFACTS / "first-session-ask-phone.png"), full_page=True)
    page.get_by_label("Your name").fill("Robin Request")
    page.get_by_label("E-mail address").fill("robin.request@example.org")
    page.get_by_label("Weekday evenings").check()
    page.get_by_role("button", name="Send my request").click()
    page.get_by_text("The practice will write to you").wait_for()
    assert no_sideways_scroll(page)
    problems["received"] = serious_violations(page)
    context.close()
    office = browser.new_context(viewport={"width": 1280, "height": 800})
    desk = office.new_page()
    sign_in_again(desk, server, "admin@riverside.example")
    desk.goto(f"{server.url}/sessions/requests/")
    entry = desk.locator(".request-list li", has_text="Robin Request")
    entry.wait_for()
    assert "Weekday evenings" in entry.inner_text()
    problems["requests"] = serious_violations(desk)
    desk.screenshot(path=str(ARTIFACTS / "first-session-requests-desktop.png"), full_page=True)
    assert not any(problems.values()), problems
    office.close()
