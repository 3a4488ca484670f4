"""The one door to intake packets and their answers.

A packet is filled in by the person it is for (the client, or a guardian for a minor), read and
managed by the chart's care team, and read under emergency access once filed. An admin never
reads one (intake answers are clinical). Anyone else gets NotVisible (a 404, audited once).
"""

from __future__ import annotations

import enum
import json
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import wards_of
from consent.models import ConsentSignature
from consent.selectors import signature_in_force
from intake import schema
from intake.models import IntakeForm, IntakeFormVersion, IntakePacket, ItemKind, PacketItem
from records.document import Entry, when
from records.selectors import Access, Need, chart_access, chart_reaches, clinical_gate
from teletherapy.errors import NotVisible
from teletherapy.ids import as_uuid


class PacketReach(enum.Enum):
    FILLER = "filler"  # the client, or a guardian of a minor: fills in, signs, reads what they gave
    TEAM = "team"  # the care team: sends, follows, reads what was filed, confirms details
    READER = "reader"  # emergency access: reads what was filed


REACH_OF_ACCESS = {
    Access.CLIENT: PacketReach.FILLER,
    Access.GUARDIAN: PacketReach.FILLER,
    Access.CARE_TEAM: PacketReach.TEAM,
    Access.EMERGENCY: PacketReach.READER,
}


def packet_reach(*, user: User, packet: IntakePacket) -> tuple[PacketReach, Access] | None:
    access = chart_access(user=user, chart=packet.chart)
    reach = REACH_OF_ACCESS.get(access) if access is not None else None
    return (reach, access) if reach is not None and access is not None else None


def packet_get_for_user(
    *, user: User, packet_id: object, need: frozenset[PacketReach] = frozenset(PacketReach)
) -> tuple[IntakePacket, PacketReach, Access]:
    """The door: the packet, how the user reaches it and how they reach its chart, or NotVisible."""
    pk = as_uuid(packet_id)
    packet = IntakePacket.objects.select_related("chart__client").filter(pk=pk).first() if pk else None
    found = packet_reach(user=user, packet=packet) if packet else None
    if packet is None or found is None or found[0] not in need:
        raise NotVisible("intake.intakepacket", packet_id)
    clinical_gate(user=user, access=found[1], target_type="intake.intakepacket", target_id=packet_id)
    return packet, found[0], found[1]


def item_get_for_user(
    *, user: User, packet_item_id: object, need: frozenset[PacketReach] = frozenset(PacketReach)
) -> tuple[PacketItem, PacketReach, Access]:
    """An item of a packet the user reaches. Before filing, only the filler sees its answers."""
    pk = as_uuid(packet_item_id)
    item = (
        PacketItem.objects.select_related("packet__chart__client", "form_version__form", "consent_document")
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    found = packet_reach(user=user, packet=item.packet) if item else None
    if item is None or found is None or found[0] not in need:
        raise NotVisible("intake.packetitem", packet_item_id)
    if found[0] is not PacketReach.FILLER and item.filed_at is None:
        raise NotVisible("intake.packetitem", packet_item_id)
    # Once filed, the answers are the chart's clinical content: read by the chart's own rule (a
    # guardian only where the chart shares clinical content with guardians).
    if item.filed_at is not None and not chart_reaches(user=user, chart_id=item.packet.chart_id, need=Need.CLINICAL):
        raise NotVisible("intake.packetitem", packet_item_id)
    clinical_gate(user=user, access=found[1], target_type="intake.packetitem", target_id=packet_item_id)
    return item, found[0], found[1]


def items_of(packet: IntakePacket) -> list[PacketItem]:
    return list(
        packet.items.select_related("form_version__form", "consent_document", "assessment").order_by("position")
    )


def answers_of(item: PacketItem) -> dict[str, str]:
    return json.loads(item.answers) if item.answers else {}


def fields_of(item: PacketItem) -> list[schema.Field]:
    return schema.fields_of(item.form_version.fields) if item.form_version else []


def consent_signed_before(item: PacketItem) -> ConsentSignature | None:
    """A consent document of the packet that is already in force for the client (its current
    version signed, say, minutes before at Join): nothing to read or sign again."""
    if item.kind != ItemKind.CONSENT or item.consent_document is None or item.filed_at is not None:
        return None
    return signature_in_force(client=item.packet.chart.client, kind=item.consent_document.kind)


def item_done(item: PacketItem) -> bool:
    if item.kind == ItemKind.QUESTIONNAIRE:
        return item.assessment is not None and item.assessment.completed_at is not None
    return item.completed_at is not None or consent_signed_before(item) is not None


def item_title(item: PacketItem) -> str:
    if item.kind == ItemKind.FORM and item.form_version:
        return item.form_version.form.title
    if item.kind == ItemKind.CONSENT and item.consent_document:
        return item.consent_document.title
    return item.assessment.get_kind_display() if item.assessment else "Questionnaire"


def progress(packet: IntakePacket) -> tuple[int, int]:
    items = items_of(packet)
    return sum(1 for i in items if item_done(i)), len(items)


def forms_of_practice(*, practice_id: int) -> QuerySet[IntakeForm]:
    return IntakeForm.objects.filter(practice_id=practice_id).prefetch_related("versions")


def published_version(form: IntakeForm) -> IntakeFormVersion | None:
    return form.versions.filter(status="published").order_by("-number").first()


def form_version_get_for_admin(*, user: User, form_version_id: object) -> IntakeFormVersion:
    pk = as_uuid(form_version_id)
    version = IntakeFormVersion.objects.select_related("form").filter(pk=pk).first() if pk else None
    if version is None or version.form.practice_id != user.practice_id or not user.has_role("admin"):
        raise NotVisible("intake.intakeformversion", form_version_id)
    return version


def packets_of_chart(chart: Any) -> QuerySet[IntakePacket]:
    return IntakePacket.objects.filter(chart=chart).select_related("sent_by")


def packets_outstanding_for(*, therapist: User) -> list[IntakePacket]:
    """Packets the therapist's clients have yet to sign, oldest first (never as an admin)."""
    if therapist.has_role("admin"):
        return []
    return list(
        IntakePacket.objects.filter(
            chart__care_team=therapist, practice_id=therapist.practice_id, signed_at=None, withdrawn_at=None
        )
        .select_related("chart__client")
        .order_by("sent_at")[:50]
    )


def packets_to_fill(*, user: User) -> list[IntakePacket]:
    """Outstanding packets for the user to fill in: their own, and their wards'."""
    people = [user.pk, *wards_of(guardian=user).values_list("pk", flat=True)]
    candidates = IntakePacket.objects.filter(
        chart__client_id__in=people, practice_id=user.practice_id, signed_at=None, withdrawn_at=None
    ).select_related("chart__client", "sent_by")
    return [p for p in candidates if (found := packet_reach(user=user, packet=p)) and found[0] is PacketReach.FILLER]


def intake_for_export(chart: Any, reader: User, access: Access) -> list[dict[str, object]]:
    """The forms filed into the client's chart, as the copy of the record lists them (a section
    the door gives only to those who reach the chart's clinical content)."""
    out: list[dict[str, object]] = []
    items = PacketItem.objects.filter(packet__chart=chart, kind=ItemKind.FORM, filed_at__isnull=False).select_related(
        "form_version__form"
    )
    for item in items.order_by("filed_at"):
        answers = answers_of(item)
        out.append(
            {
                "form": item.form_version.form.title if item.form_version else "",
                "version": item.form_version.number if item.form_version else None,
                "filed_at": item.filed_at.isoformat() if item.filed_at else None,
                "answers": {f.label: schema.shown(f, answers[f.key]) for f in fields_of(item) if f.key in answers},
            }
        )
    return out


def read_intake_form(item: dict[str, Any], zone: Any, currency: str) -> Entry:
    answers = [(str(k), str(v)) for k, v in (item.get("answers") or {}).items()]
    return Entry(f"{item.get('form')}, filed {when(item.get('filed_at'), zone)}", facts=answers)
