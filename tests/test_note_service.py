"""A progress note carries its date of service, the session it documents and that session's
length. The session must be one the author held with this client (begun, not cancelled); its date
is the date of service. The therapist's home lists sessions still without a note, and each client
of a joint session needs their own. Through the pages and the API, with bad input refused and
nothing stored."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from records.models import ProgressNote
from records.selectors import Access
from records.services import note_create, note_share, note_sign
from sessions.models import Appointment, AppointmentStatus

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

SECTIONS = {"subjective": "s", "objective": "o", "assessment": "a", "plan": "p"}


def words(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def held(appointment, hours_ago: float = 2) -> Appointment:
    """Move a scheduled session into the past, as if it had been held."""
    length = appointment.ends_at - appointment.starts_at
    starts = timezone.now() - timedelta(hours=hours_ago)
    Appointment.objects.filter(pk=appointment.pk).update(starts_at=starts, ends_at=starts + length)
    appointment.refresh_from_db()
    return appointment


def draft_form(session="", service_date="", minutes="") -> dict[str, str]:
    return {
        "template": "soap",
        "session": str(session),
        "service_date": str(service_date),
        "minutes": str(minutes),
        **SECTIONS,
    }


def test_a_note_written_from_the_home_page_documents_that_session(login_as, therapist, client_user, schedule):
    session = held(schedule(client_user, minutes=45))
    client = login_as(therapist)
    home = client.get("/").content.decode()
    chart = client_user.chart
    link = f"/records/charts/{chart.pk}/notes/new/?session={session.pk}"
    assert f'href="{link}"' in home and "Sessions without a note" in home
    form = client.get(link).content.decode()
    assert re.search(rf'<option value="{session.pk}" selected>', form), "the session is chosen already"
    response = client.post(f"/records/charts/{chart.pk}/notes/new/", draft_form(session=session.pk))
    assert response.status_code == 302
    note = ProgressNote.objects.get(chart=chart)
    assert note.session_id == session.pk and note.minutes == 45
    assert note.service_date == timezone.localdate(session.starts_at)
    page = client.get(f"/records/notes/{note.pk}/")
    assert f'href="/sessions/{session.pk}/"' in page.content.decode()
    text = words(page)
    assert "Date of service" in text and "45 minutes" in text
    assert f"?session={session.pk}" not in client.get("/").content.decode()


def test_a_note_without_a_session_takes_its_date_and_length_as_given(login_as, therapist, client_user, chart):
    client = login_as(therapist)
    day = timezone.localdate() - timedelta(days=3)
    assert (
        client.post(
            f"/records/charts/{chart.pk}/notes/new/", draft_form(service_date=day.isoformat(), minutes=20)
        ).status_code
        == 302
    )
    note = ProgressNote.objects.get(chart=chart)
    assert (note.service_date, note.session_id, note.minutes) == (day, None, 20)
    assert "Not linked to a session" in words(client.get(f"/records/notes/{note.pk}/"))
    # With nothing given, the date of service is today and no length is claimed.
    bare = note_create(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, template="soap", sections=SECTIONS, context=None
    )
    assert (bare.service_date, bare.minutes) == (timezone.localdate(), None)


def test_sessions_that_cannot_be_documented_are_refused_and_nothing_is_stored(
    login_as, make_user, therapist, colleague, client_user, other_practice, schedule
):
    other_client = make_user(Role.CLIENT, name="Other Client")
    mine = held(schedule(client_user))
    not_held = schedule(client_user, in_hours=48)
    cancelled = held(schedule(client_user, in_hours=30), hours_ago=30)
    Appointment.objects.filter(pk=cancelled.pk).update(status=AppointmentStatus.CANCELLED)
    theirs = held(schedule(client_user, by=colleague), hours_ago=5)  # the client's, with a colleague
    someone_else = held(schedule(other_client), hours_ago=8)  # the therapist's, another client
    chart = client_user.chart
    client = login_as(therapist)
    url = f"/records/charts/{chart.pk}/notes/new/"
    offered = client.get(url).content.decode()
    assert f'<option value="{mine.pk}"' in offered
    for wrong in (not_held, cancelled, theirs, someone_else):
        assert str(wrong.pk) not in offered
        response = client.post(url, draft_form(session=wrong.pk))
        assert response.status_code == 400, wrong
        assert "Select a valid choice" in words(response)
    bad_input = [
        (draft_form(session="not-a-uuid"), "session", "Select a valid choice"),
        (
            draft_form(service_date=(timezone.localdate() + timedelta(days=1)).isoformat()),
            "service_date",
            "cannot be in the future",
        ),
        (draft_form(service_date="31/12/2026"), "service_date", "Enter a valid date"),
        (
            draft_form(session=mine.pk, service_date=(timezone.localdate() - timedelta(days=9)).isoformat()),
            "service_date",
            "that is the date of service",
        ),
        (draft_form(minutes=0), "minutes", "greater than or equal to 1"),
        (draft_form(minutes=601), "minutes", "less than or equal to 600"),
        (draft_form(minutes="an hour"), "minutes", "Enter a whole number"),
    ]
    for body, field, said in bad_input:
        response = client.post(url, body)
        assert response.status_code == 400, body
        error = re.search(rf'<p class="error" id="id_{field}_error">([^<]*)</p>', response.content.decode())
        assert error and said in error.group(1), (body, error)
    assert not ProgressNote.objects.exists()
    # The API gives the same answers, as JSON naming the field.
    api = f"/api/v1/records/charts/{chart.pk}/notes/"
    for session in (not_held, cancelled, theirs, someone_else):
        response = client.post(
            api, {"template": "soap", "sections": SECTIONS, "session": str(session.pk)}, content_type="application/json"
        )
        assert response.status_code == 400 and "session" in response.json()["fields"], response.json()
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    for body, field in [
        ({"service_date": future}, "service_date"),
        ({"service_date": "yesterday"}, "service_date"),
        ({"minutes": -5}, "minutes"),
        ({"minutes": "x"}, "minutes"),
        ({"session": "nope"}, "session"),
    ]:
        response = client.post(api, {"template": "soap", "sections": SECTIONS, **body}, content_type="application/json")
        assert response.status_code == 400 and field in response.json()["fields"], (body, response.json())
    assert not ProgressNote.objects.exists()


def test_the_api_links_a_session_and_an_edit_keeps_what_it_does_not_send(login_as, therapist, client_user, schedule):
    session = held(schedule(client_user, minutes=60))
    chart = client_user.chart
    client = login_as(therapist)
    made = client.post(
        f"/api/v1/records/charts/{chart.pk}/notes/",
        {"template": "soap", "sections": SECTIONS, "session": str(session.pk), "minutes": 53},
        content_type="application/json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["session"] == str(session.pk) and body["minutes"] == 53  # the time actually spent
    assert body["service_date"] == timezone.localdate(session.starts_at).isoformat()
    url = f"/api/v1/records/notes/{body['id']}/"
    json = "application/json"
    edited = client.patch(url, {"sections": {**SECTIONS, "plan": "x"}, "version": body["version"]}, content_type=json)
    assert edited.status_code == 200 and edited.json()["session"] == str(session.pk)
    assert edited.json()["minutes"] == 53
    unlinked = client.patch(
        url, {"sections": SECTIONS, "version": edited.json()["version"], "session": None}, content_type=json
    )
    assert unlinked.status_code == 200 and unlinked.json()["session"] is None


def test_a_draft_can_be_relinked_but_a_signed_note_keeps_its_session(login_as, therapist, client_user, schedule):
    first = held(schedule(client_user), hours_ago=26)
    second = held(schedule(client_user))
    chart = client_user.chart
    client = login_as(therapist)
    client.post(f"/records/charts/{chart.pk}/notes/new/", draft_form(session=first.pk))
    note = ProgressNote.objects.get(chart=chart)
    page = client.get(f"/records/notes/{note.pk}/").content.decode()
    assert re.search(rf'<option value="{first.pk}" selected>', page)
    assert client.post(
        f"/records/notes/{note.pk}/", {**draft_form(session=second.pk), "version": note.version}
    ).status_code == (302)
    note.refresh_from_db()
    assert note.session_id == second.pk and note.service_date == timezone.localdate(second.starts_at)
    note_sign(actor=therapist, note=note, context=None)
    response = client.post(f"/records/notes/{note.pk}/", {**draft_form(session=first.pk), "version": note.version + 1})
    assert response.status_code == 409
    note.refresh_from_db()
    assert note.session_id == second.pk


def test_each_client_of_a_joint_session_needs_their_own_note(login_as, therapist, colleague, make_user, schedule):
    one = make_user(Role.CLIENT, name="Alex Partner")
    two = make_user(Role.CLIENT, name="Blair Partner")
    joint = held(schedule(one, two, kind="couple"))
    client = login_as(therapist)
    home = client.get("/").content.decode()
    assert home.count(f"?session={joint.pk}") == 2
    client.post(f"/records/charts/{one.chart.pk}/notes/new/", draft_form(session=joint.pk))
    home = client.get("/").content.decode()
    assert f"/records/charts/{two.chart.pk}/notes/new/?session={joint.pk}" in home
    assert f"/records/charts/{one.chart.pk}/notes/new/?session={joint.pk}" not in home
    # A therapist off these care teams has nothing of it on their home page.
    colleague_home = login_as(colleague).get("/").content.decode()
    assert str(joint.pk) not in colleague_home


def test_the_client_reads_the_date_of_service_in_the_portal_and_the_record_copy(
    login_as, therapist, client_user, schedule, django_capture_on_commit_callbacks
):
    from tests.test_records_export import _request

    session = held(schedule(client_user, minutes=50), hours_ago=30)
    chart = client_user.chart
    note = note_create(
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        template="soap",
        sections=SECTIONS,
        context=None,
        session_id=session.pk,
    )
    note_sign(actor=therapist, note=note, context=None)
    note_share(actor=therapist, note=note, context=None)
    day = timezone.localdate(session.starts_at)
    client = login_as(client_user)
    portal = words(client.get("/records/portal/"))
    assert f"Session note of {day.day} {day:%B %Y}" in portal  # one way to write a date (teletherapy.when)
    page = client.get(f"/records/notes/{note.pk}/")
    text = words(page)
    assert "Date of service" in text and "50 minutes" in text
    assert f'href="/sessions/{session.pk}/"' not in page.content.decode()  # the session page is the therapist's
    export = _request(client, chart, django_capture_on_commit_callbacks)
    copy = words(client.get(f"/records/exports/{export.pk}/?format=html"))
    assert f"Session of {day.day} {day:%B %Y}" in copy and "Length 50 minutes" in copy
