"""In Chromium, one incident from start to end: a client reports a concern from a phone, an admin
triages it, lists the client as affected, writes the notice, e-mails it, replies and closes it;
the client sees the reply and the closing."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.browser import sign_in_again

pytestmark = pytest.mark.browser

LETTER = {
    "#l-what_happened": "A reminder e-mail with your appointment time was sent to another client by mistake.",
    "#l-information": "Your first name and the time of one appointment.",
    "#l-steps": "Nothing is needed; tell us if anyone contacts you about it.",
    "#l-our_response": "We asked the other client to delete it and now check addresses twice.",
    "#l-contact": "Call 1-800-555-0100 or write to privacy@riverside.example.",
}


def watch(page, problems):
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(m.text))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status} {r.url}"))


def test_one_incident_from_a_clients_report_to_notices_sent_and_closed(server, browser):
    problems: list[str] = []
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    client = phone.new_page()
    watch(client, problems)
    sign_in_again(client, server, "sam@riverside.example")
    tabs = client.get_by_role("navigation", name="Main (tabs)")  # on a phone: tabs, the rest under More
    tabs.get_by_text("More").click()
    tabs.get_by_role("link", name="Report a concern").click()
    client.get_by_role("heading", name="Your privacy concerns").wait_for()
    assert client.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    client.get_by_role("link", name="Report a concern").last.click()
    client.get_by_label("What happened?").fill("I got an e-mail meant for another client, with their appointment.")
    client.get_by_role("button", name="Send to the practice").click()
    client.get_by_role("heading", name=re.compile(r"^Concern \d+$")).wait_for()
    number = client.get_by_role("heading", name=re.compile(r"^Concern \d+$")).inner_text().split()[-1]
    assert client.locator("#report-status").inner_text() == "Received"
    assert "your concern was received" in client.locator(".messages").inner_text()
    assert client.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    report_url = client.url

    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = desktop.new_page()
    watch(admin, problems)
    sign_in_again(admin, server, "admin@riverside.example")
    admin.get_by_role("link", name="Incidents", exact=True).click()
    admin.get_by_role("link", name=f"Incident {number}", exact=True).click()
    admin.get_by_role("heading", name=f"Incident {number} · Received").wait_for()
    assert "meant for another client" in admin.locator("#report-h + p").inner_text()

    # Triage: discovered yesterday, unencrypted e-mail, a breach to notify.
    discovered = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    admin.get_by_label("Discovered on").fill(discovered.isoformat())
    admin.get_by_label("Type", exact=True).select_option(label="Unauthorized access or disclosure")
    admin.get_by_label("Where the information was").select_option(label="E-mail")
    admin.get_by_label("The nature and extent").fill("A first name and an appointment time.")
    admin.get_by_label("The unauthorized person").fill("Another client of the practice.")
    admin.get_by_label("Whether the information").fill("Read: the client told us.")
    admin.get_by_label("How far the risk").fill("They deleted it at our request.")
    admin.get_by_label("Outcome").select_option(label="A breach: notify")
    admin.get_by_role("button", name="Save the triage").click()
    admin.get_by_text("Triage saved.").wait_for()
    assert "it was unsecured" in admin.locator(".suggestion").inner_text()
    due = discovered + dt.timedelta(days=60)
    assert admin.locator('[data-audience="individual"] time').get_attribute("datetime") == due.isoformat()

    # Who was affected: the client who received it is not; the one whose details were sent is.
    admin.get_by_label("One client").select_option(label="Jordan Lee")
    admin.get_by_role("button", name="Add", exact=True).click()
    admin.get_by_text("The list of people affected was updated.").wait_for()
    row = admin.locator("li[data-person]")
    assert row.count() == 1 and "Jordan Lee" in row.inner_text()
    row.get_by_label("Lives in").select_option(label="New York")
    row.get_by_label("Notice", exact=True).select_option(value="email")
    row.get_by_role("button", name="Save").click()
    admin.get_by_text("Saved.", exact=True).wait_for()

    # The letter, element by element, then sent.
    for selector, text in LETTER.items():
        admin.locator(selector).fill(text)
    admin.get_by_role("button", name="Save the letter").click()
    admin.get_by_text("The letter was saved.").wait_for()
    assert "Dear Jordan Lee" in admin.locator(".letter pre").inner_text()
    admin.get_by_role("button", name=re.compile("E-mail the notice to 1 person")).click()
    admin.get_by_text("1 notice sent and recorded.").wait_for()
    assert admin.locator('[data-audience="individual"] [data-state]').inner_text().startswith("done on")
    assert admin.locator("li[data-person]").get_attribute("data-state") == "notified"

    admin.get_by_label("Reply").fill("Thank you. We have told the person whose details were sent, and fixed it.")
    admin.get_by_role("button", name="Send", exact=True).click()
    admin.get_by_text("Your message was added.").wait_for()
    admin.get_by_label("How it ended").fill("Notified; the e-mail was deleted by its recipient.")
    admin.get_by_role("button", name="Close the incident").click()
    admin.get_by_role("heading", name=f"Incident {number} · Closed").wait_for()
    assert admin.get_by_role("button", name="Reopen the incident").is_visible()
    # The admin's page reads on a phone too: nothing spills sideways.
    admin.set_viewport_size({"width": 390, "height": 844})
    assert admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    admin.get_by_role("link", name="Privacy incidents").click()
    assert admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    # The client sees the reply and that it is closed. The test server signs an idle page out
    # after 40 seconds, and the admin's part may take longer on a busy machine: then the client
    # signs in again, as anyone coming back to the page would.
    client.goto(report_url)
    if "/login/" in client.url:
        sign_in_again(client, server, "sam@riverside.example")
        client.goto(report_url)
    assert client.locator("#report-status").inner_text() == "Closed"
    assert "We have told the person" in client.locator(".thread").inner_text()
    # The notice really went out by e-mail (the embedded default prints mail to the console).
    log = (server.data_dir / "run.log").read_text()
    assert "Notice of a privacy incident at Riverside Counselling" in log and "Dear Jordan Lee" in log
    assert not problems, problems
    phone.close()
    desktop.close()
