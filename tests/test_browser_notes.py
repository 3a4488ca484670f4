"""In Chromium: a therapist writes, signs and shares a progress note; the client reads it in the portal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import sign_in_again

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SUBJECTIVE = "Jordan says the breathing exercise helped before the interview."


def test_a_note_goes_from_the_therapist_to_the_client(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    therapist_context = browser.new_context()
    page = therapist_context.new_page()
    sign_in_again(page, server, "therapist2@riverside.example")
    page.goto(f"{server.url}/records/charts/")
    page.get_by_role("link", name="Jordan Lee").click()
    page.get_by_label("Template").select_option("soap")
    page.get_by_role("button", name="New note").click()
    # Each part of the note says what it holds; the draft is saved as it is typed: created on the
    # first pause, kept at its own address, and there after a reload.
    assert page.get_by_text("What the client reports, in their words").is_visible()
    page.get_by_label("Subjective").press_sequentially(SUBJECTIVE[:20], delay=20)
    page.get_by_label("Subjective").fill(SUBJECTIVE)
    page.locator("#draft-status", has_text="Draft saved at").wait_for(timeout=15_000)
    assert "/records/notes/" in page.url
    page.get_by_label("Plan").fill("Practise daily; review in two weeks.")
    page.locator("#draft-status", has_text="Not saved yet").wait_for()
    page.locator("#draft-status", has_text="Draft saved at").wait_for(timeout=15_000)
    page.reload()
    assert page.get_by_label("Subjective").input_value() == SUBJECTIVE
    assert page.get_by_label("Plan").input_value() == "Practise daily; review in two weeks."
    page.get_by_role("button", name="Save draft").click()
    page.get_by_role("button", name="Sign and lock").click()
    # Asked first, told what it does: the same button confirms.
    page.get_by_role("heading", name="Sign and lock this note?").wait_for()
    assert page.get_by_text("lock it: from now on it cannot be edited").is_visible()
    page.get_by_role("button", name="Sign and lock").click()
    assert page.get_by_text("Signed. The note is now locked").is_visible()
    page.get_by_role("button", name="Share with the client").click()
    page.get_by_role("heading", name="Share this note with the client?").wait_for()
    page.get_by_role("button", name="Share with the client").click()
    assert page.get_by_text("Shared: the client can read this note").is_visible()
    assert page.get_by_role("button", name="Stop sharing with the client").is_visible()
    page.screenshot(path=str(ARTIFACTS / "note-signed.png"), full_page=True)
    therapist_context.close()

    client_context = browser.new_context()
    page = client_context.new_page()
    sign_in_again(page, server, "jordan@riverside.example")
    page.goto(f"{server.url}/records/portal/")
    page.locator("#shared-notes a").first.click()
    assert page.get_by_text(SUBJECTIVE).is_visible()
    assert not page.get_by_role("button", name="Sign and lock").count()
    page.screenshot(path=str(ARTIFACTS / "note-in-portal.png"), full_page=True)
    # Jordan's own copy of the record, as a PDF: prepared (by the worker), downloaded, read.
    page.goto(f"{server.url}/records/portal/")
    page.get_by_role("button", name="Prepare a copy").first.click()
    page.locator("#export-links").wait_for(state="visible", timeout=60_000)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as a PDF").click()
    from tests.test_records_export import pdf_text

    text = pdf_text(Path(download.value.path()).read_bytes())
    assert "The record of Jordan Lee" in text and "Progress notes" in text
    assert SUBJECTIVE.split()[0] in text and "self_harm_alert" not in text
    client_context.close()
