"""PHQ-9 and GAD-7: items scored 0-3, summed, and placed in the published severity bands
(Kroenke, Spitzer & Williams 2001; Spitzer et al. 2006)."""

from __future__ import annotations

from dataclasses import dataclass

ANSWER_CHOICES = [(0, "Not at all"), (1, "Several days"), (2, "More than half the days"), (3, "Nearly every day")]

ITEMS = {
    "phq9": [
        "Little interest or pleasure in doing things",
        "Feeling down, depressed, or hopeless",
        "Trouble falling or staying asleep, or sleeping too much",
        "Feeling tired or having little energy",
        "Poor appetite or overeating",
        "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Moving or speaking so slowly that other people could have noticed, or the opposite: being so fidgety "
        "or restless that you have been moving around a lot more than usual",
        "Thoughts that you would be better off dead, or of hurting yourself in some way",
    ],
    "gad7": [
        "Feeling nervous, anxious, or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid, as if something awful might happen",
    ],
}

BANDS = {
    "phq9": [(4, "minimal"), (9, "mild"), (14, "moderate"), (19, "moderately severe"), (27, "severe")],
    "gad7": [(4, "minimal"), (9, "mild"), (14, "moderate"), (21, "severe")],
}


class ScoringError(ValueError):
    pass


@dataclass(frozen=True)
class Result:
    score: int
    severity: str
    self_harm_alert: bool

    def as_dict(self) -> dict[str, object]:
        return {"score": self.score, "severity": self.severity, "self_harm_alert": self.self_harm_alert}


def score(kind: str, answers: list[int]) -> Result:
    if kind not in ITEMS:
        raise ScoringError(f"Unknown assessment {kind!r}.")
    expected = len(ITEMS[kind])
    if len(answers) != expected:
        raise ScoringError(f"Answer all {expected} questions.")
    if any(type(a) is not int or not 0 <= a <= 3 for a in answers):
        raise ScoringError("Each answer is one of the four choices.")
    total = sum(answers)
    severity = next(label for upper, label in BANDS[kind] if total <= upper)
    # PHQ-9 item 9 asks about thoughts of death or self-harm: any answer above 0 needs attention.
    alert = kind == "phq9" and answers[8] > 0
    return Result(score=total, severity=severity, self_harm_alert=alert)
