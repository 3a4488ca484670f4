"""In Chromium, with its virtual authenticator (the DevTools protocol's WebAuthn domain): a new
client goes from an invitation to a passkey and the home page on a phone, with no other device;
signs in with it, re-authenticates with it, signs in without a password where the practice
allows it; and a cloned credential with a stale sign counter is refused."""

from __future__ import annotations

import re

import pytest

from tests.browser import DEMO_PASSWORD, confirm_codes_saved, sign_in_again, virtual_authenticator

pytestmark = pytest.mark.browser
EMAIL = "robin.phone@example.org"


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def password_then_passkey(page, server) -> None:
    page.goto(f"{server.url}/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Use my passkey").click()


SOCKET = """async (url) => await new Promise((resolve) => {
  const socket = new WebSocket(url);
  socket.onmessage = (event) => { const data = JSON.parse(event.data); if (data.type === "bye") resolve(data.code); };
  socket.onclose = (event) => resolve(event.code);
})"""


def socket_answer(page, server) -> int:
    url = server.url.replace("http://", "ws://") + "/ws/sessions/00000000-0000-4000-8000-000000000000/"
    return page.evaluate(SOCKET, url)


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/login/")


def test_from_an_invitation_to_a_passkey_on_a_phone_and_what_it_then_does(server, browser):
    problems: list[str] = []
    desktop = browser.new_context()
    therapist = desktop.new_page()
    sign_in_again(therapist, server, "therapist2@riverside.example")
    therapist.goto(f"{server.url}/practice/invitations/")
    therapist.get_by_label("Email").fill(EMAIL)
    therapist.get_by_label("Role").select_option(value="client")
    therapist.get_by_role("button", name="Send invitation").click()
    therapist.get_by_text(f"Invitation sent to {EMAIL}").wait_for()
    office = browser.new_context()
    admin = office.new_page()
    sign_in_again(admin, server, "admin@riverside.example")
    log = (server.data_dir / "run.log").read_text()
    link = re.findall(r"(http://\S+/invite/[^/\s]+/)", log)[-1]

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    cdp, authenticator = virtual_authenticator(phone, page)
    page.goto(link)
    page.get_by_label("Full name").fill("Robin Phone")
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    # Straight on to enrolment, passkey first, without signing in again.
    page.get_by_role("heading", name="Set up two-step sign-in").wait_for()
    assert no_sideways_scroll(page)
    page.get_by_role("button", name="Create a passkey").click()
    page.get_by_role("heading", name="Your backup codes").wait_for()
    # The page's script shows the copy and download buttons once it has run (the codes are there
    # without it): wait for them rather than catch the page before its script.
    page.get_by_role("button", name="Download as a text file").wait_for(state="visible")
    assert len(confirm_codes_saved(page)) == 10
    page.get_by_role("heading", name="Welcome, Robin Phone").wait_for()
    assert no_sideways_scroll(page)
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["rpId"] == "localhost" and credential["isResidentCredential"]

    # Signing in with it.
    sign_out(page)
    page.goto(f"{server.url}/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Use my passkey").wait_for()
    assert socket_answer(page, server) == 4402  # the password alone
    page.get_by_role("button", name="Use my passkey").click()
    page.get_by_role("heading", name="Welcome, Robin Phone").wait_for()

    # The video socket takes the passkey-verified session: it gets past sign-in and the second
    # factor, to "no such session" (4404), where a password-only session stops at 4402.
    assert socket_answer(page, server) == 4404

    # Re-authenticating with it, then Security lists it.
    page.goto(f"{server.url}/account/reauth/?next=/account/security/")
    page.get_by_role("button", name="Use my passkey").click()
    page.get_by_role("heading", name="Security").wait_for()
    assert page.locator("li[data-passkey-id]").count() == 1 and "last used" in page.locator(".passkeys").inner_text()

    # Passwordless, once the practice allows it.
    admin.goto(f"{server.url}/practice/members/")
    admin.get_by_label(re.compile("Allow passwordless sign-in")).check()
    admin.get_by_role("button", name="Save the sign-in policy").click()
    admin.get_by_text("The sign-in policy was saved.").wait_for()
    sign_out(page)
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_role("heading", name="Welcome, Robin Phone").wait_for()

    # A copy of the credential taken now, used after the real one has moved on, is refused.
    snapshot = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"][0]
    sign_out(page)
    password_then_passkey(page, server)
    page.get_by_role("heading", name="Welcome, Robin Phone").wait_for()
    cdp.send("WebAuthn.removeCredential", {"authenticatorId": authenticator, "credentialId": snapshot["credentialId"]})
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": snapshot})
    sign_out(page)
    password_then_passkey(page, server)
    page.get_by_text("looks like a copy of one already used").wait_for()
    assert "/mfa/" in page.url
    admin.goto(f"{server.url}/practice/members/")
    admin.get_by_label(re.compile("Allow passwordless sign-in")).uncheck()
    admin.get_by_role("button", name="Save the sign-in policy").click()
    assert not problems, problems
    phone.close()
    desktop.close()
    office.close()
