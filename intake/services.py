"""Everything that changes an intake form or packet, each change audited in its transaction.
E-mails say only that there is something to do, with a link."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Practice, Role, User
from accounts.selectors import guardians_of
from audit.models import Action
from audit.services import audit_record
from consent.models import ConsentDocument, VersionStatus
from consent.selectors import client_is_minor, current_version, may_sign_for, normalize_name
from consent.services import consent_sign
from intake import schema
from intake.defaults import READY_MADE
from intake.models import FormPurpose, IntakeForm, IntakeFormVersion, IntakePacket, ItemKind, PacketItem
from intake.selectors import (
    PacketReach,
    consent_signed_before,
    fields_of,
    item_done,
    item_title,
    items_of,
    published_version,
)
from records import scoring
from records.models import ClientChart
from records.selectors import Access
from records.services import assessment_assign, chart_update
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError

REMIND_AFTER = timedelta(days=2)
REMIND_EVERY = timedelta(days=3)
MAX_REMINDERS = 3


def _link(path: str) -> str:
    return f"{str(settings.SITE_URL).rstrip('/')}{path}"


# Forms ---------------------------------------------------------------------------------------


def _require_admin(actor: User, practice_id: int) -> None:
    if not actor.has_role(Role.ADMIN) or actor.practice_id != practice_id:
        raise ServiceError("Only an admin of this practice builds intake forms.", code="permission_denied")


def forms_ready(*, practice: Practice) -> None:
    """The ready-made forms, published as version 1, for a practice that lacks them."""
    have = set(IntakeForm.objects.filter(practice=practice).values_list("purpose", flat=True))
    for purpose, title, specs in READY_MADE:
        if purpose in have:
            continue
        with transaction.atomic():
            form = IntakeForm.objects.create(practice=practice, title=title, purpose=purpose)
            fields: list[schema.Field] = []
            for spec in specs:
                fields.append(schema.field_from(spec, taken={f.key for f in fields}))
            IntakeFormVersion.objects.create(
                form=form,
                number=1,
                fields=schema.dump(fields),
                status=VersionStatus.PUBLISHED,
                published_at=timezone.now(),
            )


def form_create(*, actor: User, title: object, context: AuditContext | None) -> IntakeFormVersion:
    _require_admin(actor, actor.practice_id)
    name = schema._text(title, name="title", limit=schema.MAX_LABEL, required=True)
    with transaction.atomic():
        form = IntakeForm.objects.create(practice_id=actor.practice_id, title=name, purpose=FormPurpose.CUSTOM)
        draft = IntakeFormVersion.objects.create(form=form, number=1, created_by=actor)
        audit_record(action=Action.INTAKE_FORM_CHANGE, actor=actor, context=context, target=draft,
                     details={"change": "created"})  # fmt: skip
    return draft


def form_draft_new(*, actor: User, form: IntakeForm, context: AuditContext | None) -> IntakeFormVersion:
    """The form's draft: the one open, or a new one that starts from the published fields."""
    _require_admin(actor, form.practice_id)
    with transaction.atomic():
        IntakeForm.objects.select_for_update().get(pk=form.pk)
        draft = form.versions.filter(status=VersionStatus.DRAFT).first()
        if draft is not None:
            return draft
        base = published_version(form)
        number = (form.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        draft = IntakeFormVersion.objects.create(
            form=form, number=number, fields=base.fields if base else "[]", created_by=actor
        )
        audit_record(action=Action.INTAKE_FORM_CHANGE, actor=actor, context=context, target=draft,
                     details={"change": "drafted"})  # fmt: skip
    return draft


def _edit(actor: User, version: IntakeFormVersion, context: AuditContext | None, change: str,
          edit: Any) -> IntakeFormVersion:  # fmt: skip
    _require_admin(actor, version.form.practice_id)
    with transaction.atomic():
        locked = IntakeFormVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != VersionStatus.DRAFT:
            raise ServiceError("A published form never changes; start a new draft.", code="published_immutable")
        fields = schema.fields_of(locked.fields)
        fields = edit(fields)
        locked.fields = schema.dump(fields)
        locked.save(update_fields=["fields"])
        audit_record(action=Action.INTAKE_FORM_CHANGE, actor=actor, context=context, target=locked,
                     details={"change": change})  # fmt: skip
    return locked


def form_field_add(
    *, actor: User, version: IntakeFormVersion, data: dict[str, Any], context: AuditContext | None
) -> IntakeFormVersion:
    def add(fields: list[schema.Field]) -> list[schema.Field]:
        if len(fields) >= schema.MAX_FIELDS:
            raise ServiceError(f"A form holds at most {schema.MAX_FIELDS} fields.", field="label")
        return [*fields, schema.field_from(data, taken={f.key for f in fields})]

    return _edit(actor, version, context, "field_added", add)


def form_field_remove(
    *, actor: User, version: IntakeFormVersion, key: object, context: AuditContext | None
) -> IntakeFormVersion:
    def remove(fields: list[schema.Field]) -> list[schema.Field]:
        kept = [f for f in fields if f.key != key]
        if len(kept) == len(fields):
            raise ServiceError("That field is not on this form.", field="key")
        return kept

    return _edit(actor, version, context, "field_removed", remove)


def form_field_move(
    *, actor: User, version: IntakeFormVersion, key: object, up: bool, context: AuditContext | None
) -> IntakeFormVersion:
    def move(fields: list[schema.Field]) -> list[schema.Field]:
        at = next((i for i, f in enumerate(fields) if f.key == key), None)
        if at is None:
            raise ServiceError("That field is not on this form.", field="key")
        to = at - 1 if up else at + 1
        if 0 <= to < len(fields):
            fields[at], fields[to] = fields[to], fields[at]
        return fields

    return _edit(actor, version, context, "field_moved", move)


def form_publish(*, actor: User, version: IntakeFormVersion, context: AuditContext | None) -> IntakeFormVersion:
    _require_admin(actor, version.form.practice_id)
    with transaction.atomic():
        locked = IntakeFormVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != VersionStatus.DRAFT:
            raise ServiceError("This version is already published.", code="not_draft")
        if not schema.fields_of(locked.fields):
            raise ServiceError("Add at least one field before publishing.", field="fields")
        IntakeFormVersion.objects.filter(form_id=locked.form_id, status=VersionStatus.PUBLISHED).update(
            status=VersionStatus.SUPERSEDED
        )
        locked.status = VersionStatus.PUBLISHED
        locked.published_at = timezone.now()
        locked.save(update_fields=["status", "published_at"])
        audit_record(action=Action.INTAKE_FORM_PUBLISH, actor=actor, context=context, target=locked,
                     details={"number": locked.number})  # fmt: skip
    return locked


# Packets -------------------------------------------------------------------------------------


def fillers_of(chart: ClientChart) -> list[User]:
    """Who fills in a packet: the client, or for a minor the guardians."""
    client = chart.client
    if chart.is_minor:
        return list(guardians_of(client=client).filter(is_active=True))
    return [client] if client.is_active else []


def _tell(people: list[User], subject: str, text: str, path: str) -> None:
    for person in people:
        send_mail(subject, f"{text}\n\n{_link(path)}\n", None, [person.email])


def packet_send(
    *,
    actor: User,
    chart: ClientChart,
    access: Access,
    form_ids: list[str],
    consent_kinds: list[str],
    questionnaires: list[str],
    context: AuditContext | None,
) -> IntakePacket:
    """Send the client a packet of the practice's current forms, consent documents and questionnaires."""
    if access is not Access.CARE_TEAM or actor.has_role(Role.ADMIN):
        raise NotAllowed(
            "Only the client's care team sends an intake packet.",
            target_type=chart._meta.label_lower,
            target_id=chart.pk,
        )
    forms = list(IntakeForm.objects.filter(practice_id=chart.practice_id, pk__in=[f for f in form_ids if f]))
    if len(forms) != len(set(form_ids)):
        raise ServiceError("Choose forms of this practice.", field="forms")
    versions = [(form, published_version(form)) for form in forms]
    if any(v is None for _f, v in versions):
        raise ServiceError("A chosen form has no published version yet.", field="forms")
    documents = []
    for kind in dict.fromkeys(consent_kinds):
        document = ConsentDocument.objects.filter(practice_id=chart.practice_id, kind=kind).first()
        if document is None or current_version(practice_id=chart.practice_id, kind=kind) is None:
            raise ServiceError("Choose consent documents the practice has published.", field="consents")
        documents.append(document)
    kinds = list(dict.fromkeys(questionnaires))
    if any(k not in scoring.ITEMS for k in kinds):
        raise ServiceError("Choose PHQ-9 or GAD-7.", field="questionnaires")
    if not (versions or documents or kinds):
        raise ServiceError("Choose at least one form, consent document or questionnaire.", field="forms")
    with transaction.atomic():
        packet = IntakePacket.objects.create(practice_id=chart.practice_id, chart=chart, sent_by=actor)
        position = 0
        for _form, version in sorted(versions, key=lambda fv: _ORDER.get(fv[0].purpose, 9)):
            position += 1
            PacketItem.objects.create(packet=packet, position=position, kind=ItemKind.FORM, form_version=version)
        for kind in kinds:
            position += 1
            assessment = assessment_assign(actor=actor, chart=chart, access=access, kind=kind, context=context)
            PacketItem.objects.create(packet=packet, position=position, kind=ItemKind.QUESTIONNAIRE,
                                      assessment=assessment)  # fmt: skip
        for document in documents:
            position += 1
            PacketItem.objects.create(packet=packet, position=position, kind=ItemKind.CONSENT,
                                      consent_document=document)  # fmt: skip
        audit_record(action=Action.INTAKE_SEND, actor=actor, context=context, target=packet,
                     subject_client_id=chart.client_id, details={"items": position})  # fmt: skip
        people = fillers_of(chart)
        transaction.on_commit(
            lambda: _tell(
                people,
                "You have forms to complete",
                "Your therapist has sent forms to complete before your first session. Sign in to fill them in:",
                f"/intake/{packet.pk}/",
            )
        )
    return packet


_ORDER: dict[str, int] = {
    FormPurpose.DEMOGRAPHICS: 0,
    FormPurpose.EMERGENCY_CONTACT: 1,
    FormPurpose.INSURANCE: 2,
    FormPurpose.HISTORY: 3,
}


def _open(packet: IntakePacket) -> None:
    if packet.withdrawn_at is not None:
        raise ServiceError("Your therapist withdrew this packet; there is nothing more to fill in.", code="conflict")
    if packet.signed_at is not None:
        raise ServiceError("This packet is signed and filed; it can no longer change.", code="signed")


def item_save(
    *, actor: User, item: PacketItem, reach: PacketReach, data: Any, finish: bool, context: AuditContext | None
) -> PacketItem:
    """Keep a form's answers (a draft, or finished: every required answer given), or a consent
    document's having been read. Nothing is filed until the packet is signed."""
    if reach is not PacketReach.FILLER:
        raise NotAllowed(
            "Only the person it was sent to fills in a packet.", target_type=item._meta.label_lower, target_id=item.pk
        )
    with transaction.atomic():
        locked = (
            PacketItem.objects.select_for_update(of=("self",)).select_related("packet", "form_version").get(pk=item.pk)
        )
        _open(locked.packet)
        if locked.kind == ItemKind.FORM:
            checked = schema.check_answers(fields_of(locked), data, complete=finish)
            locked.answers = json.dumps(checked.answers)
            locked.completed_at = timezone.now() if finish else None
        elif locked.kind == ItemKind.CONSENT:
            if data.get("confirm_read") not in ("on", "1", "yes", True):
                raise ServiceError("Tick the box to confirm you have read and understood it.", field="confirm_read")
            locked.read_confirmed = True
            locked.completed_at = timezone.now()
        else:
            raise NotAllowed(
                "A questionnaire is answered on its own page.", target_type=item._meta.label_lower, target_id=item.pk
            )
        locked.saved_at = timezone.now()
        locked.save(update_fields=["answers", "read_confirmed", "completed_at", "saved_at"])
        audit_record(action=Action.INTAKE_SAVE, actor=actor, context=context, target=locked,
                     subject_client_id=locked.packet.chart.client_id,
                     details={"position": locked.position, "finished": finish})  # fmt: skip
    return locked


def packet_sign(
    *, actor: User, packet: IntakePacket, reach: PacketReach, typed_name: object, context: AuditContext | None
) -> IntakePacket:
    """Sign at the end: every form finished and every consent document read; the consents are
    signed with the consent service, and the answers filed into the chart."""
    if reach is not PacketReach.FILLER:
        raise NotAllowed(
            "Only the person it was sent to signs a packet.", target_type=packet._meta.label_lower, target_id=packet.pk
        )
    client = packet.chart.client
    with transaction.atomic():
        locked = IntakePacket.objects.select_for_update().get(pk=packet.pk)
        _open(locked)
        items = items_of(locked)
        undone = [
            item_title(i)
            for i in items
            if not item_done(i) and (i.kind != ItemKind.QUESTIONNAIRE or actor.pk == client.pk)
        ]
        if undone:
            raise ServiceError(f"Finish these first: {', '.join(undone)}.", code="not_ready", field="typed_name")
        in_force = {i.pk for i in items if consent_signed_before(i) is not None}
        for i in items:
            if (
                i.consent_document is not None
                and i.pk not in in_force
                and not may_sign_for(signer=actor, client=client, kind=i.consent_document.kind)
            ):
                who = "a guardian" if client_is_minor(client) else "the client"
                raise NotAllowed(
                    f"“{i.consent_document.title}” is signed by {who}.",
                    target_type=packet._meta.label_lower,
                    target_id=packet.pk,
                )
        name = typed_name if isinstance(typed_name, str) else ""
        if not normalize_name(name) or normalize_name(name) != normalize_name(actor.full_name):
            raise ServiceError(
                f"Type your full name exactly as it is on your account ({actor.full_name}).", field="typed_name"
            )
        now = timezone.now()
        for i in items:
            if i.consent_document is not None and i.pk not in in_force:
                version = current_version(practice_id=locked.practice_id, kind=i.consent_document.kind)
                if version is None:
                    raise ServiceError("A consent document in this packet has no published version.", code="conflict")
                consent_sign(signer=actor, version=version, on_behalf_of=client, typed_name=name,
                             confirmed_read=True, context=context)  # fmt: skip
            if i.kind in (ItemKind.FORM, ItemKind.CONSENT):
                i.filed_at = now
                i.save(update_fields=["filed_at"])
        locked.signed_at, locked.signed_by, locked.typed_name = now, actor, " ".join(name.split())[:150]
        locked.save(update_fields=["signed_at", "signed_by", "typed_name"])
        audit_record(action=Action.INTAKE_SIGN, actor=actor, context=context, target=locked,
                     subject_client_id=client.pk, details={"items": len(items)})  # fmt: skip
        team = [u for u in locked.chart.care_team.filter(is_active=True)]
        transaction.on_commit(
            lambda: _tell(
                team,
                "An intake packet is complete",
                "A client has completed an intake packet. Sign in to review it:",
                f"/records/charts/{locked.chart_id}/#intake-h",
            )
        )
    return locked


def item_confirm_details(
    *, actor: User, item: PacketItem, access: Access, context: AuditContext | None
) -> dict[str, str]:
    """The care team confirms a filed form's answers into the chart's details (phone, address…)."""
    if access is not Access.CARE_TEAM:
        raise NotAllowed("Only the care team changes a chart.", target_type=item._meta.label_lower, target_id=item.pk)
    if item.kind != ItemKind.FORM or item.filed_at is None:
        raise ServiceError("Only a filed form's answers go into the chart.", code="conflict")
    details = schema.chart_details(fields_of(item), json.loads(item.answers or "{}"))
    if not details:
        raise ServiceError("This form has no answers that go into the chart's details.", code="not_needed")
    with transaction.atomic():
        locked = PacketItem.objects.select_for_update().get(pk=item.pk)
        chart_update(actor=actor, chart=item.packet.chart, access=access, data=dict(details), context=context)
        locked.details_confirmed_at, locked.details_confirmed_by = timezone.now(), actor
        locked.save(update_fields=["details_confirmed_at", "details_confirmed_by"])
        audit_record(action=Action.INTAKE_CONFIRM, actor=actor, context=context, target=locked,
                     subject_client_id=item.packet.chart.client_id,
                     details={"fields": ",".join(sorted(details))})  # fmt: skip
    return details


def packet_withdraw(
    *, actor: User, packet: IntakePacket, reach: PacketReach, context: AuditContext | None
) -> IntakePacket:
    if reach is not PacketReach.TEAM:
        raise NotAllowed(
            "Only the care team withdraws a packet.", target_type=packet._meta.label_lower, target_id=packet.pk
        )
    with transaction.atomic():
        locked = IntakePacket.objects.select_for_update().get(pk=packet.pk)
        _open(locked)
        locked.withdrawn_at = timezone.now()
        locked.save(update_fields=["withdrawn_at"])
        audit_record(action=Action.INTAKE_WITHDRAW, actor=actor, context=context, target=locked,
                     subject_client_id=locked.chart.client_id)  # fmt: skip
    return locked


def _reminder(people: list[User], path: str) -> Any:
    def send() -> None:
        _tell(people, "A reminder: forms to complete",
              "You have forms to complete before your session. Sign in to finish them:", path)  # fmt: skip

    return send


def reminders_send(*, now: Any = None) -> int:
    """Remind the people a packet waits on, with nothing of its content: first two days after it
    was sent, then every three days, at most three times. Returns how many packets were reminded."""
    now = now or timezone.now()
    due = IntakePacket.objects.filter(
        signed_at=None, withdrawn_at=None, sent_at__lte=now - REMIND_AFTER, reminders__lt=MAX_REMINDERS
    ).select_related("chart__client")
    count = 0
    for packet in due:
        if packet.reminded_at and packet.reminded_at > now - REMIND_EVERY:
            continue
        with transaction.atomic():
            locked = IntakePacket.objects.select_for_update().get(pk=packet.pk)
            locked.reminded_at, locked.reminders = now, locked.reminders + 1
            locked.save(update_fields=["reminded_at", "reminders"])
            audit_record(action=Action.INTAKE_REMIND, actor=None, target=locked, practice_id=locked.practice_id,
                         subject_client_id=locked.chart.client_id, details={"reminder": locked.reminders})  # fmt: skip
            transaction.on_commit(_reminder(fillers_of(locked.chart), f"/intake/{locked.pk}/"))
        count += 1
    return count
