"""The client's copy of their record as a document people read: sections in plain words, times in
the reader's zone, amounts in the practice's currency, and none of the system's own flags or
field names. One reading of the export's data (records.copy.readable), written out twice: as a
page and as a PDF (reportlab). Psychotherapy notes are not in the data, so not in either."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from django.template.loader import render_to_string

from accounts.templatetags.money import money as money_text


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


def when(value: Any, zone: tzinfo, *, time: bool = True) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(str(value))
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(zone)
        return f"{moment:%-d %B %Y, %H:%M %Z}" if time else f"{moment:%-d %B %Y}"
    return f"{moment:%-d %B %Y}"


def day(value: Any) -> str:
    return f"{date.fromisoformat(str(value)):%-d %B %Y}" if value else ""


def label(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def money(amount: Any, currency: str) -> str:
    return money_text(amount, currency)


def choice(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


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
