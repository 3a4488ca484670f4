"""A real person's first sign-in, in Chromium against daphne: password, TOTP enrollment from the
QR page, backup codes, the dashboard; then a sign-in with a backup code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import (
    confirm_codes_saved,
    demo_accounts,
    enrollment_page,
    open_app_option,
    printed_secret,
    sign_in,
    sign_in_again,
)
from tests.conftest import totp_code

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _qr_path(uri: str) -> str:
    from accounts.services import totp_qr_svg

    return re.search(r' d="([^"]+)"', totp_qr_svg(uri)).group(1)


def test_a_demo_therapist_enrolls_totp_and_later_uses_a_backup_code(server, page):
    ARTIFACTS.mkdir(exist_ok=True)
    email = "therapist@riverside.example"
    assert email in server.seed_output
    secret_from_output = printed_secret(server, email)

    # A password alone does not reach enrolment: the page asks for proof of the e-mail address.
    sign_in(page, server, email)
    page.wait_for_url("**/mfa/enroll/**")
    assert page.get_by_role("heading", name="Check your e-mail").is_visible()
    assert page.locator("figure.qr").count() == 0
    enrollment_page(page, server, email)
    open_app_option(page)
    qr = page.locator("figure.qr svg")
    assert qr.is_visible() and qr.bounding_box()["width"] > 100
    page.get_by_text("Can't scan? Enter the key by hand").click()
    secret = page.locator("#totp-secret").text_content().replace(" ", "").strip()
    assert secret == secret_from_output  # the URI the seed printed is the one to enroll
    # The QR code on the page encodes exactly the provisioning URI that holds this secret.
    uri = re.search(r"(otpauth://totp/Teletherapy%3Atherapist%40riverside\.example\?\S+)", demo_accounts(server)).group(
        1
    )
    assert qr.locator("path").get_attribute("d") == _qr_path(uri)
    page.screenshot(path=str(ARTIFACTS / "enroll.png"), full_page=True)

    page.get_by_label("Code from your app").fill(totp_code(secret))
    page.get_by_role("button", name="Confirm and continue").click()
    codes = confirm_codes_saved(page)
    assert len(codes) == 10
    assert page.get_by_role("heading", name="Welcome, Dr. Theo Okafor").is_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
    sign_in(page, server, email)
    page.wait_for_url("**/mfa/**")
    page.get_by_label("Code").fill(codes[3])
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_role("heading", name="Welcome, Dr. Theo Okafor").is_visible()
    assert not [p for p in page.console_problems if "Content Security Policy" in p or "Refused" in p]


def test_a_form_error_is_shown_and_tied_to_its_field(server, page):
    enrollment_page(page, server, "alex@riverside.example")
    open_app_option(page)
    field = page.get_by_label("Code from your app")
    field.fill("12")
    page.get_by_role("button", name="Confirm and continue").click()
    error_id = field.get_attribute("aria-describedby").split()[0]
    assert "6-digit code" in page.locator(f"#{error_id}").text_content()
    assert field.get_attribute("aria-invalid") == "true"


def test_the_idle_warning_appears_and_stay_signed_in_keeps_the_session(server, page):
    sign_in_again(page, server, "admin@riverside.example")
    page.goto(f"{server.url}/")
    banner = page.locator("#idle-banner")
    banner.wait_for(state="visible", timeout=15_000)
    assert "signed out in" in banner.text_content()
    page.get_by_role("button", name="Stay signed in").click()
    banner.wait_for(state="hidden", timeout=5_000)
    page.reload()
    assert page.get_by_role("heading", name="Welcome, Avery Admin").is_visible()


def test_the_layout_fits_a_phone(server, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{server.url}/login/")
    width = page.evaluate("document.documentElement.scrollWidth")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "login-phone.png"), full_page=True)
    context.close()
    assert width <= 375
