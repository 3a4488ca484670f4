"""Cells of the CSV files people download (the audit console, the yearly breach log) open in a
spreadsheet, which runs a cell that begins like a formula. A name such as ``=HYPERLINK(...)`` is
written as text instead: every cell that begins with =, +, -, @, a tab or a carriage return gets
a leading apostrophe, as OWASP's guidance on CSV injection describes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutral_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: neutral_cell(value) for key, value in row.items()}


def neutral_rows(rows: Iterable[Iterable[Any]]) -> list[list[Any]]:
    return [[neutral_cell(value) for value in row] for row in rows]
