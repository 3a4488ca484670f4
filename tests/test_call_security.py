"""The security code against a party in the middle of the signaling, with real pages on both sides.

A client's page (Chromium) and a therapist's page (Chromium) on a daphne process of this project
(PostgreSQL, Redis), with tests/mitm.SignalingRelay in the client's signaling socket. The relay
terminates DTLS on each side with aiortc peers of its own, so both pages really connect to it.
One call, three rounds, each started by the client's page reloading (a new connection and a new
exchange):

1. the relay follows the protocol on each side, holding and reordering what it likes: both pages
   connect (to the relay) and their codes differ;
2. the relay searches for an opening that gives the therapist the client's code, after seeing
   everything it can: it finds one, but the opening no longer matches its commitment, so the
   therapist's page says the call is not secure and stops its media;
3. the relay steps aside: the two codes match, and each page says its code changed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from sessions.services import licenses_set
from tests.browser import CHROMIUM_FLAGS, chromium_path, free_port
from tests.conftest import require_infrastructure, sign_for_video
from tests.mitm import SignalingRelay
from tests.webrtc import daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis, pytest.mark.browser]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def check_in(page) -> None:
    page.wait_for_selector("#devices[data-state='ok']")
    for label in (
        "I'm on my own device",
        "I'm on a private network",
        "No one can overhear me",
    ):
        page.get_by_label(label).check()
    page.get_by_label("Where are you right now?").select_option("US-NY")
    page.get_by_role("button", name="I'm ready").click()


def code_of(page) -> str | None:
    return page.evaluate("() => document.querySelector('.tile[data-peer] .security-code')?.dataset.code || null")


def test_a_relay_in_the_middle_cannot_make_the_two_codes_match(
    consent_docs, schedule, therapist, client_user, login_as, tmp_path
):
    from playwright.sync_api import sync_playwright

    require_infrastructure("PostgreSQL", connection.vendor == "postgresql")
    require_infrastructure("Redis", bool(settings.REDIS_URL))
    require_infrastructure("Chromium", bool(chromium_path()))
    licenses_set(therapist=therapist, regions=["US-NY"], context=None)
    sign_for_video(client_user)
    appointment = schedule(client_user, in_hours=5 / 60)
    keys = {
        who: login_as(user).cookies[settings.SESSION_COOKIE_NAME].value
        for who, user in (("therapist", therapist), ("client", client_user))
    }
    relay = SignalingRelay("honest")
    with daphne(free_port(), tmp_path / "daphne.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        pages = {}
        for who, key in keys.items():
            context = browser.new_context()
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": url}])
            pages[who] = context.new_page()
        therapist_page, client_page = pages["therapist"], pages["client"]
        client_page.route_web_socket(re.compile(r"/ws/sessions/"), relay.attach)
        join = f"{url}/sessions/{appointment.pk}/join/"
        try:
            therapist_page.goto(join)
            therapist_page.wait_for_selector("#devices[data-state='ok']")
            therapist_page.get_by_role("button", name="Open the session").click()
            client_page.goto(join)
            check_in(client_page)
            admit = therapist_page.get_by_role("button", name=f"Admit {client_user.full_name}")
            relay.pump(client_page, 30, until=admit.is_visible)
            admit.click()

            # 1. Both pages connect, each to the relay, and each shows a code: not the same one.
            both = lambda: bool(code_of(client_page) and code_of(therapist_page))  # noqa: E731
            relay.pump(client_page, 45, until=both)
            assert both(), (code_of(client_page), code_of(therapist_page), relay.errors)
            assert relay.done and relay.client_code == code_of(client_page)
            assert relay.therapist_code == code_of(therapist_page)
            assert code_of(client_page) != code_of(therapist_page)
            for page in (client_page, therapist_page):
                assert page.locator(".tile[data-peer]").get_attribute("data-state") == "connected"

            # 2. The relay grinds for an opening that gives the therapist the client's code. It
            # finds one, which proves the codes would match without the commitment; the therapist's
            # page refuses it and stops sending.
            relay.set_strategy("grind")
            client_page.reload()
            check_in(client_page)
            refused = therapist_page.locator(".tile[data-peer][data-secure='no']")
            relay.pump(client_page, 60, until=lambda: refused.count() > 0 and bool(code_of(client_page)))
            assert refused.count() == 1, relay.errors
            assert relay.forged_code == relay.client_code == code_of(client_page) and relay.tries > 0
            warning = refused.locator(".security-code")
            assert "This call is not secure" in warning.inner_text()
            assert warning.get_attribute("data-code") is None
            assert "This call is not secure" in therapist_page.locator("#call-status").inner_text()
            # Media stopped: the connection to the relay is closed, and no new frame arrives.
            therapist_page.screenshot(path=str(ARTIFACTS / "call-not-secure-therapist.png"))

            # 3. No relay: the codes match, and both pages say the code changed since they last saw it.
            relay.set_strategy("pass")
            client_page.reload()
            check_in(client_page)
            relay.pump(
                client_page,
                45,
                until=lambda: bool(code_of(client_page)) and code_of(client_page) == code_of(therapist_page),
            )
            assert code_of(client_page) == code_of(therapist_page) is not None
            for page in (client_page, therapist_page):
                code = page.locator(".tile[data-peer] .security-code")
                assert code.get_attribute("data-changed") == "true"
                assert "Read it aloud again" in code.inner_text()
                assert page.locator(".tile[data-peer]").get_attribute("data-state") == "connected"
            client_page.screenshot(path=str(ARTIFACTS / "call-code-changed-client.png"))
        finally:
            relay.close()
            browser.close()


def test_in_a_couples_session_every_pair_has_its_own_code(
    consent_docs, schedule, therapist, make_user, login_as, tmp_path
):
    """Three pages: the therapist and both partners. Each pair's two pages show the same code, and
    the three pairs' codes differ (each pair's connection runs its own exchange)."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import sign

    require_infrastructure("PostgreSQL", connection.vendor == "postgresql")
    require_infrastructure("Redis", bool(settings.REDIS_URL))
    require_infrastructure("Chromium", bool(chromium_path()))
    sam, alex = (make_user("client", name=name) for name in ("Sam Rivera", "Alex Rivera"))
    licenses_set(therapist=therapist, regions=["US-NY"], context=None)
    for partner in (sam, alex):
        sign_for_video(partner)
        sign(partner, "couples_agreement")
    appointment = schedule(sam, alex, kind="couple", in_hours=5 / 60)
    people = {"therapist": therapist, "sam": sam, "alex": alex}
    keys = {who: login_as(user).cookies[settings.SESSION_COOKIE_NAME].value for who, user in people.items()}
    with daphne(free_port(), tmp_path / "daphne.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            pages = {}
            for who, key in keys.items():
                context = browser.new_context()
                context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": url}])
                pages[who] = context.new_page()
                pages[who].goto(f"{url}/sessions/{appointment.pk}/join/")
            pages["therapist"].wait_for_selector("#devices[data-state='ok']")
            pages["therapist"].get_by_role("button", name="Open the session").click()
            for who in ("sam", "alex"):
                check_in(pages[who])
            for user in (sam, alex):
                pages["therapist"].get_by_role("button", name=f"Admit {user.full_name}").click(timeout=30_000)

            def code(page, name: str) -> str | None:
                return page.evaluate(
                    "(name) => document.querySelector(`.tile[data-peer][data-name='${name}'] .security-code`)"
                    "?.dataset.code || null",
                    name,
                )

            pairs = [("therapist", "sam"), ("therapist", "alex"), ("sam", "alex")]
            for _ in range(300):
                seen = {
                    pair: (
                        code(pages[pair[0]], people[pair[1]].full_name),
                        code(pages[pair[1]], people[pair[0]].full_name),
                    )
                    for pair in pairs
                }
                if all(a and b for a, b in seen.values()):
                    break
                pages["therapist"].wait_for_timeout(100)
            assert all(a and a == b for a, b in seen.values()), seen
            assert len({a for a, _b in seen.values()}) == 3, seen
            pages["therapist"].screenshot(path=str(ARTIFACTS / "call-couples-codes-therapist.png"))
        finally:
            browser.close()
