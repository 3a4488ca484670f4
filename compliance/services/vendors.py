"""The vendor and BAA register: who handles the practice's client data, under which Business
Associate Agreement, until when. Admins only; every change and every opening of a signed
agreement is audited. The platform's own components are offered from the configuration."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.models import Action
from audit.services import audit_record
from compliance.inputs import clean_text, host_of, hosts_of
from compliance.models import Vendor
from compliance.selectors import admin_only, found_in
from records.files import DocumentRefused, scan_bytes
from teletherapy.context import AuditContext
from teletherapy.errors import NotVisible, ServiceError

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# A signed agreement is a PDF: told by its content, not by its name or the browser's word.
DOCUMENT_TYPES = {b"%PDF-": "application/pdf"}
REMIND_DAYS = 30
LIMITS = {"name": 200, "service": 200, "data_touched": 300, "data_location": 200}


@dataclass(frozen=True)
class Component:
    key: str
    name: str
    service: str
    data_touched: str
    data_location: str = ""


def configured_components() -> list[Component]:
    """The platform's own parts that handle client data, as this server is configured."""
    found = []
    provider = getattr(settings, "HOSTING_PROVIDER", "")
    if provider:
        found.append(
            Component(
                "hosting", provider, "Hosting of this server", "All of it", getattr(settings, "HOSTING_REGION", "")
            )
        )
    for alias, label, data in (
        ("default", "Database server", "The clinical record, accounts and audit trail (sealed fields)"),
        ("psychotherapy", "Psychotherapy-notes database server", "Psychotherapy notes (sealed)"),
    ):
        host = str(settings.DATABASES[alias].get("HOST") or "")
        if host and host not in ("localhost", "127.0.0.1", "::1"):
            found.append(Component(f"database:{alias}", host, label, data, host))
    smtp = str(getattr(settings, "EMAIL_BACKEND", "")).endswith("smtp.EmailBackend")
    if smtp and getattr(settings, "EMAIL_HOST", "") not in ("", "localhost", "127.0.0.1", "::1"):
        found.append(
            Component("email", str(settings.EMAIL_HOST), "E-mail delivery", "Names and e-mail addresses, reminders")
        )
    turn = sorted(hosts_of(list(getattr(settings, "ICE_TURN_URLS", []))))
    if turn:
        found.append(Component("turn", ", ".join(turn), "Video relay (TURN)", "Encrypted session media, passed on"))
    witness = host_of(getattr(settings, "AUDIT_WITNESS_URL", "") or "")
    if witness:
        found.append(Component("witness", witness, "Off-host audit witness", "Audit metadata: who opened which record"))
    return found


def components_not_registered(practice_id: int) -> list[Component]:
    registered = set(Vendor.objects.filter(practice_id=practice_id).values_list("from_configuration", flat=True))
    return [c for c in configured_components() if c.key not in registered]


def vendor_get_for_admin(*, user: User, vendor_id: object) -> Vendor:
    """The door to a vendor record: an admin of its practice, or NotVisible."""
    _admin(user)
    return found_in(Vendor.objects.filter(practice_id=user.practice_id), vendor_id, "review.vendor")


def _admin(user: User) -> None:
    admin_only(user, "review.vendor")


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, limit in LIMITS.items():
        clean[name] = clean_text(fields.get(name), field=name, limit=limit, required=name != "data_location")
    for name in ("baa_signed_on", "baa_expires_on"):
        given = fields.get(name)
        if given in (None, ""):
            clean[name] = None
        elif isinstance(given, dt.date):
            clean[name] = given
        else:
            try:
                clean[name] = dt.date.fromisoformat(str(given))
            except ValueError:
                raise ServiceError("Give a date as YYYY-MM-DD.", field=name) from None
    if clean["baa_expires_on"] and not clean["baa_signed_on"]:
        raise ServiceError("Give the date it was signed as well.", field="baa_signed_on")
    if clean["baa_expires_on"] and clean["baa_signed_on"] and clean["baa_expires_on"] <= clean["baa_signed_on"]:
        raise ServiceError("It must expire after it was signed.", field="baa_expires_on")
    return clean


def vendor_save(
    *,
    actor: User,
    fields: dict[str, Any],
    context: AuditContext | None,
    vendor: Vendor | None = None,
    component: str = "",
) -> Vendor:
    _admin(actor)
    clean = _clean(fields)
    with transaction.atomic():
        if vendor is None:
            vendor = Vendor(practice_id=actor.practice_id, from_configuration=component)
            change = "added"
        else:
            vendor = Vendor.objects.select_for_update().get(pk=vendor.pk, practice_id=actor.practice_id)
            change = "updated"
        for name, value in clean.items():
            setattr(vendor, name, value)
        if vendor.baa_expires_on != vendor.reminded_for:
            vendor.reminded_for = None
        vendor.updated_at = timezone.now()
        vendor.save()
        audit_record(
            action=Action.VENDOR_CHANGE,
            actor=actor,
            context=context,
            target=vendor,
            details={"change": change, "vendor": vendor.name, "baa_expires_on": str(vendor.baa_expires_on or "")},
        )
    return vendor


def vendor_add_component(*, actor: User, key: str, context: AuditContext | None) -> Vendor:
    component = next((c for c in components_not_registered(actor.practice_id) if c.key == key), None)
    if component is None:
        raise ServiceError("That component is not configured here, or is already in the register.", field="component")
    return vendor_save(
        actor=actor,
        context=context,
        component=component.key,
        fields={
            "name": component.name,
            "service": component.service,
            "data_touched": component.data_touched,
            "data_location": component.data_location,
        },
    )


def vendor_document_attach(
    *, actor: User, vendor: Vendor, name: str, content: bytes, context: AuditContext | None
) -> Vendor:
    """Keep the signed agreement, sealed. Only a PDF of at most 10 MB is taken."""
    _admin(actor)
    if not content:
        raise ServiceError("The file is empty.", field="document")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ServiceError(f"Keep the file under {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.", field="document")
    kind = next((t for magic, t in DOCUMENT_TYPES.items() if content.startswith(magic)), None)
    if kind is None:
        raise ServiceError("Upload the signed agreement as a PDF.", field="document")
    try:  # scanned like every other upload
        scanned = scan_bytes(content)
    except DocumentRefused as refusal:
        raise ServiceError(refusal.message, code=refusal.code, field="document") from None
    with transaction.atomic():
        locked = Vendor.objects.select_for_update().get(pk=vendor.pk, practice_id=actor.practice_id)
        locked.baa_document = base64.b64encode(content).decode()
        locked.baa_document_name = (name or "agreement.pdf").replace("/", "_").replace("\\", "_")[-200:]
        locked.baa_document_type = kind
        locked.baa_document_size = len(content)
        locked.baa_document_sha256 = hashlib.sha256(content).hexdigest()
        locked.updated_at = timezone.now()
        locked.save()
        audit_record(
            action=Action.VENDOR_CHANGE,
            actor=actor,
            context=context,
            target=locked,
            details={
                "change": "document",
                "vendor": locked.name,
                "sha256": locked.baa_document_sha256,
                "scanned": scanned,
            },
        )
    return locked


def vendor_document_open(*, actor: User, vendor: Vendor, context: AuditContext | None) -> tuple[bytes, str, str]:
    _admin(actor)
    if not vendor.baa_document:
        raise NotVisible("review.vendor.document", str(vendor.pk))
    audit_record(action=Action.VENDOR_DOCUMENT_VIEW, actor=actor, context=context, target=vendor)
    return base64.b64decode(vendor.baa_document), vendor.baa_document_name, vendor.baa_document_type


def vendors_needing_attention(practice_id: int, today: dt.date | None = None) -> list[Vendor]:
    """Vendors whose BAA has expired or expires within 30 days, or who have none."""
    return [v for v in Vendor.objects.filter(practice_id=practice_id) if v.baa_state(today) != "signed"]


def vendors_remind(today: dt.date | None = None) -> int:
    """E-mail a practice's admins, once per expiry date, about a BAA that expires within 30 days."""
    today = today or timezone.localdate()
    due = Vendor.objects.filter(
        baa_expires_on__isnull=False,
        baa_expires_on__lte=today + dt.timedelta(days=REMIND_DAYS),
        baa_expires_on__gte=today - dt.timedelta(days=REMIND_DAYS),
    ).select_related("practice")
    sent = 0
    for vendor in due:
        if vendor.reminded_for == vendor.baa_expires_on:
            continue
        claimed = Vendor.objects.filter(pk=vendor.pk).exclude(reminded_for=vendor.baa_expires_on)
        if not claimed.update(reminded_for=vendor.baa_expires_on):
            continue
        admins = User.objects.filter(
            practice_id=vendor.practice_id, role_grants__role=Role.ADMIN, is_active=True
        ).values_list("email", flat=True)
        assert vendor.baa_expires_on is not None
        when = "expired on" if vendor.baa_expires_on < today else "expires on"
        send_mail(
            subject=f"The Business Associate Agreement with {vendor.name} {when} {vendor.baa_expires_on:%Y-%m-%d}",
            message=(
                f"The BAA with {vendor.name} ({vendor.service}) {when} {vendor.baa_expires_on:%d %B %Y}.\n\n"
                "Renew it, or stop using the service for client data, and record the new agreement in the "
                "vendor register. Until then the practice's privacy fact sheet says it has lapsed.\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=list(admins),
        )
        sent += 1
    return sent
