"""The demo practice can be tried in minutes (a code for each account from `manage.py demo_codes`,
the admin who is also a therapist with a client and a session today), and none of it works on a
production server."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts.models import Practice, User
from audit.models import Action, AuditEvent
from sessions.models import Appointment

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
DEMO_PASSWORD = "Riverside-demo-2026"


@pytest.fixture
def demo(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def codes() -> dict[str, str]:
    out = io.StringIO()
    call_command("demo_codes", stdout=out)
    return {email: code for code, email in re.findall(r"^\s+(\d{6})\s+(\S+)$", out.getvalue(), re.M)}


def test_each_demo_account_signs_in_with_its_printed_code_but_the_new_ones_set_up_first(demo):
    printed = codes()
    assert "therapist@riverside.example" not in printed and "alex@riverside.example" not in printed
    assert len(printed) == 9
    for email in ("admin@riverside.example", "director@riverside.example", "parent@riverside.example"):
        browser = Client()
        assert browser.post("/login/", {"email": email, "password": DEMO_PASSWORD}).status_code == 302
        done = browser.post("/mfa/", {"code": printed[email]})
        assert done.status_code == 302 and "/mfa/" not in done["Location"], email
    # The new account is led to set up its own second factor, from the link the block printed.
    assert "therapist@riverside.example" in demo and "set up its second factor at" in demo


def test_the_admin_who_is_also_a_therapist_has_a_client_and_a_session_today(demo):
    director = User.objects.get(email="director@riverside.example")
    upcoming = Appointment.objects.filter(therapist=director, starts_at__gt=timezone.now())
    assert upcoming.count() == 1
    assert upcoming.get().starts_at - timezone.now() < timedelta(hours=3)
    assert upcoming.get().clients.get().email == "riley@riverside.example"
    # Loading it again keeps one session, not one per run.
    call_command("seed_demo", stdout=io.StringIO())
    assert upcoming.count() == 1


def test_on_a_production_server_the_demo_cannot_be_signed_in_to_nor_its_codes_printed(demo, settings):
    printed = codes()
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="not available in production"):
        codes()
    with pytest.raises(CommandError, match="cannot be loaded in production"):
        call_command("seed_demo", stdout=io.StringIO())
    refused = Client().post("/login/", {"email": "admin@riverside.example", "password": DEMO_PASSWORD})
    assert refused.status_code == 200 and "demo practice cannot be signed in to" in refused.content.decode()
    event = AuditEvent.objects.filter(action=Action.LOGIN_FAILURE).latest("id")
    assert event.details == {"reason": "demo_in_production"}
    assert printed  # the same codes, a moment before, outside production
    assert list(Practice.objects.filter(is_demo=True).values_list("slug", flat=True)) == ["riverside-demo"]
