"""The charts list: search by name and the therapist's filters (seen this week, needs a note,
consents missing), each narrowing only what the door already lets the reader see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from records.services import chart_create
from sessions.caseload import clients_needing_a_note, clients_seen_this_week
from sessions.models import Appointment

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def names(response) -> list[str]:
    body = response.content.decode()
    listed = body.split('class="chart-list"')[1].split("</ul>")[0]
    return [part.split("</a>")[0].rsplit(">", 1)[-1] for part in listed.split('<span class="avatar small"')[1:]]


@pytest.fixture
def second(make_user, therapist):
    other = make_user(Role.CLIENT, email="olive@example.org", name="Olive Other")
    chart_create(actor=None, client=other, therapists=[therapist])
    return other


def test_search_by_name_keeps_to_the_care_team(login_as, therapist, colleague, chart, second, client_user):
    page = login_as(therapist).get(reverse("records:charts"), {"q": "olive"})
    assert page.status_code == 200 and names(page) == ["Olive Other"]
    assert names(login_as(therapist).get(reverse("records:charts"))) == sorted([client_user.full_name, "Olive Other"])
    # Someone not on the care team finds them only under emergency access, never as a chart link.
    theirs = login_as(colleague).get(reverse("records:charts"), {"q": "olive"})
    assert names(theirs) == [] and "Olive Other · " in theirs.content.decode()
    # Nothing matches: said, with the way back.
    assert "No client matches" in login_as(therapist).get(reverse("records:charts"), {"q": "zzz"}).content.decode()


def test_the_filters_narrow_to_the_therapists_own_sessions(
    login_as, therapist, chart, second, client_user, schedule, consent_docs
):
    held = schedule(client_user, in_hours=1)
    starts = timezone.now() - timedelta(hours=2)  # began two hours ago, no note yet
    Appointment.objects.filter(pk=held.pk).update(starts_at=starts, ends_at=starts + timedelta(minutes=50))
    held.refresh_from_db()
    assert clients_needing_a_note(therapist) == {client_user.pk}
    assert client_user.pk in clients_seen_this_week(therapist, now=held.starts_at)
    assert second.pk not in clients_seen_this_week(therapist, now=held.starts_at)
    assert clients_seen_this_week(therapist, now=held.starts_at + timedelta(days=8)) == set()
    page = login_as(therapist).get(reverse("records:charts"), {"show": "note"})
    assert names(page) == [client_user.full_name]
    assert 'aria-current="true">Needs a note' in page.content.decode()
    # Olive has a session in three days and has signed nothing: her consents are missing.
    schedule(second, in_hours=72)
    assert names(login_as(therapist).get(reverse("records:charts"), {"show": "consent"})) == ["Olive Other"]
    # An unknown filter shows everything; an admin (no care team) gets no filters.
    assert len(names(login_as(therapist).get(reverse("records:charts"), {"show": "nonsense"}))) == 2


def test_an_admin_searches_without_the_therapists_filters(login_as, admin, chart, second):
    page = login_as(admin).get(reverse("records:charts"), {"q": "Olive", "show": "note"})
    assert page.status_code == 200 and names(page) == ["Olive Other"]
    assert 'class="filter-chips"' not in page.content.decode()
