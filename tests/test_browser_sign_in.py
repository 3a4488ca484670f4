"""A real person's first sign-in, in Chromium against daphne: password, TOTP enrollment from the
QR page, backup codes, the dashboard; then a sign-in with a backup code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_FLAGS, chromium_path, embedded_server
from tests.conftest import require_infrastructure, totp_code

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DEMO_PASSWORD = "Riverside-demo-2026"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with embedded_server(
        tmp_path_factory.mktemp("embedded"), SESSION_IDLE_TIMEOUT_SECONDS="40", SESSION_IDLE_WARNING_SECONDS="35"
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    require_infrastructure("Chromium", bool(path))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.console_problems = []
    page.on("console", lambda m: m.type in ("error", "warning") and page.console_problems.append(m.text))
    page.on("pageerror", lambda e: page.console_problems.append(str(e)))
    yield page
    context.close()


def _qr_path(uri: str) -> str:
    from accounts.services import totp_qr_svg

    return re.search(r' d="([^"]+)"', totp_qr_svg(uri)).group(1)


def _sign_in(page, server, email: str) -> None:
    page.goto(f"{server.url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()


def test_a_demo_therapist_enrolls_totp_and_later_uses_a_backup_code(server, page):
    ARTIFACTS.mkdir(exist_ok=True)
    email = "therapist@riverside.example"
    assert email in server.seed_output
    printed_secret = re.search(r"therapist%40riverside\.example\?secret=([A-Z2-7]+)", server.seed_output).group(1)

    _sign_in(page, server, email)
    page.wait_for_url("**/mfa/enroll/**")
    qr = page.locator("figure.qr svg")
    assert qr.is_visible() and qr.bounding_box()["width"] > 100
    page.get_by_text("Can't scan? Enter the key by hand").click()
    secret = page.locator("#totp-secret").text_content().strip()
    assert secret == printed_secret  # the URI the seed printed is the one to enroll
    # The QR code on the page encodes exactly the provisioning URI that holds this secret.
    uri = re.search(r"(otpauth://totp/Teletherapy%3Atherapist%40riverside\.example\?\S+)", server.seed_output).group(1)
    assert qr.locator("path").get_attribute("d") == _qr_path(uri)
    page.screenshot(path=str(ARTIFACTS / "enroll.png"), full_page=True)

    page.get_by_label("Code from your app").fill(totp_code(secret))
    page.get_by_role("button", name="Confirm and continue").click()
    codes = page.locator("#backup-codes code").all_text_contents()
    assert len(codes) == 10
    page.get_by_role("link", name="I have saved them, continue").click()
    assert page.get_by_role("heading", name="Welcome, Dr. Theo Okafor").is_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
    _sign_in(page, server, email)
    page.wait_for_url("**/mfa/**")
    page.get_by_label("Code").fill(codes[3])
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_role("heading", name="Welcome, Dr. Theo Okafor").is_visible()
    assert not [p for p in page.console_problems if "Content Security Policy" in p or "Refused" in p]


def test_a_form_error_is_shown_and_tied_to_its_field(server, page):
    _sign_in(page, server, "jordan@riverside.example")
    page.wait_for_url("**/mfa/enroll/**")
    field = page.get_by_label("Code from your app")
    field.fill("12")
    page.get_by_role("button", name="Confirm and continue").click()
    error_id = field.get_attribute("aria-describedby").split()[0]
    assert "6-digit code" in page.locator(f"#{error_id}").text_content()
    assert field.get_attribute("aria-invalid") == "true"


def test_the_idle_warning_appears_and_stay_signed_in_keeps_the_session(server, page):
    email = "admin@riverside.example"
    secret = re.search(r"admin%40riverside\.example\?secret=([A-Z2-7]+)", server.seed_output).group(1)
    _sign_in(page, server, email)
    page.wait_for_url("**/mfa/enroll/**")
    page.get_by_label("Code from your app").fill(totp_code(secret))
    page.get_by_role("button", name="Confirm and continue").click()
    page.get_by_role("link", name="I have saved them, continue").click()
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
