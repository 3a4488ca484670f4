"""ICD-10-CM, the code set a chart's diagnoses are chosen from (the ``simple-icd-10-cm`` package
ships it). Only billable codes (the leaves of the code tree) can be chosen; a search matches a code
by its start (with or without the dot) or a description by all of its words."""

from __future__ import annotations

import functools

import simple_icd_10_cm as icd


@functools.cache
def _billable() -> tuple[tuple[str, str, str], ...]:
    """(code with its dot, the code without it, the description in lower case), for every leaf."""
    found = []
    for code in icd.get_all_codes(with_dots=True):
        if icd.is_leaf(code) and icd.is_category_or_subcategory(code):
            found.append((code, code.replace(".", ""), icd.get_description(code).lower()))
    return tuple(found)


def normalized(code: object) -> str | None:
    """The code with its dot if it is a billable ICD-10-CM code, else None."""
    text = str(code or "").strip().upper()
    if not text or len(text) > 8 or not icd.is_valid_item(text):
        return None
    dotted = icd.add_dot(text) if "." not in text and len(text) > 3 else text
    return dotted if icd.is_leaf(dotted) else None


def description(code: str) -> str:
    return str(icd.get_description(code))


def search(query: object, *, limit: int = 20) -> list[tuple[str, str]]:
    """Billable codes whose code starts with the query, or whose description holds all its words."""
    text = " ".join(str(query or "").lower().split())[:80]
    if len(text) < 2:
        return []
    bare = text.replace(".", "").upper()
    words = text.split()
    ranked = []
    for code, plain, words_of in _billable():
        if plain.startswith(bare):  # codes by their start first, in code order
            ranked.append((0, False, 0, code))
        elif all(word in words_of for word in words):  # then descriptions, those that begin so first, shortest first
            ranked.append((1, not words_of.startswith(text), len(words_of), code))
    return [(code, description(code)) for *_rank, code in sorted(ranked)[:limit]]
