"""Each role's home page shows today's work, from real data, and only the viewer's own: the
therapist's sessions with each client's readiness, drafts, new questionnaires (alerts first) and
missing consents; the client's next session with what is left before it; a guardian's, for each
minor in their care; the admin's practice. Persona by persona."""

from __future__ import annotations

import re

import pytest

from accounts.models import Invitation, Role
from records.selectors import Access
from records.services import assessment_assign, assessment_submit, note_create, note_share, note_sign
from tests.conftest import check_in, sign, sign_for_video

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

SECTIONS = {"subjective": "s", "objective": "o", "assessment": "a", "plan": "p"}


def text(response) -> str:
    """The page's words, without markup (as a screen reader would have them, roughly)."""
    body = response.content.decode()
    body = body[body.index("<main") :]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def phq9(chart, therapist, client, item9: int):
    assessment = assessment_assign(actor=therapist, chart=chart, access=Access.CARE_TEAM, kind="phq9", context=None)
    assessment_submit(actor=client, assessment=assessment, answers=[1, 1, 1, 1, 1, 1, 1, 1, item9], context=None)
    return assessment


def test_the_therapist_sees_todays_sessions_with_each_clients_readiness(
    login_as, therapist, client_user, consent_docs, schedule
):
    soon = schedule(client_user, in_hours=5 / 60)
    page = text(login_as(therapist).get("/"))
    assert "Today and tomorrow" in page and "Casey Client" in page
    assert "consent missing" in page and "not checked in" in page
    sign_for_video(client_user)
    check_in(client_user, soon)
    html = login_as(therapist).get("/").content.decode()
    assert "consents signed" in text_of(html) and "checked in" in text_of(html)
    assert f'href="/sessions/{soon.pk}/join/"' in html  # the join window is open


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_withdrawn_consent_is_named_as_withdrawn(login_as, therapist, client_user, consent_docs, schedule):
    from consent.services import consent_withdraw

    schedule(client_user, in_hours=30)
    signature = sign(client_user, "treatment")
    sign(client_user, "telehealth")
    consent_withdraw(actor=client_user, signature=signature, reason="", context=None)
    page = text(login_as(therapist).get("/"))
    assert re.search(r"Casey Client , before \d+ \w+: withdrawn consent to treatment", page), page


def test_drafts_and_new_questionnaires_alerts_first_until_opened(login_as, therapist, colleague, client_user, chart):
    chart.care_team.add(colleague)
    mine = note_create(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, template="soap", sections=SECTIONS, context=None
    )
    theirs = note_create(
        actor=colleague, chart=chart, access=Access.CARE_TEAM, template="soap", sections=SECTIONS, context=None
    )
    phq9(chart, therapist, client_user, item9=2)  # the older one needs attention: it still comes first
    phq9(chart, therapist, client_user, item9=0)
    client = login_as(therapist)
    html = client.get("/").content.decode()
    assert f"/records/notes/{mine.pk}/" in html and f"/records/notes/{theirs.pk}/" not in html
    # The one that needs attention comes first, marked; neither shows a score or an answer.
    page = text(client.get("/"))
    listed = page[page.index("Questionnaires to look at") : page.index("Consent needed")]
    assert listed.split(" from Casey Client")[0].strip().endswith("Needs attention: PHQ-9 (depression)")
    assert listed.count("PHQ-9 (depression) from Casey Client") == 2 and listed.count("Needs attention") == 1
    assert "score" not in page.lower() and "severity" not in page.lower()
    # Once the chart is opened, they are no longer new; a later one is.
    assert client.get(f"/records/charts/{chart.pk}/").status_code == 200
    assert "PHQ-9 (depression) from Casey Client" not in text(client.get("/"))
    phq9(chart, therapist, client_user, item9=0)
    assert text(client.get("/")).count("PHQ-9 (depression) from Casey Client") == 1
    # Signed, the draft leaves the list.
    note_sign(actor=therapist, note=mine, context=None)
    assert f"/records/notes/{mine.pk}/" not in client.get("/").content.decode()


def test_a_therapist_sees_their_own_caseload_only(login_as, therapist, colleague, client_user, make_user, chart):
    other = make_user(Role.CLIENT, name="Olive Other")
    from records.models import ClientChart

    ClientChart.objects.create(client=other, practice_id=other.practice_id).care_team.add(colleague)
    page = text(login_as(therapist).get("/"))
    assert "Your clients" in page and "Casey Client" in page and "Olive Other" not in page
    # Off the care team, nothing of Casey's either.
    assert "Casey Client" not in text(login_as(colleague).get("/"))


def test_the_client_sees_the_next_session_and_what_is_left_before_it(
    login_as, therapist, client_user, chart, consent_docs, schedule
):
    later = schedule(client_user, in_hours=48)
    assessment_assign(actor=therapist, chart=chart, access=Access.CARE_TEAM, kind="gad7", context=None)
    page = text(login_as(client_user).get("/"))
    assert "Your next session" in page and "You can join from" in page and "Join the session" not in page
    assert page.count("Read and sign: Consent to treatment") == 1
    assert "Answer the GAD-7 (anxiety) questionnaire" in page
    assert "None yet. When your therapist shares a note" in page
    assert "appear here as your practice sets them up" not in page  # no placeholder text
    soon = schedule(client_user, in_hours=5 / 60)
    html = login_as(client_user).get("/").content.decode()
    assert f'href="/sessions/{soon.pk}/join/"' in html and "Join the session" in html
    assert "After that" in html and str(later.pk) not in html  # listed by time, not linked
    note = note_create(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, template="soap", sections=SECTIONS, context=None
    )
    note_share(actor=therapist, note=note_sign(actor=therapist, note=note, context=None), context=None)
    assert "from Theo Therapist" in text(login_as(client_user).get("/"))


def test_a_guardian_sees_each_minor_in_their_care_and_no_one_else(
    login_as, therapist, guardian, client_user, make_user, consent_docs, schedule
):
    from accounts.models import GuardianLink
    from records.models import ClientChart

    schedule(client_user, in_hours=30)
    page = text(login_as(guardian).get("/"))
    assert "Casey Client's next session" in page and "(for Casey Client)" in page
    # A guardian of another minor sees nothing of Casey.
    other_guardian = make_user(Role.GUARDIAN, name="Gus Guardian")
    minor = make_user(Role.CLIENT, name="Mia Minor")
    ClientChart.objects.create(client=minor, practice_id=minor.practice_id, is_minor=True)
    GuardianLink.objects.create(guardian=other_guardian, client=minor)
    page = text(login_as(other_guardian).get("/"))
    assert "Mia Minor's next session" in page and "Casey" not in page
    # A guardian linked to an adult acts for no one here.
    adult_guardian = make_user(Role.GUARDIAN, name="Ann Adult-Guardian")
    adult = make_user(Role.CLIENT, name="Adam Adult")
    ClientChart.objects.create(client=adult, practice_id=adult.practice_id, is_minor=False)
    GuardianLink.objects.create(guardian=adult_guardian, client=adult)
    page = text(login_as(adult_guardian).get("/"))
    assert "Adam Adult" not in page and "None yet. The practice links you" in page


def test_the_admin_sees_what_in_the_practice_needs_them(login_as, admin, make_user, stranger):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import TOTPDevice

    make_user(Role.THERAPIST, name="Nia No-Factor", mfa=False)
    halfway = make_user(Role.THERAPIST, name="Hal Halfway", mfa=False)
    TOTPDevice.objects.create(user=halfway, name="app", confirmed=False, secret="JBSWY3DPEHPK3PXP")
    Invitation.objects.create(
        practice=admin.practice,
        email="soon@example.org",
        role=Role.CLIENT,
        invited_by=admin,
        token_hash="a" * 64,
        expires_at=timezone.now() + timedelta(hours=20),
    )
    page = text(login_as(admin).get("/"))
    assert "Nia No-Factor: no second factor yet" in page
    assert "Hal Halfway: second factor set up but not confirmed" in page
    assert "soon@example.org (client) expires" in page
    assert "Checked: Not checked yet" in page and "No open alerts" in page
    # Someone from another practice sees none of it.
    other = text(login_as(stranger).get("/"))
    assert "Nia No-Factor" not in other and "soon@example.org" not in other


def test_an_admin_who_is_also_a_therapist_sees_both(login_as, admin, client_user, chart, schedule):
    from accounts.models import RoleGrant

    RoleGrant.objects.create(user=admin, role=Role.THERAPIST)
    chart.care_team.add(admin)
    page = text(login_as(admin).get("/"))
    assert "Your practice" in page and "Today and tomorrow" in page and "Casey Client" in page
