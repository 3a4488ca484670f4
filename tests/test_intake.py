"""Intake packets, through the pages people use: the practice builds and versions its forms (a
published version never changes); a therapist on the care team sends a packet of forms,
questionnaires and consent documents; the client (or a minor's guardian) fills it in, saves
drafts, and signs at the end, which signs the consents and files the sealed answers into the
chart; the therapist reads them (audited) and confirms demographics into the chart's details;
reminders carry no content; everyone else is refused."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import GuardianLink, Role
from audit.models import Action, AuditEvent
from consent.models import ConsentSignature
from intake import services
from intake.models import IntakeForm, IntakeFormVersion, IntakePacket, ItemKind, PacketItem
from records.models import Assessment, ClientChart
from records.services import chart_create
from tests.conftest import verified_session

pytestmark = [pytest.mark.django_db]

DEMOGRAPHICS = {
    "legal_name": "Casey Client",
    "date_of_birth": "1990-04-02",
    "phone": "555-0142",
    "address": "12 Elm Street, Springfield",
    "contact_by": "Text message",
    "voicemail": "no",
}
EMERGENCY = {
    "contact_name": "Robin Client",
    "contact_relationship": "Sister",
    "contact_phone": "555-0199",
    "contact_consent": "yes",
}


def words(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.fixture
def sent(therapist, client_user, chart, consent_docs, mailoutbox, django_capture_on_commit_callbacks):
    """A packet sent through the page with what it offers ticked (every form, both questionnaires,
    the consents the client still needs)."""
    browser = verified_session(Client(), therapist)
    page = browser.get(f"/intake/charts/{chart.pk}/send/")
    assert page.status_code == 200
    body = page.content.decode()
    forms = re.findall(r'name="forms" value="([^"]+)" checked', body)
    consents = re.findall(r'name="consents" value="([^"]+)" checked', body)
    assert len(forms) == 4 and sorted(consents) == ["telehealth", "treatment"]
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            f"/intake/charts/{chart.pk}/send/",
            {"forms": forms, "consents": consents, "questionnaires": ["phq9", "gad7"]},
        )
    assert response.status_code == 302
    return IntakePacket.objects.get(chart=chart)


def items(packet, kind=None):
    found = list(packet.items.order_by("position"))
    return [i for i in found if kind is None or i.kind == kind]


def form_item(packet, purpose):
    return next(i for i in items(packet, ItemKind.FORM) if i.form_version.form.purpose == purpose)


def fill_all(browser, packet, *, questionnaires=True):
    assert browser.post(f"/intake/items/{form_item(packet, 'demographics').pk}/", DEMOGRAPHICS).status_code == 302
    assert browser.post(f"/intake/items/{form_item(packet, 'emergency_contact').pk}/", EMERGENCY).status_code == 302
    history = {
        "reason": "Trouble sleeping since a move.",
        "therapy_before": "no",
    }
    assert browser.post(f"/intake/items/{form_item(packet, 'history').pk}/", history).status_code == 302
    insurance = {"payment": "I will pay myself"}
    assert browser.post(f"/intake/items/{form_item(packet, 'insurance').pk}/", insurance).status_code == 302
    for item in items(packet, ItemKind.CONSENT):
        assert browser.post(f"/intake/items/{item.pk}/", {"confirm_read": "on"}).status_code == 302
    if questionnaires:
        for item in items(packet, ItemKind.QUESTIONNAIRE):
            step = browser.get(f"/intake/items/{item.pk}/")
            assert step.status_code == 302 and f"packet={packet.pk}" in step["Location"]
            count = 9 if item.assessment.kind == "phq9" else 7
            answered = browser.post(step["Location"], {f"item{n}": "1" if n < 9 else "0" for n in range(1, count + 1)})
            assert answered.status_code == 302 and answered["Location"] == f"/intake/{packet.pk}/#steps"


def test_sending_a_packet_tells_the_client_without_content(sent, client_user, mailoutbox):
    assert [m.to for m in mailoutbox] == [[client_user.email]]
    text = mailoutbox[0].subject + mailoutbox[0].body
    assert f"/intake/{sent.pk}/" in text
    for secret in ("PHQ", "GAD", "About you", "history", "Insurance", client_user.full_name):
        assert secret not in text
    kinds = [i.kind for i in items(sent)]
    assert kinds == ["form"] * 4 + ["questionnaire"] * 2 + ["consent"] * 2
    assert Assessment.objects.filter(chart=sent.chart, completed_at=None).count() == 2
    assert AuditEvent.objects.filter(action=Action.INTAKE_SEND, subject_client_id=client_user.pk).count() == 1


def test_the_client_fills_in_saves_drafts_signs_and_the_answers_are_filed_sealed(
    sent, client_user, therapist, consent_docs
):
    browser = verified_session(Client(), client_user)
    demographics = form_item(sent, "demographics")
    # A draft keeps what was given, with required answers still missing.
    draft = browser.post(f"/intake/items/{demographics.pk}/", {"phone": "555-0142", "draft": "1"})
    assert draft.status_code == 302
    demographics.refresh_from_db()
    assert json.loads(demographics.answers) == {"phone": "555-0142"} and demographics.completed_at is None
    assert "555-0142" in browser.get(f"/intake/items/{demographics.pk}/").content.decode()
    # Finishing needs every required answer; a bad date is refused and nothing already kept changes.
    missing = browser.post(f"/intake/items/{demographics.pk}/", {"phone": "555-0142"})
    assert missing.status_code == 400 and "Please answer: Legal name" in words(missing)
    bad = browser.post(f"/intake/items/{demographics.pk}/", {**DEMOGRAPHICS, "date_of_birth": "1990-13-45"})
    assert bad.status_code == 400 and "give a date as YYYY-MM-DD" in words(bad)
    odd = browser.post(f"/intake/items/{demographics.pk}/", {**DEMOGRAPHICS, "contact_by": "Pigeon"})
    assert odd.status_code == 400 and "choose one of the answers offered" in words(odd)
    demographics.refresh_from_db()
    assert json.loads(demographics.answers) == {"phone": "555-0142"}
    # Signing before everything is done is refused.
    early = browser.post(f"/intake/{sent.pk}/sign/", {"typed_name": client_user.full_name}, follow=True)
    assert "Finish these first" in words(early)
    fill_all(browser, sent)
    page = browser.get(f"/intake/{sent.pk}/")
    assert "8 of 8 done" in words(page) and "Sign and send" in words(page)
    wrong = browser.post(f"/intake/{sent.pk}/sign/", {"typed_name": "Someone Else"}, follow=True)
    assert "Type your full name exactly" in words(wrong)
    signed = browser.post(f"/intake/{sent.pk}/sign/", {"typed_name": client_user.full_name}, follow=True)
    assert "Signed by Casey Client" in words(signed)
    sent.refresh_from_db()
    assert sent.signed_at and sent.signed_by == client_user
    assert all(i.filed_at for i in items(sent) if i.kind != ItemKind.QUESTIONNAIRE)
    # The consents were signed through the consent service, with the typed name.
    kinds = set(ConsentSignature.objects.filter(on_behalf_of=client_user).values_list("kind", flat=True))
    assert kinds == {"treatment", "telehealth"}
    # Sealed at rest: the database holds no answer in the clear.
    with connection.cursor() as cursor:
        cursor.execute("SELECT answers FROM intake_packetitem")
        stored = " ".join(row[0] or "" for row in cursor.fetchall())
    assert "555-0142" not in stored and "Elm Street" not in stored and "sleeping" not in stored
    # Once signed, nothing changes.
    again = browser.post(f"/intake/items/{demographics.pk}/", {**DEMOGRAPHICS, "phone": "555-0000"})
    assert again.status_code == 409
    # The client's copy of the record carries the forms.
    from intake.selectors import intake_for_export
    from records.selectors import Access

    exported = intake_for_export(sent.chart, client_user, Access.CLIENT)
    assert {e["form"] for e in exported} == {"About you", "Your history", "Emergency contact", "Insurance"}
    assert next(e for e in exported if e["form"] == "About you")["answers"]["Phone"] == "555-0142"


def test_the_therapist_reads_filed_answers_audited_and_confirms_them_into_the_chart(
    sent, client_user, therapist, mailoutbox, django_capture_on_commit_callbacks
):
    client_browser = verified_session(Client(), client_user)
    therapist_browser = verified_session(Client(), therapist)
    demographics = form_item(sent, "demographics")
    # Before filing, the care team follows progress but reads no answer.
    client_browser.post(f"/intake/items/{demographics.pk}/", {"phone": "555-0142", "draft": "1"})
    assert therapist_browser.get(f"/intake/items/{demographics.pk}/").status_code == 404
    packet_page = therapist_browser.get(f"/intake/{sent.pk}/")
    assert packet_page.status_code == 200 and "555-0142" not in packet_page.content.decode()
    home = therapist_browser.get("/")
    assert "Intake packets outstanding" in words(home) and "Casey Client : 0 of 8 done" in words(home)
    fill_all(client_browser, sent)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client_browser.post(f"/intake/{sent.pk}/sign/", {"typed_name": client_user.full_name})
    assert [m.to for m in mailoutbox] == [[therapist.email]] and "555" not in mailoutbox[0].body
    before = AuditEvent.objects.filter(action=Action.INTAKE_VIEW).count()
    answers = therapist_browser.get(f"/intake/items/{demographics.pk}/")
    assert answers.status_code == 200
    assert "555-0142" in words(answers) and "12 Elm Street" in words(answers) and "Text message" in words(answers)
    event = AuditEvent.objects.filter(action=Action.INTAKE_VIEW).latest("id")
    assert AuditEvent.objects.filter(action=Action.INTAKE_VIEW).count() == before + 1
    assert event.actor_id == therapist.pk and event.subject_client_id == client_user.pk
    # The chart page lists what was filed; demographics go into the chart's details on confirming.
    chart_page = therapist_browser.get(f"/records/charts/{sent.chart_id}/")
    assert "About you" in words(chart_page) and f"/intake/items/{demographics.pk}/" in chart_page.content.decode()
    assert ClientChart.objects.get(pk=sent.chart_id).phone == ""
    confirmed = therapist_browser.post(f"/intake/items/{demographics.pk}/confirm/")
    assert confirmed.status_code == 302
    chart = ClientChart.objects.get(pk=sent.chart_id)
    assert (chart.phone, chart.date_of_birth, chart.address) == ("555-0142", "1990-04-02", "12 Elm Street, Springfield")
    emergency = form_item(sent, "emergency_contact")
    therapist_browser.post(f"/intake/items/{emergency.pk}/confirm/")
    chart.refresh_from_db()
    assert chart.emergency_contact == "Robin Client, Sister, 555-0199"
    assert AuditEvent.objects.filter(action=Action.INTAKE_CONFIRM, subject_client_id=client_user.pk).count() == 2
    history = form_item(sent, "history")
    nothing = therapist_browser.post(f"/intake/items/{history.pk}/confirm/", follow=True)
    assert "no answers that go into the chart" in words(nothing)
    assert "None: every packet sent has come back signed." in words(therapist_browser.get("/"))


def test_who_else_reaches_a_packet(sent, client_user, admin, colleague, make_user, practice):
    """An admin (even one who also sees clients), a therapist off the care team, another client
    and an adult's 'guardian' are refused, with one audited refusal each; the pages never 500."""
    admin_therapist = make_user(Role.ADMIN, name="Dana Director")
    from accounts.models import RoleGrant

    RoleGrant.objects.create(user=admin_therapist, role=Role.THERAPIST)
    sent.chart.care_team.add(admin_therapist)
    other_client = make_user(Role.CLIENT, name="Other Client")
    adult_guardian = make_user(Role.GUARDIAN, name="Not A Guardian")
    GuardianLink.objects.create(guardian=adult_guardian, client=client_user)  # the client is an adult
    item = form_item(sent, "demographics")
    for person in (admin, admin_therapist, colleague, other_client, adult_guardian):
        browser = verified_session(Client(), person)
        before = AuditEvent.objects.filter(action=Action.ACCESS_DENIED).count()
        assert browser.get(f"/intake/{sent.pk}/").status_code in (403, 404), person
        assert browser.post(f"/intake/items/{item.pk}/", DEMOGRAPHICS).status_code in (403, 404), person
        assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED).count() == before + 2
    item.refresh_from_db()
    assert item.answers == ""
    # Send refuses an admin (no clinical content) and a therapist off the team.
    for person in (admin, colleague):
        browser = verified_session(Client(), person)
        assert browser.get(f"/intake/charts/{sent.chart_id}/send/").status_code in (403, 404)
    # A bad id is a 404, never a 500.
    browser = verified_session(Client(), client_user)
    assert browser.get("/intake/00000000-0000-4000-8000-000000000000/").status_code == 404


def test_a_guardian_completes_a_minors_packet_and_signs_the_guardian_consent(
    therapist, client_user, guardian, consent_docs, make_user, mailoutbox, django_capture_on_commit_callbacks
):
    chart = ClientChart.objects.get(client=client_user)
    chart.care_team.add(therapist)
    services.forms_ready(practice=client_user.practice)
    forms = [str(f.pk) for f in IntakeForm.objects.filter(practice=client_user.practice)]
    from records.selectors import Access

    with django_capture_on_commit_callbacks(execute=True):
        packet = services.packet_send(
            actor=therapist, chart=chart, access=Access.CARE_TEAM, form_ids=forms,
            consent_kinds=["guardian", "telehealth"], questionnaires=["phq9"], context=None,
        )  # fmt: skip
    # The e-mail goes to the guardian, who fills the minor's packet in.
    assert [m.to for m in mailoutbox] == [[guardian.email]]
    other_guardian = make_user(Role.GUARDIAN, name="Another Guardian")
    other_minor = make_user(Role.CLIENT, name="Other Minor")
    chart_create(actor=None, client=other_minor, therapists=[therapist])
    ClientChart.objects.filter(client=other_minor).update(is_minor=True)
    GuardianLink.objects.create(guardian=other_guardian, client=other_minor)
    stranger = verified_session(Client(), other_guardian)
    assert stranger.get(f"/intake/{packet.pk}/").status_code == 404
    browser = verified_session(Client(), guardian)
    home = browser.get("/")
    assert f"/intake/{packet.pk}/" in home.content.decode()
    fill_all(browser, packet, questionnaires=False)
    # The questionnaire is the minor's own to answer; it does not hold the guardian's signature.
    page = browser.get(f"/intake/{packet.pk}/")
    assert "Casey Client answers this one" in words(page)
    questionnaire = items(packet, ItemKind.QUESTIONNAIRE)[0]
    assert browser.get(f"/intake/items/{questionnaire.pk}/").status_code == 404
    signed = browser.post(f"/intake/{packet.pk}/sign/", {"typed_name": guardian.full_name}, follow=True)
    assert "Signed by Gale Guardian" in words(signed)
    signatures = ConsentSignature.objects.filter(on_behalf_of=client_user, signer=guardian)
    assert set(signatures.values_list("kind", flat=True)) == {"guardian", "telehealth"}


def test_the_minor_cannot_sign_the_guardian_consent(therapist, client_user, guardian, consent_docs):
    chart = ClientChart.objects.get(client=client_user)
    chart.care_team.add(therapist)
    from records.selectors import Access

    packet = services.packet_send(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, form_ids=[], consent_kinds=["guardian"],
        questionnaires=[], context=None,
    )  # fmt: skip
    browser = verified_session(Client(), client_user)
    item = items(packet)[0]
    assert browser.post(f"/intake/items/{item.pk}/", {"confirm_read": "on"}).status_code == 302
    refused = browser.post(f"/intake/{packet.pk}/sign/", {"typed_name": client_user.full_name}, follow=True)
    assert "is signed by a guardian" in words(refused)
    packet.refresh_from_db()
    assert packet.signed_at is None and not ConsentSignature.objects.filter(on_behalf_of=client_user).exists()


def test_the_form_builder_versions_forms_and_a_published_version_never_changes(
    admin, therapist, client_user, chart, consent_docs
):
    browser = verified_session(Client(), admin)
    assert "About you" in words(browser.get("/intake/forms/"))  # the ready-made forms
    created = browser.post("/intake/forms/", {"title": "Sleep diary"})
    draft = IntakeFormVersion.objects.get(form__title="Sleep diary")
    assert created["Location"] == f"/intake/forms/{draft.pk}/"
    url = f"/intake/forms/{draft.pk}/"
    for bad, message in (
        ({"action": "add", "label": "", "kind": "text"}, "This is needed"),
        ({"action": "add", "label": "Mood", "kind": "scale", "low": "5", "high": "3"}, "within 0 to 10"),
        ({"action": "add", "label": "Pick", "kind": "choice", "choices": "Only one"}, "Give between 2 and"),
        ({"action": "add", "label": "Odd", "kind": "audio"}, "what kind of answer"),
        ({"action": "add", "label": "Where", "kind": "text", "chart": "password"}, "where in the chart"),
        ({"action": "explode"}, "Choose what to do"),
    ):
        response = browser.post(url, bad)
        assert response.status_code == 400 and message in words(response), bad
    assert browser.post(url, {"action": "publish"}).status_code == 400  # no fields yet
    browser.post(
        url, {"action": "add", "label": "Hours slept", "kind": "scale", "low": "0", "high": "10", "required": "on"}
    )
    browser.post(url, {"action": "add", "label": "Woke in the night?", "kind": "yes_no"})
    browser.post(url, {"action": "up", "key": "woke_in_the_night"})
    draft.refresh_from_db()
    assert [f["key"] for f in json.loads(draft.fields)] == ["woke_in_the_night", "hours_slept"]
    assert browser.post(url, {"action": "publish"}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == "published"
    frozen = draft.fields
    refused = browser.post(url, {"action": "add", "label": "Dreams", "kind": "paragraph"})
    assert refused.status_code == 400 and "never changes" in words(refused)
    draft.fields = "[]"
    with pytest.raises(PermissionError):
        draft.save()
    # A packet sent now uses version 1; a second version leaves it alone.
    from records.selectors import Access

    packet = services.packet_send(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, form_ids=[str(draft.form_id)],
        consent_kinds=[], questionnaires=[], context=None,
    )  # fmt: skip
    browser.post(url, {"action": "draft"})
    second = IntakeFormVersion.objects.get(form=draft.form, number=2)
    browser.post(f"/intake/forms/{second.pk}/", {"action": "remove", "key": "woke_in_the_night"})
    browser.post(f"/intake/forms/{second.pk}/", {"action": "publish"})
    draft.refresh_from_db()
    assert draft.status == "superseded" and draft.fields == frozen
    item = items(packet)[0]
    assert item.form_version_id == draft.pk
    client = verified_session(Client(), client_user)
    step = client.get(f"/intake/items/{item.pk}/")
    assert "Woke in the night?" in words(step)
    scale = client.post(f"/intake/items/{item.pk}/", {"hours_slept": "11"})
    assert scale.status_code == 400 and "choose a number from 0 to 10" in words(scale)
    # Only an admin builds forms.
    assert verified_session(Client(), therapist).get("/intake/forms/").status_code == 403


def test_reminders_say_nothing_of_content_and_stop(sent, client_user, mailoutbox, django_capture_on_commit_callbacks):
    mailoutbox.clear()
    now = timezone.now()

    def reminders_send(now):
        with django_capture_on_commit_callbacks(execute=True):
            return services.reminders_send(now=now)

    assert reminders_send(now=now) == 0  # not yet two days
    assert reminders_send(now=now + timedelta(days=2, minutes=1)) == 1
    assert [m.to for m in mailoutbox] == [[client_user.email]]
    assert "PHQ" not in mailoutbox[0].body and f"/intake/{sent.pk}/" in mailoutbox[0].body
    assert reminders_send(now=now + timedelta(days=3)) == 0  # not again so soon
    assert reminders_send(now=now + timedelta(days=5, minutes=2)) == 1
    assert reminders_send(now=now + timedelta(days=8, minutes=3)) == 1
    assert reminders_send(now=now + timedelta(days=20)) == 0  # three at most
    assert AuditEvent.objects.filter(action=Action.INTAKE_REMIND, subject_client_id=client_user.pk).count() == 3
    sent.withdrawn_at = timezone.now()
    sent.save()
    assert reminders_send(now=now + timedelta(days=30)) == 0


def test_a_withdrawn_packet_takes_no_more_answers(sent, therapist, client_user):
    browser = verified_session(Client(), therapist)
    assert browser.post(f"/intake/{sent.pk}/withdraw/").status_code == 302
    client = verified_session(Client(), client_user)
    late = client.post(f"/intake/items/{form_item(sent, 'demographics').pk}/", DEMOGRAPHICS)
    assert late.status_code == 409 and "withdrew this packet" in words(late)
    assert all(i.answers == "" for i in PacketItem.objects.filter(packet=sent))
    assert "Complete your intake forms" not in words(client.get("/"))


def test_a_consent_signed_minutes_before_is_not_asked_again(sent, client_user, consent_docs):
    from tests.conftest import sign

    browser = verified_session(Client(), client_user)
    sign(client_user, "treatment")  # at Join, say, before opening the packet
    page = words(browser.get(f"/intake/{sent.pk}/"))
    assert "already signed" in page and "1 of 8 done" in page
    treatment = next(i for i in items(sent, ItemKind.CONSENT) if i.consent_document.kind == "treatment")
    telehealth = next(i for i in items(sent, ItemKind.CONSENT) if i.consent_document.kind == "telehealth")
    for item in items(sent, ItemKind.CONSENT):
        if item.pk == telehealth.pk:
            assert browser.post(f"/intake/items/{item.pk}/", {"confirm_read": "on"}).status_code == 302
    fill_all(browser, sent)
    before = ConsentSignature.objects.filter(on_behalf_of=client_user, kind="treatment").count()
    signed = browser.post(f"/intake/{sent.pk}/sign/", {"typed_name": client_user.full_name}, follow=True)
    assert "Signed by Casey Client" in words(signed)
    # The treatment consent is not signed a second time; the telehealth one is signed now.
    assert ConsentSignature.objects.filter(on_behalf_of=client_user, kind="treatment").count() == before == 1
    assert ConsentSignature.objects.filter(on_behalf_of=client_user, kind="telehealth").count() == 1
    treatment.refresh_from_db()
    assert treatment.filed_at is not None
