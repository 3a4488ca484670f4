"""What an intake form is made of, and what an answer to it may be.

A form version's fields are a JSON list of small dicts; this module is the one place that says
what a field may be (when a practice builds a form) and what an answer to it may be (when a client
fills it in). Both raise ServiceError naming the field, and nothing is stored on a refusal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from teletherapy.errors import ServiceError

KINDS = {
    "text": "Short text",
    "paragraph": "Paragraph",
    "choice": "Choice (one of a list)",
    "date": "Date",
    "yes_no": "Yes or no",
    "scale": "Scale (a number in a range)",
}
# Where a confirmed answer goes in the chart's details; several fields may fill one, joined.
CHART_TARGETS = {
    "": "Nowhere (kept with the form)",
    "date_of_birth": "Chart: date of birth",
    "phone": "Chart: phone",
    "address": "Chart: address",
    "emergency_contact": "Chart: emergency contact",
}
MAX_FIELDS = 60
MAX_LABEL = 200
MAX_HELP = 300
MAX_CHOICES = 20
MAX_CHOICE = 100
TEXT_LIMIT = {"text": 300, "paragraph": 4000}
SCALE_BOUNDS = (0, 10)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str
    required: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()
    low: int = 0
    high: int = 10
    chart: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "label": self.label, "kind": self.kind, "required": self.required}
        if self.help:
            out["help"] = self.help
        if self.kind == "choice":
            out["choices"] = list(self.choices)
        if self.kind == "scale":
            out["low"], out["high"] = self.low, self.high
        if self.chart:
            out["chart"] = self.chart
        return out

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]


def _text(value: object, *, name: str, limit: int, required: bool) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if "\x00" in text:
        raise ServiceError("That contains a character that cannot be stored.", field=name)
    if required and not text:
        raise ServiceError("This is needed.", field=name)
    if len(text) > limit:
        raise ServiceError(f"Keep it under {limit} characters.", field=name)
    return text


def key_for(label: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40] or "field"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def field_from(data: dict[str, Any], *, taken: set[str]) -> Field:
    """A new field from what the form builder sent, or ServiceError naming what is wrong."""
    label = _text(data.get("label"), name="label", limit=MAX_LABEL, required=True)
    kind = data.get("kind")
    if kind not in KINDS:
        raise ServiceError("Choose what kind of answer this field takes.", field="kind")
    chart = data.get("chart") or ""
    if chart not in CHART_TARGETS:
        raise ServiceError("Choose where in the chart this answer goes, or nowhere.", field="chart")
    choices: tuple[str, ...] = ()
    low, high = 0, 10
    if kind == "choice":
        raw = data.get("choices")
        lines = raw.splitlines() if isinstance(raw, str) else list(raw) if isinstance(raw, list | tuple) else []
        choices = tuple(dict.fromkeys(c for c in (_text(x, name="choices", limit=MAX_CHOICE, required=False)
                                                   for x in lines) if c))  # fmt: skip
        if not 2 <= len(choices) <= MAX_CHOICES:
            raise ServiceError(f"Give between 2 and {MAX_CHOICES} choices, one per line.", field="choices")
    if kind == "scale":
        try:
            low, high = int(str(data.get("low", 0))), int(str(data.get("high", 10)))
        except ValueError:
            raise ServiceError("A scale runs between two whole numbers.", field="low") from None
        if not SCALE_BOUNDS[0] <= low < high <= SCALE_BOUNDS[1]:
            raise ServiceError("A scale runs from a low number to a higher one, within 0 to 10.", field="low")
    required = data.get("required") in (True, "on", "1", "true", "yes")
    help_text = _text(data.get("help"), name="help", limit=MAX_HELP, required=False)
    given = data.get("key")
    key = given if isinstance(given, str) and re.fullmatch(r"[a-z][a-z0-9_]{0,39}", given) and given not in taken \
        else key_for(label, taken)  # fmt: skip
    return Field(
        key=key,
        label=label,
        kind=kind,
        required=required,
        help=help_text,
        choices=choices,
        low=low,
        high=high,
        chart=chart,
    )


def fields_of(raw: str) -> list[Field]:
    """A stored version's fields (written only through field_from, so trusted)."""
    out = []
    for item in json.loads(raw or "[]"):
        out.append(
            Field(
                key=item["key"],
                label=item["label"],
                kind=item["kind"],
                required=bool(item.get("required")),
                help=item.get("help", ""),
                choices=tuple(item.get("choices", ())),
                low=int(item.get("low", 0)),
                high=int(item.get("high", 10)),
                chart=item.get("chart", ""),
            )
        )
    return out


def dump(fields: list[Field]) -> str:
    return json.dumps([f.as_dict() for f in fields])


@dataclass
class Checked:
    answers: dict[str, str]
    missing: list[str]  # labels of required fields left empty


def check_answers(fields: list[Field], data: Any, *, complete: bool) -> Checked:
    """The answers a client gave, each checked against its field. An answer of the wrong shape is
    refused; an empty required one is listed (and refused when ``complete``)."""
    answers: dict[str, str] = {}
    missing: list[str] = []
    for f in fields:
        raw = data.get(f.key, "") if hasattr(data, "get") else ""
        value = raw if isinstance(raw, str) else ""
        if "\x00" in value:
            raise ServiceError("That contains a character that cannot be stored.", field=f.key)
        value = value.strip() if f.kind == "paragraph" else " ".join(value.split())
        if value:
            answers[f.key] = _checked(f, value)
        elif f.required:
            missing.append(f.label)
    if complete and missing:
        raise ServiceError(f"Please answer: {', '.join(missing)}.", field="answers")
    return Checked(answers=answers, missing=missing)


def _checked(f: Field, value: str) -> str:
    if f.kind in TEXT_LIMIT:
        if len(value) > TEXT_LIMIT[f.kind]:
            raise ServiceError(f"“{f.label}”: keep it under {TEXT_LIMIT[f.kind]} characters.", field=f.key)
        return value
    if f.kind == "choice":
        if value not in f.choices:
            raise ServiceError(f"“{f.label}”: choose one of the answers offered.", field=f.key)
        return value
    if f.kind == "yes_no":
        if value not in ("yes", "no"):
            raise ServiceError(f"“{f.label}”: answer yes or no.", field=f.key)
        return value
    if f.kind == "scale":
        if not re.fullmatch(r"-?\d{1,3}", value) or not f.low <= int(value) <= f.high:
            raise ServiceError(f"“{f.label}”: choose a number from {f.low} to {f.high}.", field=f.key)
        return str(int(value))
    try:  # date
        given = date.fromisoformat(value)
    except ValueError:
        raise ServiceError(f"“{f.label}”: give a date as YYYY-MM-DD.", field=f.key) from None
    if not date(1900, 1, 1) <= given <= date(2100, 12, 31):
        raise ServiceError(f"“{f.label}”: that date is not plausible.", field=f.key)
    return given.isoformat()


def shown(f: Field, value: str) -> str:
    """An answer as a person reads it."""
    if f.kind == "yes_no":
        return {"yes": "Yes", "no": "No"}.get(value, value)
    if f.kind == "scale" and value:
        return f"{value} (of {f.low} to {f.high})"
    return value


def chart_details(fields: list[Field], answers: dict[str, str]) -> dict[str, str]:
    """What confirmed answers put into the chart's details: each target's answers, joined."""
    out: dict[str, list[str]] = {}
    for f in fields:
        if f.chart and answers.get(f.key):
            out.setdefault(f.chart, []).append(answers[f.key])
    return {target: ", ".join(values) for target, values in out.items()}
