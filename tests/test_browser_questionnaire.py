"""In Chromium on a phone: a client answers the PHQ-9 their therapist assigned, from their home
page, with its progress in view; the taps it takes are counted and left in test-artifacts/."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser import PHONE, ROOT, sign_in_again

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"


def test_a_client_answers_the_phq9_on_a_phone(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    desk = browser.new_context()
    therapist = desk.new_page()
    sign_in_again(therapist, server, "therapist2@riverside.example")
    therapist.goto(f"{server.url}/records/charts/?q=Jordan")
    therapist.get_by_role("link", name="Jordan Lee").click()
    therapist.get_by_label("Assessment", exact=True).select_option("phq9")
    therapist.get_by_role("button", name="Assign").click()
    desk.close()

    phone = browser.new_context(**PHONE)
    client = phone.new_page()
    sign_in_again(client, server, "jordan@riverside.example")
    client.goto(f"{server.url}/")
    taps = 0

    def tap(locator) -> None:
        nonlocal taps
        locator.tap()
        taps += 1

    tap(client.get_by_role("link", name=re.compile(r"^Answer the PHQ-9")).first)
    progress = client.locator("#q-progress-text")
    client.locator("#q-progress-text", has_text="0 of 9 answered").wait_for()
    questions = client.locator(".questionnaire .field")
    assert questions.count() == 9
    for index in range(9):
        card = questions.nth(index).locator("label", has_text="Not at all")
        tap(card)
        # Each answer is a card a thumb can hit, and the progress stays in view as the page scrolls.
        box = card.bounding_box()
        assert box and box["height"] >= 44, box
        bar = client.locator("#q-progress-bar").bounding_box()
        assert bar and 0 <= bar["y"] < 844, bar
    assert progress.inner_text() == "All 9 answered"
    assert client.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    client.screenshot(path=str(ARTIFACTS / "phq9-phone.png"))
    tap(client.get_by_role("button", name="Send to my therapist"))
    client.get_by_text("Thank you. Your therapist will go through it with you.").wait_for()
    # From the home page to sent: one tap to open, one per question, one to send.
    assert taps == 11, taps
    record = ARTIFACTS / "taps.json"
    measured = json.loads(record.read_text()) if record.exists() else {}
    measured["PHQ-9 on a phone, from the home page"] = taps
    record.write_text(json.dumps(measured, indent=2))
    phone.close()
