"""A client sees who opened their record: the therapist's view of a note, a colleague's emergency
access with its reason, and nothing about psychotherapy notes."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from records.models import PsychotherapyNote
from records.selectors import Access
from records.services import note_create, note_share, note_sign

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
REASON = "Client messaged about a crisis while Dr. Therapist is away today."
PRIVATE = "Private hypothesis about the client's family dynamics."


def test_the_client_sees_views_and_emergency_access_but_nothing_of_psychotherapy_notes(
    login_as, therapist, colleague, client_user, chart
):
    note = note_create(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, template="soap", sections={"plan": "x"}, context=None
    )
    note_sign(actor=therapist, note=note, context=None)
    note_share(actor=therapist, note=note, context=None)
    care = login_as(therapist)
    care.get(f"/records/notes/{note.pk}/")
    care.post(f"/records/charts/{chart.pk}/psychotherapy-notes/", {"body": PRIVATE})
    psy = PsychotherapyNote.objects.using("psychotherapy").get()
    care.get(f"/records/psychotherapy-notes/{psy.pk}/")
    login_as(colleague).post(f"/records/charts/{chart.pk}/emergency/", {"reason": REASON})
    login_as(colleague).get(f"/records/charts/{chart.pk}/")

    page = login_as(client_user).get("/audit/record-access/").content.decode()
    assert "Theo Therapist" in page and "read a session note" in page
    assert "Cole Colleague" in page and "used emergency access to your chart" in page and REASON in page
    assert 'class="flagged"' in page
    # Nothing at all of psychotherapy notes: not that they exist, not when they were written or read.
    assert "private notes" not in page and "psychotherapy" not in page.lower()
    assert PRIVATE not in page and str(psy.pk) not in page


def test_a_client_cannot_read_someone_elses_log(login_as, make_user, client_user, chart):
    other = make_user("client")
    assert login_as(other).get(f"/audit/record-access/?client={client_user.pk}").status_code == 404


def test_a_guardian_sees_the_minors_log(login_as, guardian, client_user, therapist, chart):
    chart.is_minor = True
    chart.save()
    login_as(therapist).get(f"/records/charts/{chart.pk}/")
    page = login_as(guardian).get(f"/audit/record-access/?client={client_user.pk}").content.decode()
    assert "Theo Therapist" in page and "opened your chart" in page
    # From the navigation (no client named): the minor's log, since the guardian has none of their own.
    page = login_as(guardian).get("/audit/record-access/").content.decode()
    assert "Who opened Casey Client's record" in page and "Theo Therapist" in page


def test_a_guardian_with_no_minor_in_their_care_is_told_so(login_as, make_user):
    from accounts.models import Role

    response = login_as(make_user(Role.GUARDIAN)).get("/audit/record-access/")
    assert response.status_code == 200 and "There is no record to show yet" in response.content.decode()


def test_therapists_and_admins_have_no_such_page(login_as, therapist, admin):
    assert login_as(therapist).get("/audit/record-access/").status_code == 403
    assert login_as(admin).get("/audit/record-access/").status_code == 403


def test_a_guardian_sees_the_emergency_reason_only_where_the_chart_shares_clinical_content(
    login_as, guardian, client_user, colleague, chart
):
    chart.is_minor = True
    chart.save()
    login_as(colleague).post(f"/records/charts/{chart.pk}/emergency/", {"reason": REASON})
    parent = login_as(guardian)
    page = parent.get(f"/audit/record-access/?client={client_user.pk}").content.decode()
    assert "used emergency access" in page and "Cole Colleague" in page
    assert REASON not in page and "Reason given" not in page
    chart.guardian_sees_notes = True
    chart.save()
    assert REASON in parent.get(f"/audit/record-access/?client={client_user.pk}").content.decode()
    # The client always reads it.
    assert REASON in login_as(client_user).get("/audit/record-access/").content.decode()


def test_a_list_of_several_clients_is_one_event_each_of_them_finds(
    login_as, therapist, client_user, make_user, chart, consent_docs, schedule
):
    """The sessions page, the calendar, the appointments API, the chart list and the signature list:
    each read writes one event naming every client whose data it showed, and each of them finds
    it under "who opened my record"; a client not on the list does not."""
    from audit.models import AuditSubject
    from records.services import chart_create
    from tests.conftest import sign

    other = make_user("client", name="Olive Other")
    chart_create(actor=None, client=other, therapists=[therapist])
    outsider = make_user("client", name="Nora Nobody")
    schedule(client_user, in_hours=30)
    schedule(other, in_hours=50)
    sign(client_user, "treatment")
    sign(other, "treatment")
    team = login_as(therapist)
    before = AuditEvent.objects.count()
    for url in ("/sessions/", "/sessions/calendar/?week=" + _week_of(50), "/api/v1/sessions/", "/records/charts/",
                "/api/v1/records/charts/", "/api/v1/consent/signatures/"):  # fmt: skip
        assert team.get(url).status_code == 200, url
    reads = list(AuditEvent.objects.filter(pk__gt=before_id(before), actor_id=therapist.pk))
    several = [e for e in reads if e.details.get("subjects")]
    assert {e.action for e in several} >= {"sessions.list", "records.chart_list", "consent.status_view"}
    for event in several:
        named = set(AuditSubject.objects.filter(event=event).values_list("client_id", flat=True))
        assert {client_user.pk, other.pk} <= named or event.details.get("where") == "calendar", event.action
        assert outsider.pk not in named
    for person in (client_user, other):
        page = login_as(person).get("/audit/record-access/").content.decode()
        assert "looked at a list of sessions that includes yours" in page
        assert "looked at a list of clients that includes you" in page
    assert "looked at a list" not in login_as(outsider).get("/audit/record-access/").content.decode()


def _week_of(hours: int) -> str:
    import datetime as dt

    from django.utils import timezone

    return (timezone.now() + dt.timedelta(hours=hours)).date().isoformat()


def before_id(count: int) -> int:
    return AuditEvent.objects.order_by("id").values_list("id", flat=True)[count - 1] if count else 0
