"""In Chromium: a new client signs in, is led through both consents, withdraws the technology
consent, and the dashboard then shows it missing again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import sign_in_again, sign_needed

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def test_a_new_client_is_led_through_dual_consent_and_can_withdraw(server, page):
    ARTIFACTS.mkdir(exist_ok=True)
    sign_in_again(page, server, "jordan@riverside.example")

    # Jordan has a session tomorrow and has signed nothing: the first stop is the two consents it
    # needs, on one page, nothing optional among them, signed with one typed name.
    page.wait_for_url("**/consent/sign/")
    assert not page.get_by_role("heading", name="Privacy notice").count()
    page.screenshot(path=str(ARTIFACTS / "consent-sign.png"), full_page=True)
    sign_needed(page, "Jordan  Lee", ["Consent to treatment", "Consent to telehealth technology"])

    page.wait_for_url("**/consent/")
    row = page.locator("tr[data-kind='telehealth']")
    assert "Signed" in row.locator(".status").text_content()

    page.goto(f"{server.url}/")
    assert not page.locator("#next-session .todo-list").count()

    page.goto(f"{server.url}/consent/")
    page.locator("tr[data-kind='telehealth']").get_by_role("link", name="View signed copy").click()
    page.get_by_role("link", name="Withdraw this consent").click()
    assert page.get_by_text("only from now on").is_visible()
    page.get_by_label("Reason (optional)").fill("I would rather meet in person for now.")
    page.get_by_role("button", name="Withdraw consent").click()
    page.wait_for_url("**/consent/")
    assert "Withdrawn" in page.locator("tr[data-kind='telehealth'] .status").text_content()

    page.goto(f"{server.url}/")
    todo = page.locator("#next-session .todo-list")
    assert todo.is_visible()
    assert "Consent to telehealth technology" in todo.text_content()
    assert "Consent to treatment" not in todo.text_content()
    page.screenshot(path=str(ARTIFACTS / "consent-withdrawn-dashboard.png"), full_page=True)
    assert not [p for p in page.console_problems if "Content Security Policy" in p or "Refused" in p]
