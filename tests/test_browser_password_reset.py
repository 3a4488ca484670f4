"""A forgotten password on a phone, in Chromium against the run command's server: the link from
the sign-in page, the e-mail, a new password, and then the second factor as always."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser import PHONE, second_step, sign_in_again

pytestmark = pytest.mark.browser
EMAIL = "casey@riverside.example"  # no other browser test signs in as Casey
NEW_PASSWORD = "lanterns over the harbour"


def newest_reset_link(server, after: int) -> str | None:
    text = (server.data_dir / "run.log").read_text(errors="replace")[after:]
    found = re.findall(r"(http://\S+/password/reset/[^/\s]+/)", text)
    return found[-1] if found else None


def test_a_forgotten_password_is_reset_from_the_email_and_the_second_factor_is_still_asked(server, browser):
    # Casey has a second factor already, as anyone who forgets a password would.
    setup = browser.new_context()
    sign_in_again(setup.new_page(), server, EMAIL)
    setup.close()

    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(f"{server.url}/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_role("heading", name="Forgot your password?").wait_for()
    page.get_by_label("Your e-mail address").fill(EMAIL)
    log_size = len((server.data_dir / "run.log").read_text(errors="replace"))
    page.get_by_role("button", name="Send the link").click()
    page.get_by_text("a link to choose a new password is on its way").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    deadline = time.monotonic() + 60  # the worker sends it
    while (link := newest_reset_link(server, log_size)) is None:
        assert time.monotonic() < deadline, "no reset e-mail reached the log"
        time.sleep(0.3)
    page.goto(link)
    page.wait_for_url("**/password/reset/")  # the token is gone from the address bar
    page.get_by_role("heading", name="Choose a new password").wait_for()
    page.get_by_label("New password").fill("password")
    page.get_by_role("button", name="Set the new password").click()
    assert page.get_by_text("too short").is_visible() or page.get_by_text("too common").is_visible()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()

    # Not signed in yet: the second factor, as always.
    page.wait_for_url("**/mfa/**")
    page.get_by_text("Your new password is set").wait_for()
    second_step(page, server, EMAIL)
    assert "/login/" not in page.url and "/mfa/" not in page.url
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    # The link worked once.
    page.goto(link)
    assert page.get_by_text("This link has been used or has expired").is_visible()
    phone.close()
