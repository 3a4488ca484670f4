"""In Chromium: a client on a phone adds a photo of their insurance card to their record; the
therapist finds it on the chart and downloads it, without the photo's location; the therapist
adds a worksheet, which the client downloads."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.browser import PHONE, sign_in_again

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
WORKSHEET = b"%PDF-1.4\n% Thought record worksheet\n%%EOF\n"


def card_photo() -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (40.0, 42.0, 46.0), 3: "W", 4: (74.0, 0.0, 21.0)})
    out = io.BytesIO()
    Image.new("RGB", (320, 200), "teal").save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_documents_go_both_ways_between_client_and_therapist(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    client_context = browser.new_context(**PHONE)
    client = client_context.new_page()
    sign_in_again(client, server, "jordan@riverside.example")
    client.goto(f"{server.url}/records/portal/")
    client.get_by_label("Add a document").set_input_files(
        {"name": "insurance-card.jpg", "mimeType": "image/jpeg", "buffer": card_photo()}
    )
    client.get_by_role("button", name="Upload").click()
    client.get_by_text("insurance-card.jpg was added to the record.").wait_for()
    assert client.get_by_role("link", name="insurance-card.jpg").is_visible()
    assert client.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    client.screenshot(path=str(ARTIFACTS / "documents-client-phone.png"), full_page=True)

    therapist_context = browser.new_context()
    therapist = therapist_context.new_page()
    sign_in_again(therapist, server, "therapist2@riverside.example")
    therapist.goto(f"{server.url}/records/charts/")
    therapist.get_by_role("link", name="Jordan Lee").click()
    with therapist.expect_download() as download:
        # The chart's documents (the overview above them names the file too).
        therapist.get_by_role("region", name="Documents").get_by_role("link", name="insurance-card.jpg").click()
    assert download.value.suggested_filename == "insurance-card.jpg"
    image = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert image.size == (320, 200) and not image.getexif().get_ifd(0x8825)  # no location
    therapist.get_by_label("Add a document").set_input_files(
        {"name": "thought-record.pdf", "mimeType": "application/pdf", "buffer": WORKSHEET}
    )
    therapist.get_by_role("button", name="Upload").click()
    therapist.get_by_text("thought-record.pdf was added to the record.").wait_for()
    therapist.screenshot(path=str(ARTIFACTS / "documents-chart.png"), full_page=True)
    therapist_context.close()

    client.goto(f"{server.url}/records/portal/")
    with client.expect_download() as download:
        client.get_by_role("link", name="thought-record.pdf").click()
    assert Path(download.value.path()).read_bytes() == WORKSHEET
    # The client takes down their own upload, after saying yes; it leaves their list.
    client.get_by_role("button", name="Remove insurance-card.jpg").click()
    client.get_by_role("heading", name="Remove insurance-card.jpg?").wait_for()
    client.get_by_role("button", name="Remove it").click()
    client.get_by_text("insurance-card.jpg was removed from the record.").wait_for()
    assert not client.get_by_role("link", name="insurance-card.jpg").count()
    client_context.close()
