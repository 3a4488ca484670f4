"""On the chart, each questionnaire shows every answer, and the scores over time are drawn as a
small server-made SVG that says in words what it shows."""

from __future__ import annotations

import re

import pytest

from records.selectors import Access
from records.services import assessment_assign, assessment_submit

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def answered(chart, therapist, client, kind, answers):
    assessment = assessment_assign(actor=therapist, chart=chart, access=Access.CARE_TEAM, kind=kind, context=None)
    assessment_submit(actor=client, assessment=assessment, answers=answers, context=None)


def test_the_chart_shows_each_answer_and_the_scores_over_time(login_as, therapist, client_user, chart):
    answered(chart, therapist, client_user, "phq9", [3, 3, 2, 2, 1, 1, 1, 0, 1])  # 14, item 9 above 0
    answered(chart, therapist, client_user, "phq9", [1, 1, 1, 1, 1, 0, 0, 0, 0])  # 5
    answered(chart, therapist, client_user, "gad7", [2, 2, 2, 1, 1, 1, 1])  # 10
    page = login_as(therapist).get(f"/records/charts/{chart.pk}/").content.decode()
    assert "Feeling down, depressed, or hopeless: <strong>Nearly every day</strong> (3)" in page
    assert "item 9 above 0" in page
    charts = re.findall(r'<svg class="trend"[^>]*aria-label="([^"]+)"', page)
    assert len(charts) == 2
    assert re.fullmatch(r"PHQ-9 \(depression\) scores over time: 14 on .+, 5 on .+", charts[0])
    assert re.fullmatch(r"GAD-7 \(anxiety\) scores over time: 10 on .+", charts[1])
    phq9 = page[page.index('<svg class="trend"') : page.index("</svg>")]
    assert phq9.count("<circle") == 2 and "<script" not in phq9
    # The higher score sits higher on the chart (smaller y).
    ys = [float(v) for v in re.findall(r'<circle cx="[^"]+" cy="([^"]+)"', phq9)]
    assert ys[0] < ys[1]


def test_a_therapist_off_the_care_team_sees_none_of_it(login_as, therapist, colleague, client_user, chart):
    answered(chart, therapist, client_user, "gad7", [0, 0, 0, 0, 0, 0, 1])
    assert login_as(colleague).get(f"/records/charts/{chart.pk}/").status_code == 404
