"""The design system's colour roles meet WCAG 2.2 contrast wherever the sheet pairs them: text
(4.5:1) on every surface it is set on, and the focus ring and control borders (3:1) against the
page. Read from the tokens in static/css/site.css, so a token changed there is checked here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.embedded

SHEET = Path(__file__).resolve().parent.parent / "static" / "css" / "site.css"

TEXT = [  # (foreground, background): words set on a surface
    ("text", "bg"), ("text", "surface"), ("text-muted", "bg"), ("text-muted", "surface"),
    ("primary", "surface"), ("primary", "bg"), ("primary-ink", "primary"), ("primary-ink", "primary-strong"),
    ("primary", "primary-soft"), ("primary-strong", "primary-soft"), ("success", "success-soft"),
    ("warning", "warning-soft"), ("text", "warning-soft"), ("danger", "surface"), ("danger", "danger-soft"),
    ("danger-strong", "danger-soft"), ("text", "danger-soft"), ("text", "primary-soft"),
]  # fmt: skip
NON_TEXT = [("focus", "bg"), ("focus", "surface"), ("line-strong", "surface"), ("danger", "surface")]


def tokens() -> dict[str, str]:
    root = SHEET.read_text().split(":root {", 1)[1].split("}", 1)[0]
    return dict(re.findall(r"--color-([a-z-]+):\s*(#[0-9a-fA-F]{3,6})\b", root))


def luminance(colour: str) -> float:
    value = colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_is_wcags():
    assert round(contrast("#000", "#fff"), 1) == 21.0 and round(contrast("#777", "#fff"), 2) == 4.48


@pytest.mark.parametrize(("fore", "back"), TEXT)
def test_text_roles_read_on_their_surfaces(fore, back):
    colours = tokens()
    assert contrast(colours[fore], colours[back]) >= 4.5, (fore, back, round(contrast(colours[fore], colours[back]), 2))


@pytest.mark.parametrize(("fore", "back"), NON_TEXT)
def test_rings_and_borders_stand_out(fore, back):
    colours = tokens()
    assert contrast(colours[fore], colours[back]) >= 3.0, (fore, back)
