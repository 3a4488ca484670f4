"""An admin uploads the practice's logo; its members see it at the top of every page. The upload
is decoded and redrawn as a PNG that fits 480 by 160, so nothing of the file but its pixels is
kept (no metadata, no script). Anything that is not a readable raster image is refused with a
clear message and the logo already there stays as it was. Only admins change it; only the
practice's own members can fetch it."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image, PngImagePlugin

from accounts.models import PracticeLogo, Role
from audit.models import Action, AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def png(width: int = 1200, height: int = 400, *, mode: str = "RGB", text: str = "") -> bytes:
    out = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Comment", text)
    Image.new(mode, (width, height), "navy" if mode == "RGB" else 1).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def upload(client, data: bytes, name: str = "logo.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/practice/logo/", {"logo": SimpleUploadedFile(name, data)}, follow=True)


def said(response) -> str:
    return " ".join(re.findall(r'<li class="[^"]*">([^<]+)</li>', response.content.decode()))


def test_an_admin_uploads_a_logo_and_members_see_it_in_the_header(login_as, admin, therapist, client_user):
    client = login_as(admin)
    response = upload(client, png(text="<script>alert(1)</script> taken at 40.7N 74.0W"))
    assert "The logo was saved" in said(response)
    logo = PracticeLogo.objects.get(practice=admin.practice)
    assert (logo.width, logo.height) == (480, 160)  # shrunk to fit, proportions kept
    stored = bytes(logo.image)
    assert stored.startswith(b"\x89PNG") and b"script" not in stored and b"40.7N" not in stored
    address = f"/practice/logo/{logo.digest}.png"
    for member in (therapist, client_user, admin):
        page = login_as(member).get("/").content.decode()
        # Sized in the page (480 x 160 at the header's 32 px: 96 wide), so nothing shifts as it loads.
        assert f'<img src="{address}" alt="" class="logo" width="96" height="32">' in page
        image = login_as(member).get(address)
        assert image.status_code == 200 and image["Content-Type"] == "image/png"
        assert "no-store" in image["Cache-Control"] and image.content == stored  # a shared computer keeps none
    event = AuditEvent.objects.filter(action=Action.PRACTICE_SETTINGS_CHANGE).latest("id")
    assert event.actor_id == admin.pk
    assert (event.details["logo_before"], event.details["logo_after"]) == (None, logo.digest)


def test_a_replaced_logo_gets_a_new_address_and_the_old_one_is_gone(login_as, admin):
    client = login_as(admin)
    upload(client, png())
    first = PracticeLogo.objects.get().digest
    upload(client, png(300, 300))
    second = PracticeLogo.objects.get()
    assert second.digest != first and (second.width, second.height) == (160, 160)
    assert client.get(f"/practice/logo/{first}.png").status_code == 404
    assert client.get(f"/practice/logo/{second.digest}.png").status_code == 200


def test_what_is_not_a_usable_image_is_refused_and_the_logo_stays(login_as, admin):
    client = login_as(admin)
    upload(client, png())
    before = PracticeLogo.objects.get()
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 64)).save(jpeg, "JPEG")
    cases = [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg", "not an image"),
        (b"just some words", "logo.png", "not an image"),
        (png()[:200], "logo.png", "not an image"),  # cut short
        (jpeg.getvalue()[:-300], "logo.jpg", "not an image"),
        (b"%PDF-1.4\n", "logo.pdf", "not an image"),
        (png(8, 8), "tiny.png", "too small"),
        (png(10_000, 5_000, mode="1"), "huge.png", "too large"),  # small file, 50 million pixels
        (b"\x89PNG" + b"\x00" * (2 * 1024 * 1024 + 10), "big.png", "over 2 MB"),
        (b"", "empty.png", "Choose an image"),
    ]
    events = AuditEvent.objects.filter(action=Action.PRACTICE_SETTINGS_CHANGE).count()
    for data, name, message in cases:
        response = upload(client, data, name)
        assert response.status_code == 200 and message in said(response), (name, said(response))
        after = PracticeLogo.objects.get()
        assert (after.digest, bytes(after.image)) == (before.digest, bytes(before.image)), name
    assert "Choose an image" in said(client.post("/practice/logo/", follow=True))  # no file at all
    assert AuditEvent.objects.filter(action=Action.PRACTICE_SETTINGS_CHANGE).count() == events


def test_an_animation_keeps_its_first_frame_and_a_photo_loses_its_metadata(login_as, admin):
    client = login_as(admin)
    frames = [Image.new("RGB", (100, 50), colour) for colour in ("red", "blue")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    upload(client, gif.getvalue(), "logo.gif")
    first = Image.open(io.BytesIO(bytes(PracticeLogo.objects.get().image)))
    assert first.format == "PNG" and first.convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    photo = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "Front door of the practice"  # ImageDescription
    Image.new("RGB", (200, 100), "green").save(photo, "JPEG", exif=exif)
    upload(client, photo.getvalue(), "logo.jpg")
    stored = bytes(PracticeLogo.objects.get().image)
    assert b"Front door" not in stored and Image.open(io.BytesIO(stored)).getexif() == {}


def test_only_admins_change_it_and_only_members_fetch_it(login_as, make_user, admin, therapist, stranger):
    upload(login_as(admin), png())
    logo = PracticeLogo.objects.get()
    for someone in (therapist, make_user(Role.CLIENT)):
        client = login_as(someone)
        assert upload(client, png(500, 500)).status_code == 403
        assert client.post("/practice/logo/remove/").status_code == 403
        assert PracticeLogo.objects.get().digest == logo.digest
    # Another practice's admin changes their own practice's logo, never this one's, and sees only theirs.
    outsider = login_as(stranger)
    assert 'class="logo"' not in outsider.get("/").content.decode()
    upload(outsider, png(500, 500))
    theirs = PracticeLogo.objects.get(practice=stranger.practice)
    assert PracticeLogo.objects.get(practice=admin.practice).digest == logo.digest
    assert outsider.get(f"/practice/logo/{logo.digest}.png").status_code == 404
    assert login_as(admin).get(f"/practice/logo/{theirs.digest}.png").status_code == 404
    outsider.post("/practice/logo/remove/")
    assert PracticeLogo.objects.filter(practice=admin.practice).exists()


def test_removing_the_logo_puts_the_name_back_alone(login_as, admin):
    client = login_as(admin)
    upload(client, png())
    digest = PracticeLogo.objects.get().digest
    asked = client.post("/practice/logo/remove/").content.decode()  # destructive: asked first
    assert "Remove the practice&#x27;s logo?" in asked and PracticeLogo.objects.exists()
    yes = {"confirmed": "yes"}
    assert "The logo was removed" in said(client.post("/practice/logo/remove/", yes, follow=True))
    assert not PracticeLogo.objects.exists()
    assert 'class="logo"' not in client.get("/").content.decode()
    assert "no logo to remove" in said(client.post("/practice/logo/remove/", yes, follow=True))
    event = AuditEvent.objects.filter(action=Action.PRACTICE_SETTINGS_CHANGE).latest("id")
    assert (event.details["logo_before"], event.details["logo_after"]) == (digest, None)
