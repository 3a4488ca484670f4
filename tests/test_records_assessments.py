"""PHQ-9 and GAD-7: scored by the system in the published bands; item 9 raises an alert."""

from __future__ import annotations

import pytest

from records import scoring
from records.models import Assessment

pytestmark = pytest.mark.embedded


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_bands(total, band):
    answers = [min(3, max(0, total - 3 * i)) for i in range(9)]
    result = scoring.score("phq9", answers)
    assert (result.score, result.severity) == (total, band)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_bands(total, band):
    answers = [min(3, max(0, total - 3 * i)) for i in range(7)]
    result = scoring.score("gad7", answers)
    assert (result.score, result.severity, result.self_harm_alert) == (total, band, False)


def test_item_nine_above_zero_raises_the_alert():
    assert scoring.score("phq9", [0] * 8 + [1]).self_harm_alert
    assert not scoring.score("phq9", [3] * 8 + [0]).self_harm_alert


@pytest.mark.parametrize(
    "answers", [[0] * 8, [0] * 10, [4] + [0] * 8, [-1] + [0] * 8, ["1"] + [0] * 8, [True] + [0] * 8]
)
def test_malformed_answers_are_refused(answers):
    with pytest.raises(scoring.ScoringError):
        scoring.score("phq9", answers)


@pytest.mark.django_db
def test_a_client_fills_an_assigned_phq9_and_the_therapist_sees_the_alert(login_as, therapist, client_user, chart):
    therapist_client = login_as(therapist)
    therapist_client.post(f"/records/charts/{chart.pk}/assessments/", {"kind": "phq9"})
    assessment = Assessment.objects.get()
    portal = login_as(client_user)
    assert f"/records/assessments/{assessment.pk}/".encode() in portal.get("/records/portal/").content
    answers = {f"item{i}": "1" for i in range(1, 10)}
    response = portal.post(f"/records/assessments/{assessment.pk}/", answers)
    # Item 9 above 0: the client is shown where to get help now, on the page that took the answers.
    assert response.status_code == 200 and b'href="tel:988"' in response.content
    assessment.refresh_from_db()
    assert assessment.completed_at and assessment.result.startswith("{")
    raw = Assessment.objects.values_list("result", flat=True).get()
    assert raw.startswith("tt1:")  # the score and alert are sealed at rest
    chart_page = therapist_client.get(f"/records/charts/{chart.pk}/").content.decode()
    assert "thoughts of death or self-harm" in chart_page and "9 (mild)" in chart_page
    again = portal.post(f"/records/assessments/{assessment.pk}/", answers)
    assert again.status_code == 302  # already complete: sent back to the portal, nothing changes


@pytest.mark.django_db
def test_an_incomplete_questionnaire_is_refused(login_as, therapist, client_user, chart):
    login_as(therapist).post(f"/records/charts/{chart.pk}/assessments/", {"kind": "gad7"})
    assessment = Assessment.objects.get()
    response = login_as(client_user).post(f"/records/assessments/{assessment.pk}/", {"item1": "2"})
    assert response.status_code == 400
    assessment.refresh_from_db()
    assert assessment.completed_at is None
