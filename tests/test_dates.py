"""One way to write when: every date people read goes through teletherapy.when (the ``when``
filter in templates); only machine formats keep Django's ``date`` filter."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.template import engines
from django.utils import timezone as django_timezone

from teletherapy.when import STYLES, when

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
MACHINE = {"c", "Ymd", "Y-m-d H:i:s T", "Y-m-d H:i:s.u T"}  # ISO 8601, comparison keys, the audit's instants


def test_templates_write_dates_only_through_the_one_filter():
    """In the text of a page only ``when``; Django's ``date`` only for a machine format, or inside
    an attribute a browser reads (a date field's value, a <time>'s datetime)."""
    found = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for match in re.finditer(r"""\|date:["']([^"']*)["']""", text):
            opened = text.rfind("{{", 0, match.start())
            in_attribute = text[max(0, opened - 2) : opened] == '="'
            if match.group(1) not in MACHINE and not in_attribute:
                found.append(f"{template.relative_to(ROOT)}: {match.group(1)}")
    assert not found, found


def test_each_style_reads_as_a_person_would_say_it():
    moment = datetime(2026, 12, 6, 19, 5, tzinfo=UTC)
    with django_timezone.override("America/New_York"):
        assert when(moment) == "6 December 2026"
        assert when(moment, "datetime") == "6 December 2026, 14:05"
        assert when(moment, "daytime") == "Sunday 6 December, 14:05"
        assert when(moment, "stamp") == "6 December 2026, 14:05 EST"
        assert when(moment, "time") == "14:05"
        assert when(moment, "dayshort") == "Sun 6 Dec"
    # A date has no time to show, whatever the style; nothing is nothing; an unknown style is the date.
    assert when(date(2026, 12, 6), "datetime") == "6 December 2026"
    assert when(date(2026, 12, 6), "daytimezone") == "Sunday 6 December"
    assert when(None) == "" and when("") == ""
    assert when(date(2026, 12, 6), "nonsense") == "6 December 2026"
    assert set(STYLES["en"]) >= {"date", "datetime", "day", "daytime", "time", "stamp"}


@pytest.mark.parametrize("style", sorted(STYLES["en"]))
def test_the_filter_is_built_into_every_template(style):
    rendered = engines["django"].from_string("{{ d|when:style }}").render({"d": date(2026, 12, 6), "style": style})
    assert "2026" in rendered or "December" in rendered or "Dec" in rendered or rendered == ""
