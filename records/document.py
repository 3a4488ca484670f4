"""The client's copy of their record as a document people read: sections in plain words, times in
the reader's zone, amounts in the practice's currency, and none of the system's own flags or
field names. One reading of the export's data, written out twice: as a page and as a PDF
(reportlab). Psychotherapy notes are not in the data, so not in either."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from django.template.loader import render_to_string

from consent.models import ConsentKind
from records.models import AssessmentKind, BillingStatus, NoteTemplate


@dataclass
class Entry:
    heading: str
    facts: list[tuple[str, str]] = field(default_factory=list)  # label, value
    passages: list[tuple[str, str]] = field(default_factory=list)  # heading, text


@dataclass
class Section:
    title: str
    entries: list[Entry]
    empty: str = "None."


@dataclass
class Document:
    title: str
    preface: list[str]
    sections: list[Section]


def _when(value: Any, zone: tzinfo, *, time: bool = True) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(str(value))
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(zone)
        return f"{moment:%-d %B %Y, %H:%M %Z}" if time else f"{moment:%-d %B %Y}"
    return f"{moment:%-d %B %Y}"


def _day(value: Any) -> str:
    return f"{date.fromisoformat(str(value)):%-d %B %Y}" if value else ""


def _label(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def _money(amount: Any, currency: str) -> str:
    from accounts.templatetags.money import money

    return money(amount, currency)


def _choice(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def readable(data: dict[str, Any], *, zone: tzinfo, currency: str) -> Document:
    chart = data.get("chart", {})
    details = Entry(
        "Your details",
        facts=[
            (label, str(value))
            for label, value in (
                ("Name", data["client"]["name"]),
                ("E-mail", data["client"]["email"]),
                ("Date of birth", _day(chart.get("date_of_birth"))),
                ("Phone", chart.get("phone")),
                ("Address", chart.get("address")),
                ("Emergency contact", chart.get("emergency_contact")),
            )
            if value
        ]
        + [(_label(k), str(v)) for k, v in (chart.get("intake") or {}).items() if v not in ("", None)],
    )
    notes = []
    for note in data.get("progress_notes", []):
        facts = [("Written as", _choice(NoteTemplate, note.get("template")))]
        if note.get("minutes"):
            facts.append(("Length", f"{note['minutes']} minutes"))
        facts.append(("Signed", _when(note.get("signed_at"), zone)))
        entry = Entry(
            f"Session of {_day(note.get('service_date'))}" if note.get("service_date") else "Progress note",
            facts=facts,
            passages=[(_label(k), str(v)) for k, v in (note.get("sections") or {}).items() if str(v).strip()],
        )
        for addendum in note.get("addenda", []):
            entry.passages.append((f"Added {_when(addendum.get('signed_at'), zone)}", str(addendum.get("text", ""))))
        notes.append(entry)
    assessments = []
    for item in data.get("assessments", []):
        result = item.get("result") or {}
        assessments.append(
            Entry(
                f"{_choice(AssessmentKind, item.get('kind'))}, {_when(item.get('completed_at'), zone, time=False)}",
                facts=[("Score", f"{result.get('score')} ({result.get('severity')})")] if result else [],
            )
        )
    billing = [
        Entry(
            f"{_day(item.get('service_date'))}: {_money(item.get('fee'), currency)}",
            facts=[
                ("Service code", str(item.get("cpt_code", ""))),
                ("Diagnosis codes", ", ".join(item.get("diagnosis_codes") or [])),
                ("Status", _choice(BillingStatus, item.get("status"))),
            ],
        )
        for item in data.get("billing", [])
    ]
    appointments = [
        Entry(
            _when(item.get("starts_at"), zone),
            facts=[("Kind", _label(str(item.get("kind", "")))), ("Status", _label(str(item.get("status", ""))))],
        )
        for item in sorted(data.get("appointments", []), key=lambda a: str(a.get("starts_at")))
    ]
    signatures = [
        Entry(
            f"{_choice(ConsentKind, item.get('kind'))}, version {item.get('version')}",
            facts=[
                ("Signed", _when(item.get("signed_at"), zone)),
                ("Fingerprint of the text signed (SHA-256)", str(item.get("sha256", ""))),
            ],
        )
        for item in data.get("consent_signatures", [])
    ]
    return Document(
        title=f"The record of {data['client']['name']}",
        preface=[f"Prepared {_when(data.get('generated_at'), zone)}.", str(data.get("note", ""))],
        sections=[
            Section("Details", [details]),
            Section("Progress notes", notes, "No signed progress notes."),
            Section("Questionnaires", assessments, "No questionnaires answered."),
            Section("Billing", billing, "No charges."),
            Section("Sessions", appointments, "No sessions."),
            Section("Consent forms signed", signatures, "No consent forms signed."),
        ],
    )


def as_html(document: Document) -> str:
    return render_to_string("records/export_document.html", {"document": document})


def as_pdf(document: Document) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=document.title,
        author="",
        subject="A copy of a client's record",
    )

    def text(value: str) -> str:
        return escape(value).replace("\n", "<br/>")

    story: list[Any] = [Paragraph(text(document.title), styles["Title"])]
    story += [Paragraph(text(line), styles["Normal"]) for line in document.preface if line]
    for section in document.sections:
        story += [Spacer(1, 5 * mm), Paragraph(text(section.title), styles["Heading1"])]
        if not section.entries:
            story.append(Paragraph(text(section.empty), styles["Normal"]))
        for entry in section.entries:
            story.append(Paragraph(text(entry.heading), styles["Heading3"]))
            for label, value in entry.facts:
                story.append(Paragraph(f"<b>{text(label)}:</b> {text(value)}", styles["Normal"]))
            for heading, passage in entry.passages:
                story.append(Paragraph(f"<b>{text(heading)}</b>", styles["Normal"]))
                story.append(Paragraph(text(passage), styles["Normal"]))
    pdf.build(story)
    return buffer.getvalue()
