"""The client's copy of the record, section by section. Each section names what it carries (the
need the records door knows: summary, clinical, billing), how to gather it for one reader, and how
a person reads it. The door decides: a section the reader cannot reach through the chart's own
rule is left out of their copy and listed as withheld, in every form of the copy (JSON, page,
PDF), and a section gathers only what its own door shows that reader.

The records app registers the sections it owns here; the apps above it (messages, intake forms,
sessions, agreements) register theirs at start-up, since records cannot import them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from accounts.models import User
from consent.models import ConsentKind, ConsentSignature, ParticipantAgreement
from records.diagnoses import description
from records.document import Document, Entry, Section, choice, day, label, money, when
from records.models import AssessmentKind, BillingStatus, ChartDiagnosis, ClientChart, NoteTemplate
from records.selectors import Access, Need, billing_visible, chart_access, chart_reaches, documents_visible
from teletherapy.hooks import copy_sections

# (chart, reader, how the reader reaches the chart) -> the section's items
Gather = Callable[[ClientChart, User, Access], list[dict[str, Any]]]
# (item, the reader's zone, the practice's currency) -> what a person reads
Read = Callable[[dict[str, Any], tzinfo, str], Entry]


@dataclass(frozen=True)
class CopySection:
    key: str
    title: str
    need: Need
    gather: Gather
    read: Read
    empty: str
    order: int


def sections() -> list[CopySection]:
    """Every section registered (``teletherapy.hooks.copy_sections``), in the copy's order."""
    return sorted(copy_sections, key=lambda s: s.order)


def copy_contents(*, chart: ClientChart, reader: User) -> dict[str, Any]:
    """Every section the reader reaches, gathered for them; the others named under "withheld"."""
    data: dict[str, Any] = {"withheld": []}
    access = chart_access(user=reader, chart=chart)
    for section in sections():
        if access is None or not chart_reaches(user=reader, chart_id=chart.pk, need=section.need):
            data["withheld"].append(section.key)
            continue
        data[section.key] = section.gather(chart, reader, access)
    return data


WITHHELD = "Not part of your copy: the practice keeps this part of the record between the client and their care team."


# The records app's own sections -----------------------------------------------------------------


def _notes(chart: ClientChart, reader: User, access: Access) -> list[dict[str, Any]]:
    # Every signed note, shared or not: it is the client's record.
    return [
        {
            "template": note.template,
            "service_date": note.service_date.isoformat(),
            "minutes": note.minutes,
            "signed_at": note.signed_at.isoformat() if note.signed_at else None,
            "sections": json.loads(note.body),
            "addenda": [{"signed_at": a.signed_at.isoformat(), "text": a.body} for a in note.addenda.all()],
        }
        for note in chart.notes.filter(signed_at__isnull=False).prefetch_related("addenda")
    ]


def _read_note(note: dict[str, Any], zone: tzinfo, currency: str) -> Entry:
    facts = [("Written as", choice(NoteTemplate, note.get("template")))]
    if note.get("minutes"):
        facts.append(("Length", f"{note['minutes']} minutes"))
    facts.append(("Signed", when(note.get("signed_at"), zone)))
    entry = Entry(
        f"Session of {day(note.get('service_date'))}" if note.get("service_date") else "Progress note",
        facts=facts,
        passages=[(label(k), str(v)) for k, v in (note.get("sections") or {}).items() if str(v).strip()],
    )
    for addendum in note.get("addenda", []):
        entry.passages.append((f"Added {when(addendum.get('signed_at'), zone)}", str(addendum.get("text", ""))))
    return entry


def _assessments(chart: ClientChart, reader: User, access: Access) -> list[dict[str, Any]]:
    return [
        {
            "kind": a.kind,
            "completed_at": a.completed_at.isoformat() if a.completed_at else None,
            "result": json.loads(a.result),
        }
        for a in chart.assessments.filter(completed_at__isnull=False)
    ]


def _read_assessment(item: dict[str, Any], zone: tzinfo, currency: str) -> Entry:
    result = item.get("result") or {}
    return Entry(
        f"{choice(AssessmentKind, item.get('kind'))}, {when(item.get('completed_at'), zone, time=False)}",
        facts=[("Score", f"{result.get('score')} ({result.get('severity')})")] if result else [],
    )


def _billing(chart: ClientChart, reader: User, access: Access) -> list[dict[str, Any]]:
    return [
        {
            "service_date": b.service_date.isoformat(),
            "cpt_code": b.cpt_code,
            "diagnosis_codes": [code for code in b.diagnosis_codes.split(",") if code],
            "fee": str(b.fee),
            "status": b.status,
        }
        for b in billing_visible(chart=chart, access=access)
    ]


def _read_charge(item: dict[str, Any], zone: tzinfo, currency: str) -> Entry:
    return Entry(
        f"{day(item.get('service_date'))}: {money(item.get('fee'), currency)}",
        facts=[
            ("Service code", str(item.get("cpt_code", ""))),
            ("Diagnosis codes", ", ".join(item.get("diagnosis_codes") or [])),
            ("Status", choice(BillingStatus, item.get("status"))),
        ],
    )


def _diagnoses(chart: ClientChart, reader: User, access: Access) -> list[dict[str, Any]]:
    return [
        {
            "code": d.code,
            "description": description(d.code),
            "noted_on": d.noted_on.isoformat(),
            "resolved_on": d.resolved_on.isoformat() if d.resolved_on else None,
        }
        for d in ChartDiagnosis.objects.filter(chart=chart).order_by("position", "created_at")
    ]


def _read_diagnosis(item: dict[str, Any], zone: tzinfo, currency: str) -> Entry:
    ended = item.get("resolved_on")
    return Entry(
        f"{item.get('code', '')} {item.get('description', '')}",
        facts=[("Since", day(item.get("noted_on"))), *([("Resolved", day(ended))] if ended else [])],
    )


def _documents(chart: ClientChart, reader: User, access: Access) -> list[dict[str, Any]]:
    return [
        {"name": d.name, "kind": d.kind, "size": d.size, "uploaded_at": d.uploaded_at.isoformat(), "sha256": d.sha256}
        for d in documents_visible(chart=chart, access=access).order_by("uploaded_at")
    ]


def _read_document(item: dict[str, Any], zone: tzinfo, currency: str) -> Entry:
    return Entry(
        str(item.get("name", "")),
        facts=[("Added", when(item.get("uploaded_at"), zone)), ("Size", f"{int(item.get('size') or 0):,} bytes")],
    )


def _signatures(chart: ClientChart, reader: User, access: Access) -> list[dict[str, Any]]:
    signatures = ConsentSignature.objects.filter(on_behalf_of=chart.client).select_related("version", "signer")
    return [
        {
            "kind": s.kind,
            "version": s.version_number,
            "sha256": s.version_sha256,
            "signed_at": s.signed_at.isoformat(),
            "signed_by": s.signer.full_name,
            "text": s.version.body,
        }
        for s in signatures.order_by("signed_at")
    ]


def _read_signature(item: dict[str, Any], zone: tzinfo, currency: str) -> Entry:
    return Entry(
        f"{choice(ConsentKind, item.get('kind'))}, version {item.get('version')}",
        facts=[
            ("Signed", when(item.get("signed_at"), zone)),
            ("Signed by", str(item.get("signed_by", ""))),
            ("Fingerprint of the text signed (SHA-256)", str(item.get("sha256", ""))),
        ],
        passages=[("The text signed", str(item["text"]))] if item.get("text") else [],
    )


def _agreements(chart: ClientChart, reader: User, access: Access) -> list[dict[str, Any]]:
    agreements = ParticipantAgreement.objects.filter(client_id=chart.client_id).select_related("recorded_by")
    return [
        {"recorded_at": a.recorded_at.isoformat(), "recorded_by": a.recorded_by.full_name, "text": a.text}
        for a in agreements.order_by("recorded_at")
    ]


def _read_agreement(item: dict[str, Any], zone: tzinfo, currency: str) -> Entry:
    return Entry(
        f"Recorded {when(item.get('recorded_at'), zone)}",
        facts=[("Recorded by", str(item.get("recorded_by", "")))],
        passages=[("What was agreed", str(item.get("text", "")))],
    )


copy_sections.register(
    CopySection("progress_notes", "Progress notes", Need.CLINICAL, _notes, _read_note, "No signed progress notes.", 10)
)
copy_sections.register(
    CopySection(
        "assessments",
        "Questionnaires",
        Need.CLINICAL,
        _assessments,
        _read_assessment,
        "No questionnaires answered.",
        20,
    )
)
copy_sections.register(
    CopySection("documents", "Documents", Need.CLINICAL, _documents, _read_document, "No documents.", 50)
)
copy_sections.register(
    CopySection("diagnoses", "Diagnoses", Need.BILLING, _diagnoses, _read_diagnosis, "No diagnoses recorded.", 58)
)
copy_sections.register(CopySection("billing", "Billing", Need.BILLING, _billing, _read_charge, "No charges.", 60))
copy_sections.register(
    CopySection("agreements", "Agreements", Need.CLINICAL, _agreements, _read_agreement, "No agreements recorded.", 75)
)
copy_sections.register(
    CopySection(
        "consent_signatures",
        "Consent forms signed",
        Need.SUMMARY,
        _signatures,
        _read_signature,
        "No consent forms signed.",
        80,
    )
)


def readable(data: dict[str, Any], *, zone: tzinfo, currency: str) -> Document:
    """The copy as a person reads it: the details, then every section in the same order as the
    JSON, a withheld one saying so."""
    chart = data.get("chart", {})
    details = Entry(
        "Your details",
        facts=[
            (name, str(value))
            for name, value in (
                ("Name", data["client"]["name"]),
                ("E-mail", data["client"]["email"]),
                ("Date of birth", day(chart.get("date_of_birth"))),
                ("Phone", chart.get("phone")),
                ("Address", chart.get("address")),
                ("Emergency contact", chart.get("emergency_contact")),
            )
            if value
        ]
        + [(label(k), str(v)) for k, v in (chart.get("intake") or {}).items() if v not in ("", None)],
    )
    parts = [Section("Details", [details])]
    withheld = set(data.get("withheld", []))
    for section in sections():
        if section.key in withheld:
            parts.append(Section(section.title, [], WITHHELD))
        elif section.key in data:
            items = data[section.key]
            parts.append(Section(section.title, [section.read(item, zone, currency) for item in items], section.empty))
    return Document(
        title=f"The record of {data['client']['name']}",
        preface=[f"Prepared {when(data.get('generated_at'), zone)}.", str(data.get("note", ""))],
        sections=parts,
    )
