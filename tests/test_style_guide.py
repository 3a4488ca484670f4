"""The style guide: served in the demo and development (no sign-in: it holds sample words only),
absent in production; in Chromium every component is drawn at both sizes with no serious
axe-core finding, and left in test-artifacts/ to look at."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.browser import ROOT, serious_violations

ARTIFACTS = ROOT / "test-artifacts"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.mark.django_db
@pytest.mark.embedded
def test_the_style_guide_is_served_outside_production_and_nowhere_in_it(client):
    shown = client.get(reverse("home:style_guide"))
    assert shown.status_code == 200
    body = shown.content.decode()
    for component in (
        'class="pill ok"',
        'class="danger"',
        'class="empty"',
        'class="tabs"',
        'class="avatar"',
        'class="toast"',
        'class="dialog"',
        'class="sheet"',
        'aria-invalid="true"',
        "day-separator",
    ):
        assert component in body, component
    with override_settings(PRODUCTION=True):
        assert client.get(reverse("home:style_guide")).status_code == 404
    assert client.post(reverse("home:style_guide")).status_code == 405


@pytest.mark.browser
def test_the_style_guide_at_desktop_and_phone_sizes(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    problems = {}
    for size, viewport in SIZES.items():
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        page.goto(f"{server.url}/style-guide/")
        page.get_by_role("heading", name="Style guide", exact=True).wait_for()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), size
        # The destructive button is outlined in red, unlike the primary's fill.
        danger = page.locator("#buttons button.danger").first
        assert danger.evaluate("b => getComputedStyle(b).borderColor") != page.locator(
            "#buttons button"
        ).first.evaluate("b => getComputedStyle(b).borderColor")
        page.screenshot(path=str(ARTIFACTS / f"style-guide-{size}.png"), full_page=True)
        problems[size] = serious_violations(page)
        context.close()
    assert not any(problems.values()), problems
