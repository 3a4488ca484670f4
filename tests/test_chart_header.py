"""The chart opens with who this is: name, age, minor, care team, next session and consents at a
glance, for whoever may open the chart's summary, and nothing clinical."""

from __future__ import annotations

import re

import pytest
import time_machine

from records.reads import _age

pytestmark = pytest.mark.embedded


def _header(page: str) -> str:
    return page.split('<header class="chart-header card"', 1)[1].split("</header>", 1)[0]


@pytest.mark.django_db(databases="__all__")
def test_the_header_says_who_and_what_is_missing(login_as, therapist, admin, chart, consent_docs, schedule):
    chart.date_of_birth = "1990-06-15"
    chart.save()
    with time_machine.travel("2026-12-06 12:00Z"):
        header = _header(login_as(therapist).get(f"/records/charts/{chart.pk}/").content.decode())
    assert "36 years" in header and therapist.full_name in header
    assert "None booked" in header and re.search(r'class="pill warn">Missing: [^<]+', header)
    schedule(chart.client, in_hours=26)
    later = _header(login_as(therapist).get(f"/records/charts/{chart.pk}/").content.decode())
    assert "None booked" not in later and re.search(r"<dt>Next session</dt><dd>\w+day \d+ \w+, \d\d:\d\d</dd>", later)
    # An admin reaches the summary: the same header, nothing clinical in it.
    staff = _header(login_as(admin).get(f"/records/charts/{chart.pk}/").content.decode())
    assert therapist.full_name in staff and "note" not in staff.lower()


def test_an_age_is_counted_from_the_birthday():
    from datetime import date

    assert _age("2010-12-07", date(2026, 12, 6)) == 15 and _age("2010-12-06", date(2026, 12, 6)) == 16
    assert _age("", date(2026, 12, 6)) is None and _age("not a date", date(2026, 12, 6)) is None


def _overview(page: str) -> str:
    return page.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0] if '<ol class="timeline">' in page else ""


@pytest.mark.django_db(databases="__all__")
def test_the_overview_lists_what_happened_with_its_state(login_as, therapist, admin, chart, schedule):
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from records.selectors import Access
    from records.services import note_create, note_sign
    from sessions.models import Appointment

    held = schedule(chart.client, in_hours=1)
    began = timezone.now() - timedelta(days=1)
    Appointment.objects.filter(pk=held.pk).update(starts_at=began, ends_at=began + timedelta(minutes=50))
    overview = _overview(login_as(therapist).get(f"/records/charts/{chart.pk}/").content.decode())
    assert "Individual session" in overview and 'class="pill warn">Needs a note' in overview
    note = note_create(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, template="soap",
        sections={"subjective": "Slept better."}, session_id=held.pk, context=None,
    )  # fmt: skip
    note_sign(actor=therapist, note=note, context=None)
    overview = _overview(login_as(therapist).get(f"/records/charts/{chart.pk}/").content.decode())
    assert 'class="pill ok">Noted' in overview and 'class="pill ok">Signed' in overview
    assert f'href="{reverse("records:note", args=[note.pk])}"' in overview and "Slept better" not in overview
    # An admin reaches the summary only: no overview at all.
    assert _overview(login_as(admin).get(f"/records/charts/{chart.pk}/").content.decode()) == ""
