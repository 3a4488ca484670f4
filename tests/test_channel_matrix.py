"""The channel matrix: for every persona of the access matrix, what leaves the platform by each
channel that is not a page, and that it is exactly what the door gives them.

- The copy of the record (JSON, page and PDF): who may ask for one; for who may, every section the
  chart's rule lets them reach is in it and every other is withheld, in all three forms alike; a
  conversation in it is one the messaging door lets them open.
- A clinical alert (a PHQ-9 with item 9 above 0): the home page's card, the e-mail and the live
  push's recipients are exactly the people who can open the chart's clinical content.

In the access matrix's world: an adult in couples work (with a partner, an off-team therapist,
one under emergency access, an admin, an admin who is also on the care team, a "guardian" of an
adult, another practice) and a minor with a guardian, whose chart shares clinical content with
guardians until the test turns that off.
"""

from __future__ import annotations

import json

import pytest
from django.core import mail

from accounts.models import User
from messaging.models import Conversation
from messaging.selectors import conversation_reach
from records.copy import WITHHELD, sections
from records.models import ClientChart, RecordExport
from records.selectors import Need, chart_reaches, clinical_readers
from tests.access_world import (
    ADULT_PERSONAS,
    GUARDIAN,
    MINOR_PERSONAS,
    SELF,
    TEAM,
    build,
    signed_in,
)
from tests.test_records_export import pdf_text

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

MAY_ASK = {"adult": {SELF}, "minor": {SELF, GUARDIAN}}


def expected_withheld(user: User, chart: ClientChart) -> set[str]:
    return {s.key for s in sections() if not chart_reaches(user=user, chart_id=chart.pk, need=s.need)}


def check_copy(browser, user: User, chart: ClientChart, capture, where: str) -> list[str]:
    problems = []
    with capture(execute=True):
        asked = browser.post(f"/records/charts/{chart.pk}/exports/")
    if asked.status_code != 302:
        return [f"{where}: asking for a copy gave {asked.status_code}"]
    export = RecordExport.objects.filter(requested_by=user).latest("created_at")
    data = json.loads(browser.get(f"/records/exports/{export.pk}/?format=json").content)
    page = " ".join(browser.get(f"/records/exports/{export.pk}/?format=html").content.decode().split())
    pdf = " ".join(pdf_text(browser.get(f"/records/exports/{export.pk}/?format=pdf").content).split())
    withheld = expected_withheld(user, chart)
    if set(data["withheld"]) != withheld:
        problems.append(f"{where}: withheld {sorted(data['withheld'])}, the door says {sorted(withheld)}")
    for section in sections():
        present = section.key in data
        if present == (section.key in withheld):
            problems.append(f"{where}: section {section.key} present={present} against the door")
        for form, text in (("page", page), ("PDF", pdf)):
            if section.title not in text:
                problems.append(f"{where}: the {form} has no {section.title} heading")
    if withheld and (WITHHELD.split(":")[0] not in page or WITHHELD.split(":")[0] not in pdf):
        problems.append(f"{where}: a withheld section is not said to be withheld in the page and the PDF")
    for conversation in {m["conversation"] for m in data.get("messages", [])}:
        if conversation_reach(user=user, conversation=Conversation.objects.get(pk=conversation)) is None:
            problems.append(f"{where}: the copy holds a conversation the messaging door refuses")
    return problems


def test_the_copy_of_the_record_follows_the_door_for_every_persona(django_capture_on_commit_callbacks):
    adult, minor = build()
    problems: list[str] = []
    for kind, subject, personas in (("adult", adult, ADULT_PERSONAS), ("minor", minor, MINOR_PERSONAS)):
        chart = ClientChart.objects.get(pk=subject.objects["chart_id"])
        for persona in personas:
            user = subject.people[persona]
            browser = signed_in(user)
            where = f"{kind}'s copy as {persona}"
            if persona in MAY_ASK[kind]:
                problems += check_copy(browser, user, chart, django_capture_on_commit_callbacks, where)
            else:
                refused = browser.post(f"/records/charts/{chart.pk}/exports/")
                if refused.status_code not in (403, 404):
                    problems.append(f"{where}: asking for a copy gave {refused.status_code}, not a refusal")
                if RecordExport.objects.filter(requested_by=user, chart=chart).exists():
                    problems.append(f"{where}: a copy was made")
    # The minor's chart stops sharing clinical content with guardians: the guardian's new copy follows.
    chart = ClientChart.objects.get(pk=minor.objects["chart_id"])
    ClientChart.objects.filter(pk=chart.pk).update(guardian_sees_notes=False)
    chart.refresh_from_db()
    guardian = minor.people[GUARDIAN]
    problems += check_copy(
        signed_in(guardian), guardian, chart, django_capture_on_commit_callbacks, "minor's copy as guardian, not shared"
    )
    assert expected_withheld(guardian, chart) >= {s.key for s in sections() if s.need is Need.CLINICAL}
    assert not problems, "\n".join(problems)


def test_a_clinical_alert_reaches_exactly_those_who_can_open_the_chart(django_capture_on_commit_callbacks):
    from records.selectors import Access
    from records.services import assessment_assign, assessment_submit

    adult, minor = build()
    for subject, personas in ((adult, ADULT_PERSONAS), (minor, MINOR_PERSONAS)):
        chart = ClientChart.objects.get(pk=subject.objects["chart_id"])
        readers = {u.pk for u in clinical_readers(chart=chart)}
        assert readers == {subject.people[TEAM].pk}, readers  # the admin-therapist on the team is not one
        mail.outbox.clear()
        assessment = assessment_assign(
            actor=subject.people[TEAM], chart=chart, access=Access.CARE_TEAM, kind="phq9", context=None
        )
        with django_capture_on_commit_callbacks(execute=True):
            assessment_submit(actor=subject.client, assessment=assessment, answers=[0] * 8 + [2], context=None)
        told = {address for m in mail.outbox if "needs your attention" in m.subject for address in m.to}
        assert told == {subject.people[TEAM].email}, told
        for persona in personas:
            user = subject.people[persona]
            home = signed_in(user).get("/")
            shows = home.status_code == 200 and "Needs attention" in home.content.decode()
            assert shows == (user.pk in readers), (persona, shows)


def test_a_partner_s_copy_holds_the_couple_s_joint_messages_and_not_the_other_partner_s_own(
    django_capture_on_commit_callbacks,
):
    from messaging.selectors import Reach
    from messaging.services import conversation_start, message_send

    adult, _minor = build()
    partner, team = adult.people["partner"], adult.people[TEAM]
    joint = conversation_start(actor=team, clients=[adult.client, partner], therapist=team, context=None)
    message_send(actor=team, conversation=joint, reach=Reach.THERAPIST, body="For you both.", context=None)
    chart = ClientChart.objects.get(client=partner)
    browser = signed_in(partner)
    assert not check_copy(browser, partner, chart, django_capture_on_commit_callbacks, "partner's own copy")
    export = RecordExport.objects.filter(requested_by=partner).latest("created_at")
    texts = [m["text"] for m in json.loads(export.payload)["messages"]]
    assert "For you both." in texts and "A question before Tuesday." not in texts
