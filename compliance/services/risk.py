"""The security risk analysis (45 CFR 164.308(a)(1)(ii)(A)): a guided, versioned assessment.

A new version starts from the last one signed off (or, the first time, from the asset inventory
this server's configuration gives and a starting list of threats). Each threat gets a likelihood
and an impact; their product places it in the risk register, with an owner, a plan and a due
date. Signing it off makes the printable report (a PDF), whose date and SHA-256 fingerprint go
into the audit chain. A review is due a year after the last sign-off.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from compliance.inputs import clean_text
from compliance.models import RiskAssessment, RiskAsset, RiskItem
from compliance.selectors import admin_only, found_in
from compliance.services.vendors import configured_components
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, NotVisible, ServiceError

REVIEW_EVERY = dt.timedelta(days=365)
STARTING_THREATS = (
    ("Ransomware or malware on a staff computer", "Records or sign-in details taken or locked."),
    ("Phishing that captures a staff password", "An account used by someone else (the second factor limits this)."),
    ("A lost or stolen laptop or phone", "Notes, e-mail or a signed-in session on the device."),
    ("A message or e-mail sent to the wrong person", "Client details disclosed by mistake."),
    ("A staff member looking at records without need", "Snooping; the audit log and alerts show it."),
    ("Software left unpatched", "A known hole in the server, a browser or a device."),
    ("A vendor's breach", "A company that handles client data loses it."),
    ("A session overheard at home or in a café", "A client's or therapist's surroundings."),
    ("Loss of the server or its data", "Fire, a failed disk, a deleted database: backups and restore."),
    ("Losing the encryption keys", "Backups and sealed data that can no longer be read."),
)
LIMITS = {"threat": 200, "description": 2000, "plan": 2000}


def _admin(user: User) -> None:
    admin_only(user, "review.riskassessment")


def assessment_get_for_admin(*, user: User, assessment_id: object) -> RiskAssessment:
    _admin(user)
    return found_in(RiskAssessment.objects.filter(practice_id=user.practice_id), assessment_id, "review.riskassessment")


def inventory_from_configuration() -> list[tuple[str, str, str]]:
    """(name, kind, location) of every part of this server that holds or carries client data."""
    found = [
        ("Clinical record database", "Database", str(settings.DATABASES["default"].get("HOST") or "this server")),
        (
            "Psychotherapy notes database",
            "Database",
            str(settings.DATABASES["psychotherapy"].get("HOST") or "this server"),
        ),
    ]
    if settings.REDIS_URL:
        found.append(("Redis (signaling, cache, task queue)", "Message broker", "internal network"))
    for component in configured_components():
        if component.key.startswith("database:"):
            continue
        found.append((component.name, component.service, component.data_location))
    found.append(("Backups", "Backup", "as the operator keeps them"))
    return found


def review_due(practice_id: int) -> dt.datetime | None:
    """When the next review is due (None: no analysis signed off yet, which is due now)."""
    last = (
        RiskAssessment.objects.filter(practice_id=practice_id, finalized_at__isnull=False)
        .order_by("-finalized_at")
        .values_list("finalized_at", flat=True)
        .first()
    )
    return last + REVIEW_EVERY if last else None


def review_overdue(practice_id: int, now: dt.datetime | None = None) -> bool:
    due = review_due(practice_id)
    return due is None or (now or timezone.now()) >= due


def assessment_start(*, actor: User, context: AuditContext | None) -> RiskAssessment:
    """A new version: a copy of the last signed-off one, or the configuration and the starting list."""
    _admin(actor)
    with transaction.atomic():
        existing = RiskAssessment.objects.select_for_update().filter(practice_id=actor.practice_id)
        if existing.filter(finalized_at__isnull=True).exists():
            raise Conflict("An analysis is already in progress: finish it first.")
        last = existing.filter(finalized_at__isnull=False).order_by("-number").first()
        number = (existing.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        assessment = RiskAssessment.objects.create(practice_id=actor.practice_id, number=number)
        if last is not None:
            for asset in last.assets.all():
                RiskAsset.objects.create(
                    assessment=assessment, name=asset.name, kind=asset.kind, location=asset.location,
                    from_configuration=asset.from_configuration,
                )  # fmt: skip
            for risk in last.risks.all():
                RiskItem.objects.create(
                    assessment=assessment, threat=risk.threat, description=risk.description,
                    likelihood=risk.likelihood, impact=risk.impact, owner_id=risk.owner_id, plan=risk.plan,
                    due_on=risk.due_on,
                )  # fmt: skip
        else:
            for name, kind, location in inventory_from_configuration():
                RiskAsset.objects.create(
                    assessment=assessment, name=name, kind=kind, location=location, from_configuration=True
                )
            for threat, description in STARTING_THREATS:
                RiskItem.objects.create(assessment=assessment, threat=threat, description=description)
        _edited(actor, assessment, context, "started", copied_from=last.number if last is not None else 0)
    return assessment


def _open(assessment: RiskAssessment) -> None:
    if assessment.final:
        raise Conflict("This analysis was signed off and can no longer change; start a new one.")


def _text(value: object, field: str, *, required: bool = False) -> str:
    return clean_text(value, field=field, limit=LIMITS.get(field, 200), required=required)


def _edited(actor: User, assessment: RiskAssessment, context: AuditContext | None, change: str, **details: Any) -> None:
    """Every change before sign-off is audited, as the sign-off is: who changed what, and when."""
    audit_record(
        action=Action.RISK_ANALYSIS_EDIT, actor=actor, context=context, target=assessment,
        details={"number": assessment.number, "change": change, **details},
    )  # fmt: skip


def asset_add(
    *,
    actor: User,
    assessment: RiskAssessment,
    name: object,
    kind: object,
    location: object,
    context: AuditContext | None = None,
) -> RiskAsset:
    _admin(actor)
    _open(assessment)
    with transaction.atomic():
        asset = RiskAsset.objects.create(
            assessment=assessment,
            name=_text(name, "name", required=True),
            kind=_text(kind, "kind", required=True),
            location=_text(location, "location"),
        )
        _edited(actor, assessment, context, "asset_added", asset=asset.name)
    return asset


def risk_save(
    *,
    actor: User,
    assessment: RiskAssessment,
    fields: dict[str, Any],
    risk: RiskItem | None = None,
    context: AuditContext | None = None,
) -> RiskItem:
    """Add a threat to the register, or change one: likelihood and impact 1-5, an owner from the
    practice's staff, a plan and a due date."""
    _admin(actor)
    _open(assessment)
    risk = risk or RiskItem(assessment=assessment)
    if risk.assessment_id != assessment.pk:
        raise NotVisible("review.riskitem", risk.pk)
    watched = ("threat", "description", "plan", "likelihood", "impact", "owner_id", "due_on")
    before = {name: getattr(risk, name) for name in watched} if risk.pk else None
    risk.threat = _text(fields.get("threat", risk.threat), "threat", required=True)
    risk.description = _text(fields.get("description", risk.description), "description")
    risk.plan = _text(fields.get("plan", risk.plan), "plan")
    for name in ("likelihood", "impact"):
        try:
            value = int(fields.get(name, getattr(risk, name)))
        except (TypeError, ValueError):
            raise ServiceError("Choose 1 to 5.", field=name) from None
        if not 1 <= value <= 5:
            raise ServiceError("Choose 1 to 5.", field=name)
        setattr(risk, name, value)
    owner = fields.get("owner_id", risk.owner_id)
    if owner in ("", None):
        risk.owner_id = None
    else:
        staff = User.objects.filter(
            pk=owner if str(owner).isdigit() else 0,
            practice_id=actor.practice_id,
            role_grants__role__in=[Role.ADMIN, Role.THERAPIST],
        ).first()
        if staff is None:
            raise ServiceError("The owner is one of the practice's staff.", field="owner_id")
        risk.owner_id = staff.pk
    due = fields.get("due_on", risk.due_on)
    if due in ("", None):
        risk.due_on = None
    else:
        try:
            risk.due_on = due if isinstance(due, dt.date) else dt.date.fromisoformat(str(due))
        except ValueError:
            raise ServiceError("Give a date as YYYY-MM-DD.", field="due_on") from None
    changed = [name for name in watched if before is None or before[name] != getattr(risk, name)]
    with transaction.atomic():
        risk.save()
        if changed:
            _edited(
                actor, assessment, context, "risk_added" if before is None else "risk_changed",
                risk=risk.threat, fields=",".join(changed),
            )  # fmt: skip
    return risk


def assessment_finalize(*, actor: User, assessment: RiskAssessment, context: AuditContext | None) -> RiskAssessment:
    """Sign it off: the report is made, kept, and its fingerprint written to the audit chain."""
    _admin(actor)
    with transaction.atomic():
        locked = RiskAssessment.objects.select_for_update().get(pk=assessment.pk)
        _open(locked)
        unplanned = [r.threat for r in locked.risks.all() if r.level == "high" and not r.plan]
        if unplanned:
            raise ServiceError(f"Give every high risk a plan first: {', '.join(unplanned)}.", field="plan")
        locked.finalized_at = timezone.now()
        locked.finalized_by_id = actor.pk
        pdf = report_pdf(locked, signed_by=actor)
        locked.report_pdf = base64.b64encode(pdf).decode()
        locked.report_sha256 = hashlib.sha256(pdf).hexdigest()
        locked.save(update_fields=["finalized_at", "finalized_by_id", "report_pdf", "report_sha256"])
        audit_record(
            action=Action.RISK_ANALYSIS_FINAL,
            actor=actor,
            context=context,
            target=locked,
            details={
                "number": locked.number,
                "date": locked.finalized_at.date().isoformat(),
                "sha256": locked.report_sha256,
            },
        )
    return locked


def report_pdf(assessment: RiskAssessment, *, signed_by: User) -> bytes:
    """The printable report: assets, the register by risk, and who signed it off when."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    practice = assessment.practice
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"Security risk analysis {assessment.number}", author=practice.name,
        leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
    )  # fmt: skip
    names = dict(User.objects.filter(practice_id=practice.pk).values_list("pk", "full_name"))

    def cell(text: object) -> Paragraph:
        return Paragraph(str(text).replace("&", "&amp;").replace("<", "&lt;"), styles["BodyText"])

    when = timezone.localtime(assessment.finalized_at or timezone.now())
    story: list[Any] = [
        Paragraph(f"Security risk analysis, version {assessment.number}", styles["Title"]),
        cell(f"{practice.name}. Signed off by {signed_by.full_name} on {when:%d %B %Y, %H:%M %Z}."),
        cell(
            "Under 45 CFR 164.308(a)(1)(ii)(A): an accurate and thorough assessment of the risks to the "
            "confidentiality, integrity and availability of electronic protected health information."
        ),
        Spacer(1, 6 * mm),
        Paragraph("Assets", styles["Heading2"]),
    ]
    assets = [["Asset", "Kind", "Where"]] + [
        [cell(a.name), cell(a.kind), cell(a.location)] for a in assessment.assets.all()
    ]
    story.append(Table(assets, colWidths=[70 * mm, 45 * mm, 55 * mm], repeatRows=1))
    story += [Spacer(1, 6 * mm), Paragraph("Risk register", styles["Heading2"])]
    rows: list[list[Any]] = [["Threat", "L", "I", "Risk", "Owner", "Plan", "Due"]]
    for risk in sorted(assessment.risks.all(), key=lambda r: -r.score):
        rows.append(
            [
                cell(risk.threat), risk.likelihood, risk.impact, f"{risk.score} {risk.level}",
                cell(names.get(risk.owner_id or 0, "")), cell(risk.plan), str(risk.due_on or ""),
            ]
        )  # fmt: skip
    table = Table(rows, colWidths=[45 * mm, 8 * mm, 8 * mm, 20 * mm, 25 * mm, 46 * mm, 20 * mm], repeatRows=1)
    grid = [("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    table.setStyle(TableStyle(grid))
    story.append(table)
    document.build(story)
    return buffer.getvalue()
