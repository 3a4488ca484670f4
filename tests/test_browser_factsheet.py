"""In Chromium, before signing up: from the sign-in page to the practice's privacy fact sheet, at
phone and desktop widths; and an admin reaching the safeguards."""

from __future__ import annotations

import pytest

from tests.browser import sign_in_again

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [390, 1280])
def test_a_visitor_reads_the_fact_sheet_from_the_sign_in_page(server, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))
    page.goto(f"{server.url}/login/")
    page.get_by_role("link", name="How your data is protected, where it is kept and for how long").click()
    page.get_by_role("heading", name="Privacy and security at Riverside Counselling (demo)").wait_for()
    for section in ("Signing in", "Encryption", "Video sessions", "Who saw what: the audit trail"):
        assert page.get_by_role("heading", name=section).is_visible()
    assert page.locator('[data-key="video.recording"] dd').inner_text().startswith("Sessions are never recorded")
    # Nothing spills sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert not problems, problems
    context.close()


def test_an_admin_opens_the_safeguards(server, browser):
    context = browser.new_context()
    page = context.new_page()
    sign_in_again(page, server, "admin@riverside.example")
    page.get_by_role("link", name="Safeguards").click()
    page.get_by_role("heading", name="The practice's safeguards").wait_for()
    page.get_by_role("link", name="Open the risk analysis").click()
    page.get_by_role("button", name="Start a new analysis").click()
    page.get_by_role("heading", name="Risk register").wait_for()
    assert page.locator("form.risk").count() >= 10
    context.close()
