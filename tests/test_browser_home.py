"""In Chromium, each role's home page on the demo practice's real data, at desktop and phone
sizes: what each person looks for first is there and in view, nothing spills sideways, axe-core
finds nothing serious, and a screenshot of each is left in test-artifacts/ to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import serious_violations, sign_in_again

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Who signs in, and the heading of what they look for first.
ROLES = {
    # Dr. Santos (Dr. Okafor's own first sign-in belongs to tests/test_browser_sign_in.py).
    "therapist": ("therapist2@riverside.example", "Today and tomorrow"),
    "client": ("sam@riverside.example", "Your next session"),
    "guardian": ("parent@riverside.example", "Casey Nguyen's next session"),
    "admin": ("admin@riverside.example", "Your practice"),
    # An admin who also sees clients: both sets of links, on one line at 1280 px.
    "admin-therapist": ("director@riverside.example", "Today and tomorrow"),
}
STAFF = {"therapist", "admin", "admin-therapist"}
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def focus_ring_contrast(page, selector: str) -> float:
    """The focused element's outline against the background it sits on (WCAG 1.4.11)."""
    page.locator(selector).first.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # focus by keyboard, so that :focus-visible applies
    ring, ground = page.evaluate(
        """() => {
            const el = document.activeElement;
            let parent = el.parentElement, ground = "rgb(255, 255, 255)";
            while (parent) {
                const bg = getComputedStyle(parent).backgroundColor;
                if (bg && !bg.startsWith("rgba(0, 0, 0, 0)") && bg !== "transparent") { ground = bg; break; }
                parent = parent.parentElement;
            }
            return [getComputedStyle(el).outlineColor, ground];
        }"""
    )
    return contrast(ring, ground)


def test_each_roles_home_page_at_desktop_and_phone_sizes(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    problems: dict[str, list[str]] = {}
    for role, (email, first) in ROLES.items():
        context = browser.new_context(viewport=SIZES["desktop"])
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        sign_in_again(page, server, email)
        page.goto(f"{server.url}/")
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            heading = page.get_by_role("heading", name=first, exact=True)
            heading.wait_for()
            # The first thing they look for is on the first screen, under the greeting.
            box = heading.bounding_box()
            assert box and box["y"] < viewport["height"], (role, size, box)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), (role, size)
            # The practice's logo (the demo admin uploaded one) sits beside its name, drawn.
            logo = page.locator("header .brand img.logo")
            assert logo.is_visible() and page.evaluate(
                "() => document.querySelector('header .brand img.logo').naturalWidth"
            ), (role, size)
            page.screenshot(path=str(ARTIFACTS / f"home-{role}-{size}.png"), full_page=True)
            problems[f"{role} at {size}"] = serious_violations(page)
            links = page.locator("#main-nav a")
            menu = page.get_by_role("button", name="Menu")
            if size == "desktop" and role in STAFF:
                # Staff: a sidebar grouped by task, left of the page, every link in one column.
                assert not menu.is_visible()
                boxes = [link.bounding_box() for link in links.all()]
                main = page.locator("main").bounding_box()
                assert len({round(box["x"]) for box in boxes}) == 1, (role, boxes)
                assert all(box["x"] + box["width"] <= main["x"] + 1 for box in boxes), (role, main)
                assert page.locator("#main-nav .nav-heading").first.is_visible()
                # A client is one search away from anywhere.
                assert page.get_by_role("searchbox", name="Search clients by name").is_visible()
            elif size == "desktop":
                # Clients and guardians: the navigation is one line, with the page shown marked.
                assert not menu.is_visible()
                rows = {round(box["y"]) for box in (link.bounding_box() for link in links.all())}
                assert len(rows) == 1, (role, rows)
            elif role in STAFF:
                # Staff on a phone: the navigation is behind Menu, which opens it and says so.
                assert menu.is_visible() and not links.first.is_visible()
                menu.click()
                assert menu.get_attribute("aria-expanded") == "true" and links.first.is_visible()
                problems[f"{role} at {size}, menu open"] = serious_violations(page)
                page.keyboard.press("Escape")
                assert not links.first.is_visible()
            else:
                # Clients and guardians on a phone: five tabs at the foot of the screen, each a
                # large target; the rest under More, which opens without a page load.
                tabs = page.get_by_role("navigation", name="Main (tabs)")
                assert not menu.is_visible() and not links.first.is_visible()
                labels = tabs.locator(":scope > ul > li").all_inner_texts()
                assert [t.strip() for t in labels] == ["Home", "Sessions", "Messages", "My record", "More"], labels
                bar = tabs.bounding_box()
                assert bar and abs(bar["y"] + bar["height"] - viewport["height"]) <= 1, bar
                for tab in tabs.locator(":scope > ul > li > a, summary").all():
                    box = tab.bounding_box()
                    assert box and box["height"] >= 48 and box["width"] >= 48, box
                assert tabs.locator('a[aria-current="page"]').inner_text() == "Home"
                tabs.get_by_text("More").click()
                assert tabs.get_by_role("link", name="Consent").is_visible()
                problems[f"{role} at {size}, more open"] = serious_violations(page)
                tabs.get_by_text("More").click()
                continue
            assert page.locator('#main-nav a[aria-current="page"]').inner_text() == "Home"
        page.set_viewport_size(SIZES["desktop"])
        assert focus_ring_contrast(page, "#main-nav a") >= 3, role
        assert focus_ring_contrast(page, "main a") >= 3, role
        if role == "therapist":
            # Dr. Santos's own clients only (Casey is Dr. Okafor's alone); Morgan's session today
            # with her readiness, unless another test has ended it already.
            caseload = page.locator("#caseload").inner_text()
            assert "Morgan Reyes" in caseload and "Jordan Lee" in caseload and "Casey Nguyen" not in caseload
            today = page.locator("#today")
            if today.locator("tbody tr").count():
                assert "Morgan Reyes" in today.inner_text() and today.locator(".readiness li").count() >= 1
        if role == "client":
            # Sam's next session is the couple's, and the forms left are listed once each.
            assert "couple session with Dr. Theo Okafor" in page.locator("#next-session").inner_text()
            items = page.locator("#next-session .todo-list li").all_inner_texts()
            assert items and len(items) == len(set(items)), items
        if role == "guardian":
            assert page.locator(".next-session").count() == 1  # Casey only
        if role == "admin-therapist":
            assert page.get_by_role("heading", name="Your practice").is_visible()
            assert page.get_by_role("heading", name="Sessions without a note").is_visible()
        if role == "admin":
            assert page.locator("#audit-standing").get_by_text("Checked:").is_visible()
            # The practice's week: Dr. Okafor's three sessions tomorrow, at both sizes.
            tomorrow = page.evaluate("() => new Date(Date.now() + 864e5).toISOString().slice(0, 10)")
            page.goto(f"{server.url}/sessions/calendar/?week={tomorrow}")
            for size, viewport in SIZES.items():
                page.set_viewport_size(viewport)
                page.get_by_role("heading", name="The practice's week").wait_for()
                assert page.locator(".week .slot").count() >= 3
                assert page.locator(".week .slot", has_text="Sam Rivera, Alex Rivera").is_visible()
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), size
                page.screenshot(path=str(ARTIFACTS / f"calendar-admin-{size}.png"), full_page=True)
                problems[f"calendar at {size}"] = serious_violations(page)
            # Deactivating an account asks first and says what will happen; reactivating undoes it.
            page.set_viewport_size(SIZES["desktop"])
            page.get_by_role("link", name="Members", exact=True).click()
            page.get_by_role("link", name="Casey Nguyen", exact=True).click()
            page.get_by_role("button", name="Deactivate…").click()
            page.get_by_role("heading", name="Deactivate Casey Nguyen?").wait_for()
            assert page.get_by_text("end every session they are signed in to").is_visible()
            problems["deactivation asked"] = serious_violations(page)
            page.get_by_role("button", name="Deactivate", exact=True).click()
            page.get_by_text("Casey Nguyen can no longer sign in").wait_for()
            assert page.get_by_text("deactivated", exact=True).is_visible()
            page.get_by_role("button", name="Reactivate").click()
            page.get_by_text("Casey Nguyen can sign in again.").wait_for()
            page.screenshot(path=str(ARTIFACTS / "member-page.png"), full_page=True)
            page.goto(f"{server.url}/")
        assert not errors, errors
        context.close()
    assert not any(problems.values()), problems


def test_the_accessibility_check_finds_what_it_should(browser):
    """axe-core, as the tests run it, does report a serious problem when there is one."""
    context = browser.new_context()
    page = context.new_page()
    page.set_content('<html lang="en"><title>t</title><main><img src="x.png"><button></button></main></html>')
    found = serious_violations(page)
    assert any(v.startswith("image-alt") for v in found) and any(v.startswith("button-name") for v in found), found
    context.close()
