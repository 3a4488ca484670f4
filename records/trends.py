"""Questionnaire scores over time, drawn on the server as a small SVG (no script, no library):
each completed PHQ-9 or GAD-7 of a chart as a point, oldest to newest, over the severity bands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from records.scoring import BANDS

WIDTH, HEIGHT, PAD = 320, 110, 18


@dataclass
class Trend:
    kind: str
    label: str
    points: list[tuple[datetime, int]]

    @property
    def svg(self) -> SafeString:
        top = BANDS[self.kind][-1][0]  # the highest possible score
        count = len(self.points)
        step = (WIDTH - 2 * PAD) / max(count - 1, 1)

        def x(index: int) -> float:
            return PAD + index * step if count > 1 else WIDTH / 2

        def y(score: int) -> float:
            return HEIGHT - PAD - (HEIGHT - 2 * PAD) * score / top

        def day(at: datetime) -> str:
            return f"{timezone.localtime(at):%-d %b %Y}"

        words = ", ".join(f"{score} on {day(at)}" for at, score in self.points)
        band_rows = [
            (PAD, WIDTH - PAD, f"{y(upper):.1f}", WIDTH - PAD + 2, f"{y(upper) + 3:.1f}", upper)
            for upper, _name in BANDS[self.kind]
        ]
        bands = format_html_join(
            "",
            '<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" class="band"/>'
            '<text x="{3}" y="{4}" class="band-label">{5}</text>',
            band_rows,
        )
        line = " ".join(f"{x(i):.1f},{y(score):.1f}" for i, (_at, score) in enumerate(self.points))
        dot_rows = [(f"{x(i):.1f}", f"{y(score):.1f}", day(at), score) for i, (at, score) in enumerate(self.points)]
        dots = format_html_join("", '<circle cx="{}" cy="{}" r="3.5"><title>{}: {}</title></circle>', dot_rows)
        return format_html(
            '<svg class="trend" viewBox="0 0 {0} {1}" width="{0}" height="{1}" role="img" aria-label="{2}">'
            '{3}<polyline points="{4}" class="score-line"/>{5}</svg>',
            WIDTH + 16,
            HEIGHT,
            f"{self.label} scores over time: {words}",
            bands,
            line,
            dots,
        )


def trends_of(rows: list[dict[str, Any]]) -> list[Trend]:
    """From the chart's assessment rows (records.views.base.results_of), one trend per kind with
    at least one completed questionnaire."""
    found: dict[str, Trend] = {}
    completed = [row for row in rows if row["result"] and row["assessment"].completed_at]
    for row in sorted(completed, key=lambda row: row["assessment"].completed_at):
        assessment = row["assessment"]
        trend = found.setdefault(assessment.kind, Trend(assessment.kind, assessment.get_kind_display(), []))
        trend.points.append((assessment.completed_at, int(row["result"]["score"])))
    return list(found.values())
