"""The README's configuration tables list every environment variable the platform reads, and
nothing it does not: read from the code itself (settings, the key ring, the scripts), so a new
setting fails here until it is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "teletherapy",
    "accounts",
    "audit",
    "consent",
    "records",
    "messaging",
    "intake",
    "sessions",
    "compliance",
    "oversight",
    "home",
    "operations",
    "billing",
)
READS = (
    r'\benv(?:str|int|list|bool)\(\s*"([A-Z][A-Z0-9_]*)"',  # teletherapy.env's helpers
    r'os\.environ(?:\.get)?[\[(]\s*"([A-Z][A-Z0-9_]*)"',
    r'os\.getenv\(\s*"([A-Z][A-Z0-9_]*)"',
)
# Names the environment holds that are not the platform's settings: set by Django, tools or tests.
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE", "CI", "CHROMIUM_PATH"}

pytestmark = pytest.mark.embedded


def read_by_the_code() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            for pattern in READS:
                found |= set(re.findall(pattern, text))
            # Names built as a table of purposes (the key ring): "FIELD_ENCRYPTION_KEYS" and the like.
            found |= set(re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:KEYS|DATABASE_URL))"', text))
    for script in (ROOT / "scripts").glob("*.sh"):
        found |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):-", script.read_text()))
    return found - NOT_SETTINGS


def in_the_readme() -> set[str]:
    # The configuration table, and the tables of the sections that configure one part (the audit
    # witness, say): every row whose first cell names variables.
    names: set[str] = set()
    for row in (ROOT / "README.md").read_text().splitlines():
        if row.startswith("| `"):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]*)(?:=[^`]*)?`", row.split("|")[1]))
    return names


def test_the_configuration_table_lists_every_variable_read():
    missing = read_by_the_code() - in_the_readme()
    assert not missing, f"Document these in the README's configuration table: {sorted(missing)}"


def test_the_configuration_table_lists_nothing_that_is_not_read():
    stale = in_the_readme() - read_by_the_code()
    assert not stale, f"Nothing reads these; drop them from the table: {sorted(stale)}"
