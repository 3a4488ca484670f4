"""Documents on a chart, with real files: a real clamd refuses the EICAR test file; a PDF named as
an image and a program are refused; a photo's location is gone once stored; what is on disk is
sealed; a stored file moved to another record does not open there. Uploads and downloads go
through the pages people use; every refusal says why and stores nothing."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import GuardianLink, Role
from audit.models import Action, AuditEvent
from records.models import ChartDocument
from teletherapy.sealed_stream import MAGIC
from tests.conftest import EICAR

pytestmark = [pytest.mark.django_db]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% Referral letter from Dr. Adeyemi\ntrailer << >>\n%%EOF\n"


def said(response) -> str:
    return " ".join(re.findall(r'<li class="[^"]*">([^<]+)</li>', response.content.decode()))


def post_file(client, chart, data: bytes, name: str, **extra):
    return client.post(
        f"/records/charts/{chart.pk}/documents/", {"file": SimpleUploadedFile(name, data), **extra}, follow=True
    )


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def download(client, document) -> bytes:
    response = client.get(f"/records/documents/{document.pk}/")
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content)


def photo_with_location() -> bytes:
    image = Image.new("RGB", (120, 80), "orange")
    exif = Image.Exif()
    exif[0x0112] = 6  # taken sideways: stored upright
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (40.0, 42.0, 46.0), 3: "W", 4: (74.0, 0.0, 21.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_client_uploads_and_the_care_team_downloads_it(
    login_as, therapist, client_user, chart, scanning, _document_store
):
    client = login_as(client_user)
    before = set(stored_files(_document_store))
    response = post_file(client, chart, PDF, "referral.pdf")
    assert "referral.pdf was added to the record" in said(response)
    document = ChartDocument.objects.get()
    assert (document.kind, document.size, document.scanned, document.shared_with_client) == (
        "pdf",
        len(PDF),
        True,
        True,
    )
    # On disk: sealed, with nothing of the file, its name or whose it is readable.
    (path,) = set(stored_files(_document_store)) - before
    raw = path.read_bytes()
    assert raw.startswith(MAGIC) and b"Adeyemi" not in raw and b"referral" not in raw
    assert str(document.pk) not in str(path) and str(document.pk.hex) not in str(path)
    assert "referral.pdf" in client.get("/records/portal/").content.decode()
    # The care team downloads it as an attachment that can never run as a page of the site.
    team = login_as(therapist)
    assert "referral.pdf" in team.get(f"/records/charts/{chart.pk}/").content.decode()
    response = team.get(f"/records/documents/{document.pk}/")
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf" and response["Content-Length"] == str(len(PDF))
    assert response["Content-Disposition"] == "attachment; filename*=UTF-8''referral.pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert (
        response["Content-Security-Policy"].startswith("sandbox;")
        and "default-src 'none'" in response["Content-Security-Policy"]
    )
    event = AuditEvent.objects.filter(action=Action.DOCUMENT_DOWNLOAD).get()
    assert (event.actor_id, event.subject_client_id) == (therapist.pk, client_user.pk)
    assert AuditEvent.objects.filter(action=Action.DOCUMENT_UPLOAD, actor_id=client_user.pk).count() == 1


def test_the_real_clamd_refuses_the_eicar_file_and_nothing_is_stored(
    login_as, client_user, chart, scanning, _document_store
):
    client = login_as(client_user)
    before = stored_files(_document_store)
    for data, name in [
        (EICAR, "eicar.com"),
        (b"%PDF-1.4\n" + EICAR + b"\n%%EOF\n", "looks-fine.pdf"),  # the type alone would have passed it
    ]:
        response = post_file(client, chart, data, name)
        assert "The virus scanner found Eicar-Test-Signature" in said(response), said(response)
    assert not ChartDocument.objects.exists() and stored_files(_document_store) == before
    refusals = AuditEvent.objects.filter(action=Action.DOCUMENT_REFUSED)
    assert [e.details["reason"] for e in refusals] == ["virus", "virus"]


def test_a_pdf_named_as_an_image_and_a_program_are_refused(login_as, therapist, chart, scanning, _document_store):
    client = login_as(therapist)
    before = stored_files(_document_store)
    program = Path(shutil.which("true") or "/bin/true").read_bytes()  # a real ELF executable
    windows = b"MZ\x90\x00\x03" + b"\x00" * 200
    cases = [
        (PDF, "insurance-card.png", "named as a PNG image but it is a PDF document"),
        (PDF, "insurance-card.jpg", "named as a JPEG image but it is a PDF document"),
        (program, "true", "This is a program, not a document"),
        (program, "report.pdf", "This is a program, not a document"),
        (windows, "setup.exe", "This is a program, not a document"),
        (PDF, "notes.exe", "The name ends in .exe, which is not a PDF or an image"),
        (b"just some words\n", "letter.txt", "this file is none of them"),
        (b"", "empty.pdf", "The file is empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "broken.png", "cannot be read"),
    ]
    for data, name, message in cases:
        response = post_file(client, chart, data, name)
        assert message in said(response), (name, said(response))
    assert "Choose a file" in said(client.post(f"/records/charts/{chart.pk}/documents/", follow=True))
    assert not ChartDocument.objects.exists() and stored_files(_document_store) == before


def test_a_file_over_the_limit_is_refused(login_as, therapist, chart, scanning, settings, _document_store):
    settings.DOCUMENT_MAX_BYTES = 1024 * 1024
    response = post_file(login_as(therapist), chart, PDF + b"0" * (1024 * 1024), "big.pdf")
    assert "The file is over 1 MB" in said(response)
    assert not ChartDocument.objects.exists()


def test_a_photo_loses_its_location_and_is_stored_upright(login_as, client_user, chart, scanning):
    client = login_as(client_user)
    original = photo_with_location()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the location is there to start with
    post_file(client, chart, original, "card.JPG")
    document = ChartDocument.objects.get()
    stored = download(client, document)
    image = Image.open(io.BytesIO(stored))
    exif = image.getexif()
    assert image.format == "JPEG" and not exif.get_ifd(0x8825) and 0x010F not in exif and 0x0112 not in exif
    assert image.size == (80, 120)  # turned as the camera said, so it needs no tag to show right
    assert b"PhoneMaker" not in stored and document.name == "card.JPG"


def test_a_stored_file_moved_to_another_record_does_not_open(
    login_as, make_user, therapist, client_user, chart, scanning, _document_store
):
    from records.services import chart_create

    other_client = make_user(Role.CLIENT, name="Other Client")
    other_chart = chart_create(actor=None, client=other_client, therapists=[therapist])
    team = login_as(therapist)
    post_file(team, chart, PDF, "mine.pdf", shared_with_client="1")
    post_file(team, other_chart, PDF.replace(b"Adeyemi", b"Okonkwo"), "theirs.pdf", shared_with_client="1")
    mine = ChartDocument.objects.get(chart=chart)
    theirs = ChartDocument.objects.get(chart=other_chart)
    root = _document_store
    # The other record's sealed file copied over this one's: it names another document and record.
    original = (root / mine.stored_as).read_bytes()
    shutil.copyfile(root / theirs.stored_as, root / mine.stored_as)
    response = team.get(f"/records/documents/{mine.pk}/")
    assert response.status_code == 409 and b"belongs to another record" in response.content
    # Put back, it opens again; one byte changed inside, it does not.
    (root / mine.stored_as).write_bytes(original)
    assert download(team, mine) == PDF
    damaged = bytearray(original)
    damaged[-20] ^= 1
    (root / mine.stored_as).write_bytes(bytes(damaged))
    assert team.get(f"/records/documents/{mine.pk}/").status_code == 409
    # The other record's file under a name of its own, and this row pointed at it: it does not open.
    shutil.copyfile(root / theirs.stored_as, root / "moved.sealed")
    ChartDocument.objects.filter(pk=mine.pk).update(stored_as="moved.sealed")
    assert team.get(f"/records/documents/{mine.pk}/").status_code == 409
    # Only the download that opened was recorded as one.
    assert AuditEvent.objects.filter(action=Action.DOCUMENT_DOWNLOAD, target_id=str(mine.pk)).count() == 1


def test_without_a_scanner_an_upload_is_refused_where_scanning_is_required(
    login_as, therapist, chart, settings, tmp_path
):
    settings.CLAMD_SOCKET = str(tmp_path / "nobody-listens.sock")
    settings.DOCUMENT_SCAN_REQUIRED = True
    response = post_file(login_as(therapist), chart, PDF, "letter.pdf")
    assert "could not be checked for viruses just now" in said(response)
    assert not ChartDocument.objects.exists()
    # On an installation with no scanner configured and none required, the form says files go unscanned.
    settings.CLAMD_SOCKET = ""
    settings.DOCUMENT_SCAN_REQUIRED = False
    page = login_as(therapist).get(f"/records/charts/{chart.pk}/").content.decode()
    assert "files are not checked for viruses" in page
    post_file(login_as(therapist), chart, PDF, "letter.pdf")
    assert ChartDocument.objects.get().scanned is False


def test_who_sees_and_removes_what(login_as, therapist, colleague, client_user, admin, stranger, chart, scanning):
    team = login_as(therapist)
    post_file(team, chart, PDF, "shared.pdf", shared_with_client="1")
    post_file(team, chart, PDF, "prior-record.pdf")  # not shared with the client
    post_file(login_as(client_user), chart, PDF, "from-me.pdf")
    by_name = {d.name: d for d in ChartDocument.objects.all()}
    shared, private, own = (by_name[n] for n in ("shared.pdf", "prior-record.pdf", "from-me.pdf"))
    client = login_as(client_user)
    portal = client.get("/records/portal/").content.decode()
    assert "shared.pdf" in portal and "from-me.pdf" in portal and "prior-record.pdf" not in portal
    assert client.get(f"/records/documents/{private.pk}/").status_code == 404
    download(client, shared)
    # Off the care team, an admin, another practice: nothing.
    for outsider in (colleague, admin, stranger):
        assert login_as(outsider).get(f"/records/documents/{shared.pk}/").status_code in (403, 404)
    # A client removes what they added, after saying yes; not what the therapist added.
    asked = client.post(f"/records/documents/{own.pk}/remove/")
    assert asked.status_code == 200 and "Remove from-me.pdf?" in asked.content.decode()
    assert ChartDocument.objects.get(pk=own.pk).removed_at is None
    client.post(f"/records/documents/{own.pk}/remove/", {"confirmed": "yes"})
    assert client.post(f"/records/documents/{shared.pk}/remove/", {"confirmed": "yes"}).status_code == 404
    own.refresh_from_db()
    assert own.removed_at is not None and own.removed_by_id == client_user.pk  # kept, with who and when
    assert client.get(f"/records/documents/{own.pk}/").status_code == 404
    assert "from-me.pdf" not in team.get(f"/records/charts/{chart.pk}/").content.decode()
    assert AuditEvent.objects.filter(action=Action.DOCUMENT_REMOVE, actor_id=client_user.pk).count() == 1


def test_a_guardian_adds_and_reads_documents_only_where_the_chart_allows(
    login_as, make_user, therapist, guardian, scanning
):
    from records.services import chart_create

    minor = GuardianLink.objects.filter(guardian=guardian).get().client
    chart = chart_create(actor=None, client=minor, therapists=[therapist], is_minor=True)
    other_guardian = make_user(Role.GUARDIAN, name="Other Guardian")
    post_file(login_as(therapist), chart, PDF, "school-letter.pdf", shared_with_client="1")
    document = ChartDocument.objects.get()
    parent = login_as(guardian)
    assert parent.get(f"/records/documents/{document.pk}/").status_code == 404  # the chart keeps it from them
    type(chart).objects.filter(pk=chart.pk).update(guardian_sees_notes=True)
    download(parent, document)
    post_file(parent, chart, PDF, "insurance.pdf")
    assert ChartDocument.objects.filter(uploaded_by=guardian, chart=chart).exists()
    assert login_as(other_guardian).get(f"/records/documents/{document.pk}/").status_code == 404


def test_the_scanner_talks_to_clamd_over_its_own_protocol(clamd):
    """clamdscan, Debian's own client, agrees with the platform's client on the same files."""
    from django.test import override_settings

    from teletherapy import scanner

    with override_settings(CLAMD_SOCKET=clamd, CLAMD_ADDRESS=""):
        assert scanner.scan([b"%PDF-1.4\n", EICAR]).signature.startswith("Eicar-Test-Signature")
        assert scanner.scan([PDF]).clean
    if shutil.which("clamdscan"):
        config = Path(clamd).with_name("clamd.conf")
        checked = subprocess.run(
            ["clamdscan", "--no-summary", f"--config-file={config}", "--stream", "-"],
            input=EICAR,
            capture_output=True,
        )
        assert b"FOUND" in checked.stdout


def _with_text(kind: str) -> bytes:
    """An image carrying words in every place its format keeps them besides its pixels."""
    from PIL import PngImagePlugin

    image = Image.new("RGB", (60, 40), "teal")
    out = io.BytesIO()
    if kind == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "SECRET-PNG-TEXT")
        info.add_itxt("XML:com.adobe.xmp", "SECRET-PNG-XMP")
        image.save(out, "PNG", pnginfo=info, icc_profile=b"SECRET-ICC" * 20)
    elif kind == "JPEG":
        image.save(out, "JPEG", comment=b"SECRET-JPEG-COMMENT", xmp=b"SECRET-JPEG-XMP")
    else:
        image.save(out, "WEBP", xmp=b"SECRET-WEBP-XMP")
    return out.getvalue()


@pytest.mark.parametrize(("kind", "name"), [("PNG", "a.png"), ("JPEG", "a.jpg"), ("WEBP", "a.webp")])
def test_every_metadata_block_is_gone_once_stored(login_as, client_user, chart, scanning, kind, name):
    client = login_as(client_user)
    original = _with_text(kind)
    assert b"SECRET-" in original
    post_file(client, chart, original, name)
    stored = download(client, ChartDocument.objects.get())
    assert b"SECRET" not in stored and Image.open(io.BytesIO(stored)).size == (60, 40)


def test_decoding_large_images_shares_a_budget_and_a_busy_server_says_so(
    login_as, client_user, chart, scanning, settings
):
    """A few kilobytes can hold a huge image: what may be decoded at once is bounded per process,
    and an upload with no room is refused as busy, storing nothing."""
    from teletherapy import images

    settings.IMAGE_DECODE_BUDGET_PIXELS = 30_000_000
    settings.IMAGE_DECODE_WAIT_SECONDS = 0.2
    big = io.BytesIO()
    Image.new("1", (5_000, 5_000)).save(big, "PNG")  # 25 million pixels in about 3 KB
    assert len(big.getvalue()) < 100_000
    client = login_as(client_user)
    with images.decoding(10_000_000):  # another upload being decoded
        response = post_file(client, chart, big.getvalue(), "scan.png")
        assert "Too many large images are being checked right now" in said(response)
        assert not ChartDocument.objects.exists()
    settings.IMAGE_DECODE_WAIT_SECONDS = 20
    response = post_file(client, chart, big.getvalue(), "scan.png")
    assert ChartDocument.objects.count() == 1, said(response)
    # Over the per-image limit, whatever the budget: refused before decoding.
    huge = io.BytesIO()
    Image.new("1", (7_000, 7_000)).save(huge, "PNG")
    assert "more pixels than a document needs" in said(post_file(client, chart, huge.getvalue(), "huge.png"))
