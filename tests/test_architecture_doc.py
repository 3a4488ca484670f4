"""docs/architecture.md matches the code: its picture of the layers is the import-linter
contract's, every app has its room in the table, and every file it names exists."""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"

pytestmark = pytest.mark.embedded


def layers_picture() -> str:
    """The Mermaid picture of the layers contract: each module of a layer may import each of the
    layer below."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "layers")
    layers = [[name.strip() for name in layer.split("|")] for layer in contract["layers"]]
    lines = ["```mermaid", "flowchart TD"]
    for upper, lower in itertools.pairwise(layers):
        for a in upper:
            for b in lower:
                lines.append(f'    {a}["{a}"] --> {b}["{b}"]')
    lines.append("```")
    return "\n".join(lines)


def test_the_picture_of_the_layers_is_the_contracts():
    text = DOC.read_text()
    shown = text.split("<!-- layers: generated", 1)[1].split("-->", 1)[1].split("<!-- /layers -->", 1)[0].strip()
    assert shown == layers_picture(), "Paste tests.test_architecture_doc.layers_picture() into docs/architecture.md."


def test_every_app_has_its_room_and_every_room_is_a_folder():
    from django.conf import settings

    ours = {app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()}
    rooms = set(re.findall(r"^\| `([a-z_]+)/` \|", DOC.read_text(), re.M))
    assert ours <= rooms, ours - rooms
    assert all((ROOT / room).is_dir() for room in rooms), [room for room in rooms if not (ROOT / room).is_dir()]


def test_every_file_the_page_names_exists():
    named = set(re.findall(r"`([\w/]+\.(?:py|js))`", DOC.read_text()))
    call_modules = set(re.findall(r"`(\w+\.js)`", DOC.read_text()))
    missing = [path for path in named if "/" in path and not (ROOT / path).exists()]
    missing += [name for name in call_modules if not (ROOT / "static/js/call" / name).exists()]
    assert not missing, missing
