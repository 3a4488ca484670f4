"""In Chromium: a therapist and a client exchange messages, with attachments both ways; a joint
conversation holds two clients while one client's individual conversation stays their own.
(Dr. Santos's two clients stand in for a couple: the joint conversation works the same.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import PHONE, sign_in_again, until

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WORKSHEET = b"%PDF-1.4\n% Values worksheet\n%%EOF\n"
REPLY = b"%PDF-1.4\n% My filled-in worksheet\n%%EOF\n"


def test_messages_between_a_therapist_and_clients(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    therapist_context = browser.new_context()
    therapist = therapist_context.new_page()
    sign_in_again(therapist, server, "therapist2@riverside.example")
    therapist.get_by_role("link", name="Messages", exact=True).click()
    assert therapist.get_by_text("Messages are not for emergencies.").is_visible()
    therapist.get_by_label("Jordan Lee").check()
    therapist.get_by_role("button", name="Open").click()
    therapist.get_by_role("textbox", name="Message", exact=True).fill("Hello Jordan, how did the week go?")
    therapist.get_by_role("button", name="Send").click()
    therapist.get_by_text("Sent.").wait_for()
    individual = therapist.url
    therapist.goto(f"{server.url}/messages/")
    therapist.get_by_label("Jordan Lee").check()
    therapist.get_by_label("Morgan Reyes").check()
    therapist.get_by_role("button", name="Open").click()
    therapist.get_by_role("heading", name="Joint conversation with Jordan Lee, Morgan Reyes").wait_for()
    therapist.get_by_role("textbox", name="Message", exact=True).fill("Welcome to you both. The worksheet is attached.")
    therapist.get_by_label("Attach a file (optional)").set_input_files(
        {"name": "values.pdf", "mimeType": "application/pdf", "buffer": WORKSHEET}
    )
    therapist.get_by_role("button", name="Send").click()
    therapist.get_by_text("Sent.").wait_for()
    joint = therapist.url

    client_context = browser.new_context(**PHONE)
    client = client_context.new_page()
    sign_in_again(client, server, "jordan@riverside.example")
    client.goto(f"{server.url}/messages/")
    assert client.locator("#conversations li").count() >= 2
    client.goto(individual)
    assert client.get_by_text("Hello Jordan, how did the week go?").is_visible()
    # The therapist has the conversation open: the reply appears there without a reload.
    therapist.goto(individual)
    until(therapist, "() => document.documentElement.dataset.live === 'connected'")
    therapist.evaluate("window.stayedOnThePage = true")
    client.get_by_role("textbox", name="Message", exact=True).fill("Better, thanks. Here is what I filled in.")
    client.get_by_label("Attach a file (optional)").set_input_files(
        {"name": "mine.pdf", "mimeType": "application/pdf", "buffer": REPLY}
    )
    client.get_by_role("button", name="Send").click()
    client.get_by_text("Sent.").wait_for()
    assert client.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    client.screenshot(path=str(ARTIFACTS / "messages-client-phone.png"), full_page=True)
    therapist.locator("#thread").get_by_text("Better, thanks.").wait_for()
    assert therapist.evaluate("window.stayedOnThePage === true")
    # On another page, the client is told there is something new, and nothing of what.
    client.goto(f"{server.url}/")
    until(client, "() => document.documentElement.dataset.live === 'connected'")
    therapist.get_by_role("textbox", name="Message", exact=True).fill("Thank you. See you on Tuesday.")
    therapist.get_by_role("button", name="Send").click()
    client.locator("#message-banner").wait_for(state="visible")
    assert "You have a new message." in client.locator("#message-banner").inner_text()
    assert "Tuesday" not in client.locator("#message-banner").inner_text()
    # On the navigation shown (the top bar, or a phone's tabs), and the same on the other.
    assert client.locator('nav a[href="/messages/"] .count:visible').inner_text() == "1"
    assert client.locator('nav a[href="/messages/"] .count').all_inner_texts() in (["1"], ["1", "1"])
    client.goto(joint)
    with client.expect_download() as download:
        client.get_by_role("link", name="Attachment").click()
    assert Path(download.value.path()).read_bytes() == WORKSHEET
    client_context.close()

    # The other client reads the joint conversation, and not Jordan's own.
    other_context = browser.new_context()
    other = other_context.new_page()
    sign_in_again(other, server, "morgan@riverside.example")
    other.goto(joint)
    assert other.get_by_text("Welcome to you both.").is_visible()
    assert other.goto(individual).status == 404
    other.goto(f"{server.url}/messages/")
    assert other.locator("#conversations li").count() == 1
    other_context.close()

    # Back with the therapist: the reply, read marks, and the client's attachment.
    therapist.goto(individual)
    assert therapist.get_by_text("Better, thanks.").is_visible()
    assert therapist.get_by_text("Seen by Jordan Lee").first.is_visible()
    with therapist.expect_download() as download:
        therapist.get_by_role("link", name="Attachment").click()
    assert Path(download.value.path()).read_bytes() == REPLY
    therapist.screenshot(path=str(ARTIFACTS / "messages-therapist.png"), full_page=True)
    therapist_context.close()
