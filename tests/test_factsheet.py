"""The privacy and security fact sheet follows the running system: change a setting, and the page,
its JSON and its list of changes follow, with no text edited by hand."""

from __future__ import annotations

import base64
import json
import secrets

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings

from audit.models import Action, AuditEvent
from compliance.models import FactChange
from compliance.services import factsheet
from compliance.services.factsheet import facts_record, practice_facts
from sessions.models import SessionPolicy
from teletherapy.keyring import reset_keyring_cache

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def fact(practice, key: str) -> str:
    return next(f.value for f in practice_facts(practice) if f.key == key)


def sheet(client, practice) -> str:
    response = client.get(f"/privacy/{practice.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def test_anyone_can_read_it_before_signing_up(client, practice):
    html = sheet(client, practice)
    assert f"Privacy and security at {practice.name}" in html
    for key in ("sign_in.second_factor", "encryption.at_rest", "video.recording", "audit.verification", "ai.services"):
        assert f'data-key="{key}"' in html, key
    assert "Required for every account" in html and "never recorded" in html
    assert "What changed and when" in html and "This sheet was first published on" in html
    assert "Nothing has changed since." in html
    assert client.get("/privacy/no-such-practice/").status_code == 404
    assert "print-view" in client.get(f"/privacy/{practice.slug}/?print=1").content.decode()


def test_the_index_names_only_the_practices_that_chose_to_be_listed(client, practice, other_practice, login_as, admin):
    html = client.get("/privacy/").content.decode()
    assert f"/privacy/{practice.slug}/" not in html and f"/privacy/{other_practice.slug}/" not in html
    assert "/privacy/" in client.get("/login/").content.decode()
    # The practice's admin lists it from its own sheet (audited); the other stays unnamed.
    staff = login_as(admin)
    assert "List the practice" in staff.get(f"/privacy/{practice.slug}/").content.decode()
    staff.post(f"/privacy/{practice.slug}/listing/", {"listed": "1"})
    listed = client.get("/privacy/")
    assert listed.status_code == 302 and listed["Location"] == f"/privacy/{practice.slug}/"  # the only one listed
    assert AuditEvent.objects.filter(action=Action.PRACTICE_SETTINGS_CHANGE, details__listed_publicly=True).exists()
    type(other_practice).objects.filter(pk=other_practice.pk).update(listed_publicly=True)
    html = client.get("/privacy/").content.decode()
    assert f"/privacy/{practice.slug}/" in html and f"/privacy/{other_practice.slug}/" in html
    # Nobody else can list or unlist it.
    assert client.post(f"/privacy/{practice.slug}/listing/", {"listed": "0"}).status_code in (302, 403, 404)
    assert type(practice).objects.get(pk=practice.pk).listed_publicly


def test_the_sheet_is_worked_out_and_names_nothing_internal(client, practice, make_user, login_as, admin, settings):
    """Passkeys in use are said; no backup made is said; the database, mail and witness servers
    are never named, even once the admin registers the configured components as vendors."""
    from accounts.models import PasskeyDevice

    # A new dict for the setting (restored after the test); the open connections keep their own.
    settings.DATABASES = {
        **settings.DATABASES,
        "default": {**settings.DATABASES["default"], "HOST": "db-internal.clinic.lan"},
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "smtp-relay.clinic.lan"
    settings.AUDIT_WITNESS_URL = "syslog+tls://audit-collector.clinic.lan:6514"
    staff = login_as(admin)
    page = staff.get("/practice/vendors/").content.decode()
    assert "audit-collector.clinic.lan" in page  # the admin's own register knows them
    for key in ("witness", "email", "database:default"):
        staff.post("/practice/vendors/", {"component": key})
    user = make_user("therapist")
    PasskeyDevice.objects.create(user=user, name="Laptop", credential_id="eA", public_key="eQ", sign_count=0)
    html = sheet(client, practice)
    body = json.dumps(client.get(f"/api/v1/privacy/{practice.slug}/").json())
    for text in (html, body):
        for host in ("db-internal.clinic.lan", "smtp-relay.clinic.lan", "audit-collector.clinic.lan"):
            assert host not in text, host
        assert "a passkey" in text and "No backup has been made on this server yet" in text
    assert "Accounts of this practice with a passkey: 1" in html


def test_the_api_gives_the_same_facts_without_signing_in(client, practice):
    body = client.get(f"/api/v1/privacy/{practice.slug}/").json()
    assert body["practice"] == practice.name
    assert {f["key"]: f["value"] for f in body["facts"]} == {f.key: f.value for f in practice_facts(practice)}
    assert body["changes"] == []  # the first publication is not a change
    assert client.get("/api/v1/privacy/nobody/").status_code == 404


def test_relay_only_media_shows_on_the_sheet_and_in_its_changes(client, practice):
    with override_settings(ICE_TURN_URLS=["turn:relay.example.org:3478?transport=udp"]):
        sheet(client, practice)
        before = fact(practice, "video.relay")
        assert "when their networks allow" in before and "relay.example.org" in before
        SessionPolicy.objects.update_or_create(practice=practice, defaults={"relay_only": True})
        html = sheet(client, practice)
    assert "Always through the practice&#x27;s relay at relay.example.org" in html
    change = FactChange.objects.filter(practice_id=practice.pk, key="video.relay").order_by("-id").first()
    assert change.previous == before and change.value.startswith("Always through")
    assert "(was “Directly between" in html


def test_a_key_rotation_shows_with_its_date(client, practice, therapist, chart):
    sheet(client, practice)
    assert fact(practice, "encryption.rotated") == "Not changed since this server was set up"
    fresh = {
        purpose: [{"id": f"{purpose[:3]}-new", "key": base64.b64encode(secrets.token_bytes(32)).decode()}, *entries]
        for purpose, entries in settings.KEYRING.items()
    }
    with override_settings(KEYRING=fresh):
        reset_keyring_cache()
        try:
            call_command("keyring_rotate", verbosity=0)
            html = sheet(client, practice)
        finally:
            reset_keyring_cache()
    # The date, never the keys' own names: nothing internal is published.
    assert "re-encrypted under new keys on" in html and "fie-new" not in html and "psy-new" not in html
    keys = set(FactChange.objects.filter(practice_id=practice.pk).exclude(previous="").values_list("key", flat=True))
    assert "encryption.rotated" in keys


def test_hosting_verification_and_ai_are_worked_out_not_typed(client, practice, monkeypatch):
    assert fact(practice, "storage.hosting") == "Not stated by whoever runs this server"
    with override_settings(HOSTING_PROVIDER="Example Cloud", HOSTING_REGION="Frankfurt, Germany"):
        assert fact(practice, "storage.hosting") == "Example Cloud, Frankfurt, Germany"
    assert fact(practice, "audit.verification") == "Not checked yet"
    call_command("audit_verify", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert fact(practice, "audit.verification").endswith(": intact")
    assert fact(practice, "ai.services").startswith("No AI service processes client data")
    monkeypatch.setattr(factsheet, "AI_DISTRIBUTIONS", ("django",))  # installed here: the sheet would say so
    assert fact(practice, "ai.services") == "Software for AI services is installed on this server: django"


def test_nothing_new_means_no_new_entry_and_the_history_is_append_only(client, practice):
    sheet(client, practice)
    count = FactChange.objects.count()
    sheet(client, practice)
    assert facts_record(practice) == [] and FactChange.objects.count() == count
    for statement in ("UPDATE review_factchange SET value = 'x'", "DELETE FROM review_factchange"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_the_invitation_email_links_to_the_sheet(admin, practice, settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://therapy.example.org"
    from accounts.services import invitation_send

    with django_capture_on_commit_callbacks(execute=True):
        invitation_send(actor=admin, context=None, email="new.colleague@example.org", role="therapist")
    assert f"https://therapy.example.org/privacy/{practice.slug}/" in mail.outbox[-1].body


def test_an_admin_asks_clients_to_consent_again_for_a_change(
    client, login_as, admin, therapist, practice, consent_docs
):
    from consent.models import ConsentKind, ConsentVersion, VersionStatus

    sheet(client, practice)
    SessionPolicy.objects.update_or_create(practice=practice, defaults={"relay_only": True})
    with override_settings(ICE_TURN_URLS=["turn:relay.example.org:3478"]):
        sheet(client, practice)
    change = FactChange.objects.filter(practice_id=practice.pk).exclude(previous="").get(key="video.relay")
    url = f"/privacy/{practice.slug}/changes/{change.pk}/reconsent/"
    assert "Ask clients to consent again" not in sheet(login_as(therapist), practice)
    assert login_as(therapist).post(url).status_code == 404
    staff = login_as(admin)
    assert "Ask clients to consent again" in staff.get(f"/privacy/{practice.slug}/").content.decode()
    assert staff.post(url).status_code == 302
    published = ConsentVersion.objects.get(
        document__practice=practice, document__kind=ConsentKind.PRIVACY, status=VersionStatus.PUBLISHED
    )
    assert published.requires_reconsent and "It is now: Always through" in published.body
    assert f"/privacy/{practice.slug}/" in published.body
    assert "Clients were asked to consent again on" in sheet(client, practice)
    again = staff.post(url, follow=True).content.decode()
    assert "already asked" in again
    assert (
        ConsentVersion.objects.filter(document__kind=ConsentKind.PRIVACY, status=VersionStatus.PUBLISHED).count() == 1
    )
