"""In Chromium: a therapist on a phone books a weekly series and cancels the rest of it from one
session. (An admin deactivating an account and undoing it: tests/test_browser_home.py.)"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.browser import PHONE, serious_violations, sign_in_again

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def test_a_therapist_books_a_weekly_series_and_cancels_the_rest_of_it_on_a_phone(server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    sign_in_again(page, server, "therapist2@riverside.example")
    page.goto(f"{server.url}/sessions/new/")
    monday = date.today() + timedelta(days=7 - date.today().weekday() + 7)  # a Monday two weeks out
    page.get_by_label("Kind of session").select_option("individual")
    page.get_by_label("Jordan Lee").check()
    page.get_by_label("Starts at (your time zone)").fill(f"{monday.isoformat()}T08:00")
    page.get_by_label("Repeats").select_option("weekly")
    page.get_by_label("Number of sessions (for a repeating session)").fill("4")
    page.get_by_role("button", name="Schedule").click()
    page.get_by_text("4 sessions scheduled.").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # The calendar shows the first of them, the week it falls in.
    page.goto(f"{server.url}/sessions/calendar/?week={monday.isoformat()}")
    slot = page.locator(".week .slot", has_text="Jordan Lee").first
    slot.wait_for()
    assert "08:00" in slot.inner_text()
    page.screenshot(path=str(ARTIFACTS / "calendar-therapist-phone.png"), full_page=True)
    problems = {"calendar": serious_violations(page)}
    # From the second session on, the rest are cancelled; the first stands.
    page.goto(f"{server.url}/sessions/calendar/?week={(monday + timedelta(days=7)).isoformat()}")
    page.locator(".week .slot a", has_text="Jordan Lee").first.click()
    page.get_by_text("every week, 2 more after this one").wait_for()
    problems["an occurrence"] = serious_violations(page)
    page.get_by_label("This and every later session of the series").last.check()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("3 sessions cancelled.").wait_for()
    page.goto(f"{server.url}/sessions/calendar/?week={monday.isoformat()}")
    assert page.locator(".week .slot", has_text="Jordan Lee").count() == 1
    assert not any(problems.values()), problems
    context.close()
