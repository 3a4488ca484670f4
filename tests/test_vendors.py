"""The vendor and BAA register: admins keep it (pages and API), the signed agreement is sealed at
rest and its type and size checked, reminders go before expiry, and the fact sheet and the
admin's home page follow it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.utils import timezone

from audit.models import Action, AuditEvent
from compliance.models import Vendor
from compliance.services.factsheet import practice_facts
from compliance.services.vendors import vendors_remind

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
PDF = b"%PDF-1.7\n% a signed agreement\n" + b"0" * 2000


def add(client, **fields):
    data = {"add": "1", "name": "Acme Mail", "service": "E-mail", "data_touched": "Names and addresses", **fields}
    return client.post("/practice/vendors/", data)


def test_an_admin_records_a_vendor_with_its_signed_baa_sealed_at_rest(login_as, admin, practice):
    client = login_as(admin)
    response = add(
        client,
        baa_signed_on="2026-01-10",
        baa_expires_on="2027-01-10",
        document=SimpleUploadedFile("acme-baa.pdf", PDF, content_type="application/pdf"),
    )
    assert response.status_code == 302
    vendor = Vendor.objects.get(practice=practice)
    assert vendor.baa_document_size == len(PDF) and vendor.baa_document_type == "application/pdf"
    with connection.cursor() as cursor:
        cursor.execute("SELECT baa_document FROM review_vendor")
        stored = cursor.fetchone()[0]
    assert stored.startswith("tt1:") and "JVBERi" not in stored  # sealed; not even its base64 shows
    download = client.get(f"/practice/vendors/{vendor.pk}/baa/")
    assert download.status_code == 200 and download.content == PDF
    assert download["Content-Disposition"] == 'attachment; filename="acme-baa.pdf"'
    assert AuditEvent.objects.filter(action=Action.VENDOR_DOCUMENT_VIEW, actor_id=admin.pk).count() == 1
    assert AuditEvent.objects.filter(action=Action.VENDOR_CHANGE, actor_id=admin.pk).count() == 2  # added, document
    page = client.get("/practice/vendors/").content.decode()
    assert "Acme Mail" in page and "until 10 January 2027" in page


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"document": SimpleUploadedFile("baa.docx", b"PK\x03\x04 not a pdf")}, "as a PDF"),
        ({"document": SimpleUploadedFile("empty.pdf", b"")}, "empty"),
        ({"baa_signed_on": "2026-05-01", "baa_expires_on": "2026-04-01"}, "expire after it was signed"),
        ({"baa_expires_on": "2026-04-01"}, "the date it was signed"),
        ({"name": ""}, "required"),
        ({"name": "x" * 201}, "at most 200"),
    ],
    ids=["not-a-pdf", "empty", "expires-first", "no-signed-date", "no-name", "long-name"],
)
def test_bad_input_is_refused_clearly_and_nothing_is_stored(login_as, admin, fields, says):
    response = add(login_as(admin), **fields)
    assert response.status_code == 400 and says in response.content.decode()
    assert not Vendor.objects.exists()


def test_a_document_over_ten_megabytes_is_refused(login_as, admin):
    big = SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024 + 1))
    response = add(login_as(admin), document=big)
    assert response.status_code == 400 and "under 10 MB" in response.content.decode()


def test_only_the_practices_admins_reach_the_register(login_as, admin, therapist, stranger, client_user):
    add(login_as(admin))
    vendor = Vendor.objects.get()
    for person in (therapist, client_user, stranger):
        client = login_as(person)
        if not person.has_role("admin"):
            assert client.get("/practice/vendors/").status_code == 404
        assert client.get(f"/practice/vendors/{vendor.pk}/").status_code == 404
        assert client.get(f"/practice/vendors/{vendor.pk}/baa/").status_code == 404
        assert client.get(f"/api/v1/vendors/{vendor.pk}/").status_code == 404
    assert login_as(admin).get("/practice/vendors/not-a-uuid/").status_code == 404


def test_the_fact_sheet_and_home_page_follow_the_baa(client, login_as, admin, practice):
    def vendors_fact() -> str:
        return next(f.value for f in practice_facts(practice) if f.section == "vendors")

    assert vendors_fact() == "None recorded by the practice"
    today = timezone.localdate()
    add(
        login_as(admin),
        baa_signed_on=str(today - dt.timedelta(days=300)),
        baa_expires_on=str(today + dt.timedelta(days=60)),
    )
    client.get(f"/privacy/{practice.slug}/")
    assert "Business Associate Agreement signed on" in vendors_fact()
    Vendor.objects.update(baa_expires_on=today - dt.timedelta(days=1))
    html = client.get(f"/privacy/{practice.slug}/").content.decode()
    assert "its Business Associate Agreement expired on" in html
    assert "(was “E-mail, handling names and addresses; Business Associate Agreement signed on" in html
    home = login_as(admin).get("/").content.decode()
    assert "Business Associate Agreements need attention" in home and "Acme Mail: expired on" in home


def test_a_reminder_goes_once_before_expiry(login_as, admin):
    today = timezone.localdate()
    add(
        login_as(admin),
        baa_signed_on=str(today - dt.timedelta(days=300)),
        baa_expires_on=str(today + dt.timedelta(days=20)),
    )
    mail.outbox.clear()
    assert vendors_remind(today - dt.timedelta(days=20)) == 0  # 40 days ahead: not yet
    assert vendors_remind(today) == 1 and vendors_remind(today) == 0
    assert mail.outbox[0].to == [admin.email] and "Acme Mail" in mail.outbox[0].subject


@override_settings(
    EMAIL_HOST="smtp.mailer.example",
    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    ICE_TURN_URLS=["turns:relay.example.org:5349?transport=tcp"],
)
def test_the_platforms_own_components_are_offered_from_the_configuration(login_as, admin):
    client = login_as(admin)
    page = client.get("/practice/vendors/").content.decode()
    assert "smtp.mailer.example" in page and "relay.example.org" in page
    assert client.post("/practice/vendors/", {"component": "email"}).status_code == 302
    vendor = Vendor.objects.get(from_configuration="email")
    assert vendor.name == "smtp.mailer.example" and vendor.baa_state() == "none"
    assert (
        "smtp.mailer.example</strong>"
        not in client.get("/practice/vendors/").content.decode().split("configuration")[-1]
    )
    again = client.post("/practice/vendors/", {"component": "email"}, follow=True)
    assert "already in the register" in again.content.decode()


def test_the_api_keeps_the_register_too(login_as, admin):
    client = login_as(admin)
    made = client.post(
        "/api/v1/vendors/",
        {"name": "Cloud", "service": "Hosting", "data_touched": "All", "baa_signed_on": "2026-02-01"},
        content_type="application/json",
    )
    assert made.status_code == 201 and made.json()["baa_state"] == "signed"
    vendor_id = made.json()["id"]
    bad = client.put(
        f"/api/v1/vendors/{vendor_id}/",
        {"name": "Cloud", "service": "Hosting", "data_touched": "All", "baa_signed_on": "not a date"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    upload = client.put(
        f"/api/v1/vendors/{vendor_id}/baa/",
        data=encode_multipart(BOUNDARY, {"document": SimpleUploadedFile("baa.pdf", PDF)}),
        content_type=MULTIPART_CONTENT,
    )
    assert upload.status_code == 200 and upload.json()["has_document"] is True
    assert [v["name"] for v in client.get("/api/v1/vendors/").json()] == ["Cloud"]


def test_the_signed_agreement_is_virus_scanned_like_every_upload(login_as, admin, practice, scanning):
    from tests.conftest import EICAR

    client = login_as(admin)
    infected = PDF + EICAR
    response = client.post(
        "/practice/vendors/",
        {"add": "1", "name": "Acme Mail", "service": "E-mail", "data_touched": "Names",
         "document": SimpleUploadedFile("baa.pdf", infected, content_type="application/pdf")},
    )  # fmt: skip
    assert response.status_code == 400 and "virus scanner found" in response.content.decode()
    assert not any(v.baa_document for v in Vendor.objects.filter(practice=practice))
    clean = add(client, document=SimpleUploadedFile("baa.pdf", PDF, content_type="application/pdf"))
    assert clean.status_code == 302
    event = AuditEvent.objects.filter(action=Action.VENDOR_CHANGE, details__change="document").get()
    assert event.details["scanned"] is True
