"""The README's access table is the one the code's own rules generate."""

from __future__ import annotations

from pathlib import Path

import pytest

from home.access_table import END, START, markdown

pytestmark = [pytest.mark.embedded]


def test_the_readme_table_matches_the_rules_the_code_uses():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert START in readme and END in readme
    shown = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert shown == markdown(), "Run `manage.py access_rules` and paste its output into the README."


def test_the_table_says_what_the_rules_say():
    table = {line.split(" | ")[0].lstrip("| "): line for line in markdown().splitlines()[2:]}
    assert "| no | no | no | no |" in table["per-person agreements (couples work)"]
    assert table["psychotherapy notes"].count("| no") == 5
    assert "status only" in table["consent status"]
