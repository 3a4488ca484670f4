"""Everything that changes consent data."""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Practice, Role, User
from audit.models import Action
from audit.services import audit_record
from consent.defaults import DEFAULT_TEXTS, DEFAULT_TITLES
from consent.models import (
    ConsentDocument,
    ConsentKind,
    ConsentRequest,
    ConsentSignature,
    ConsentVersion,
    ConsentWithdrawal,
    ParticipantAgreement,
    VersionStatus,
)
from consent.selectors import (
    ConsentAccess,
    agreement_access_check,
    client_is_minor,
    consent_access,
    may_sign_for,
    normalize_name,
    signature_in_force,
)
from consent.signals import consent_withdrawn
from consent.tasks import consent_request_emails_enqueue
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError

MAX_BODY_CHARS = 100_000
MAX_AGREEMENT_CHARS = 5_000


def text_sha256(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _signed_from(context: AuditContext | None) -> dict[str, object]:
    """Where a signature or withdrawal was made, kept with it."""
    if context is None:
        return {"ip_address": None, "user_agent": ""}
    return {"ip_address": context.address, "user_agent": context.user_agent}


def _require_admin(actor: User, practice_id: int) -> None:
    if not actor.has_role(Role.ADMIN) or actor.practice_id != practice_id:
        raise ServiceError("Only an admin of this practice manages consent documents.", code="permission_denied")


@transaction.atomic
def consent_defaults_seed(*, practice: Practice) -> list[ConsentDocument]:
    """Give a practice one published document of each kind, from the plain-language defaults."""
    documents = []
    now = timezone.now()
    for kind in ConsentKind:
        document, created = ConsentDocument.objects.get_or_create(
            practice=practice, kind=kind, defaults={"title": DEFAULT_TITLES[kind]}
        )
        if created:
            body = DEFAULT_TEXTS[kind]
            ConsentVersion.objects.create(
                document=document,
                number=1,
                body=body,
                body_sha256=text_sha256(body),
                status=VersionStatus.PUBLISHED,
                requires_reconsent=True,
                valid_from_number=1,
                published_at=now,
            )
        documents.append(document)
    return documents


def consent_draft_create(*, actor: User, document: ConsentDocument, context: AuditContext | None) -> ConsentVersion:
    """Start a new draft from the current text. Only one draft per document at a time."""
    _require_admin(actor, document.practice_id)
    with transaction.atomic():
        locked = ConsentDocument.objects.select_for_update().get(pk=document.pk)
        existing = locked.versions.filter(status=VersionStatus.DRAFT).first()
        if existing is not None:
            return existing
        latest = locked.versions.order_by("-number").first()
        body = latest.body if latest else ""
        draft = ConsentVersion.objects.create(
            document=locked,
            number=(latest.number + 1) if latest else 1,
            body=body,
            body_sha256=text_sha256(body),
            created_by=actor,
        )
        audit_record(
            action=Action.CONSENT_DRAFT_SAVE, actor=actor, context=context, target=draft, details={"new": True}
        )
    return draft


def consent_draft_update(
    *, actor: User, version: ConsentVersion, body: str, context: AuditContext | None
) -> ConsentVersion:
    _require_admin(actor, version.document.practice_id)
    if not isinstance(body, str) or not body.strip():
        raise ServiceError("The text cannot be empty.", field="body")
    if len(body) > MAX_BODY_CHARS:
        raise ServiceError(f"The text is too long (at most {MAX_BODY_CHARS:,} characters).", field="body")
    if "\x00" in body:
        raise ServiceError("The text contains a character that cannot be stored.", field="body")
    with transaction.atomic():
        locked = ConsentVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != VersionStatus.DRAFT:
            raise ServiceError(
                "This version is published; its text can never change. Start a new draft instead.",
                code="published_immutable",
            )
        locked.body = body
        locked.body_sha256 = text_sha256(body)
        locked.edited_at = timezone.now()
        locked.save(update_fields=["body", "body_sha256", "edited_at"])
        audit_record(action=Action.CONSENT_DRAFT_SAVE, actor=actor, context=context, target=locked)
    return locked


def consent_publish(
    *, actor: User, version: ConsentVersion, requires_reconsent: bool, context: AuditContext | None
) -> ConsentVersion:
    """Freeze a draft as the current version. With re-consent, earlier signers are asked again."""
    _require_admin(actor, version.document.practice_id)
    with transaction.atomic():
        document = ConsentDocument.objects.select_for_update().get(pk=version.document_id)
        draft = ConsentVersion.objects.select_for_update().get(pk=version.pk)
        if draft.status != VersionStatus.DRAFT:
            raise ServiceError("Only a draft can be published.", code="not_draft")
        previous = document.versions.filter(status=VersionStatus.PUBLISHED).first()
        if previous is not None:
            previous.status = VersionStatus.SUPERSEDED
            previous.save(update_fields=["status"])
        draft.status = VersionStatus.PUBLISHED
        draft.requires_reconsent = requires_reconsent or previous is None
        draft.valid_from_number = (
            draft.number if draft.requires_reconsent or previous is None else previous.valid_from_number
        )
        draft.published_at = timezone.now()
        draft.published_by = actor
        draft.body_sha256 = text_sha256(draft.body)
        draft.save(
            update_fields=[
                "status",
                "requires_reconsent",
                "valid_from_number",
                "published_at",
                "published_by",
                "body_sha256",
            ]
        )
        audit_record(
            action=Action.CONSENT_PUBLISH,
            actor=actor,
            context=context,
            target=draft,
            details={"kind": document.kind, "number": draft.number, "requires_reconsent": draft.requires_reconsent},
        )
        if draft.requires_reconsent and previous is not None:
            clients = (
                User.objects.filter(consent_signatures__document=document, is_active=True).distinct().order_by("pk")
            )
            ConsentRequest.objects.bulk_create(
                [
                    ConsentRequest(
                        practice_id=document.practice_id,
                        client=c,
                        document=document,
                        requested_by=actor,
                        reason="new_version",
                    )
                    for c in clients
                ]
            )

            client_ids = [c.pk for c in clients]
            transaction.on_commit(
                lambda: consent_request_emails_enqueue(client_ids=client_ids, document_id=document.pk)
            )
    return draft


def consent_sign_together(
    *,
    signer: User,
    items: list[tuple[ConsentVersion, User]],
    typed_name: str,
    confirmed_read: bool,
    context: AuditContext | None,
) -> int:
    """Several documents read in one flow and signed with one typed name: each is a signature of
    its own (its own version, text hash and audit event), and either all are signed or none."""
    if not items:
        raise ServiceError("There is nothing to sign.")
    with transaction.atomic():
        made = 0
        for version, on_behalf_of in items:
            _signature, created = consent_sign(
                signer=signer, version=version, on_behalf_of=on_behalf_of, typed_name=typed_name,
                confirmed_read=confirmed_read, context=context,
            )  # fmt: skip
            made += int(created)
    return made


def consent_sign(
    *,
    signer: User,
    version: ConsentVersion,
    on_behalf_of: User,
    typed_name: str,
    confirmed_read: bool,
    context: AuditContext | None,
) -> tuple[ConsentSignature, bool]:
    """Sign one published version, for oneself or (a guardian) for a minor. Idempotent per version.

    Returns the signature and whether it is new. Raises ServiceError and stores nothing otherwise.
    """
    document = version.document
    if document.practice_id != signer.practice_id or on_behalf_of.practice_id != signer.practice_id:
        raise ServiceError("No such document.", code="not_found")
    if version.status == VersionStatus.DRAFT:
        raise ServiceError("This version is a draft and cannot be signed yet.", code="not_published")
    if version.status == VersionStatus.SUPERSEDED:
        raise ServiceError(
            "A newer version of this document replaces this one. Please read and sign the current version.",
            code="superseded",
        )
    if not may_sign_for(signer=signer, client=on_behalf_of, kind=document.kind):
        if document.kind == ConsentKind.TREATMENT and client_is_minor(on_behalf_of):
            raise NotAllowed(
                "For a minor, consent to treatment is given by a guardian, on the guardian consent form.",
                target_type=version._meta.label_lower,
                target_id=version.pk,
            )
        raise NotAllowed(
            "You cannot sign this document for that person.",
            target_type=version._meta.label_lower,
            target_id=version.pk,
        )
    if not confirmed_read:
        raise ServiceError("Tick the box to confirm you have read and understood the document.", field="confirm_read")
    if normalize_name(typed_name) != normalize_name(signer.full_name) or not normalize_name(typed_name):
        raise ServiceError(
            f"Type your full name exactly as it is on your account ({signer.full_name}).", field="typed_name"
        )
    with transaction.atomic():
        frozen = ConsentVersion.objects.select_for_update().get(pk=version.pk)
        if frozen.status != VersionStatus.PUBLISHED:
            raise ServiceError("This version can no longer be signed; please sign the current one.", code="superseded")
        existing = ConsentSignature.objects.filter(
            version=frozen, on_behalf_of=on_behalf_of, signer=signer, withdrawal__isnull=True
        ).first()
        if existing is not None:
            return existing, False
        signature = ConsentSignature.objects.create(
            practice_id=signer.practice_id,
            version=frozen,
            document_id=frozen.document_id,
            kind=document.kind,
            signer=signer,
            on_behalf_of=on_behalf_of,
            typed_name=" ".join(typed_name.split())[:150],
            version_number=frozen.number,
            version_sha256=frozen.body_sha256,
            **_signed_from(context),
        )
        audit_record(
            action=Action.CONSENT_SIGN,
            actor=signer,
            context=context,
            target=signature,
            subject_client_id=on_behalf_of.pk,
            details={"kind": document.kind, "number": frozen.number},
        )
    return signature, True


def consent_withdraw(
    *, actor: User, signature: ConsentSignature, reason: str, context: AuditContext | None
) -> ConsentWithdrawal:
    """Withdrawal is a new record; it takes effect at once and only going forward."""
    client = signature.on_behalf_of
    if actor.pk != client.pk and not may_sign_for(signer=actor, client=client, kind=signature.kind):
        raise NotAllowed(
            "Only the client, or their guardian, can withdraw this consent.",
            target_type=signature._meta.label_lower,
            target_id=signature.pk,
        )
    reason = (reason or "").strip()
    if len(reason) > 1000:
        raise ServiceError("Keep the reason under 1,000 characters.", field="reason")
    if "\x00" in reason:
        raise ServiceError("The reason contains a character that cannot be stored.", field="reason")
    already = ServiceError("This consent has already been withdrawn.", code="already_withdrawn")
    with transaction.atomic():
        # Signatures are append-only (the runtime role may not even lock one): two withdrawals at
        # once are told apart by the one-to-one constraint instead.
        locked = ConsentSignature.objects.get(pk=signature.pk)
        if ConsentWithdrawal.objects.filter(signature=locked).exists():
            raise already
        try:
            with transaction.atomic():
                withdrawal = ConsentWithdrawal.objects.create(
                    signature=locked, withdrawn_by=actor, reason=reason or None, **_signed_from(context)
                )
        except IntegrityError:
            raise already from None
        audit_record(
            action=Action.CONSENT_WITHDRAW,
            actor=actor,
            context=context,
            target=locked,
            subject_client_id=client.pk,
            details={"kind": locked.kind},
        )
        consent_withdrawn.send(sender=ConsentWithdrawal, client=client, kind=locked.kind)
    return withdrawal


def consent_request(*, actor: User, client: User, kind: str, context: AuditContext | None) -> ConsentRequest:
    """A therapist (or admin) asks a client, or a minor's guardians, to review and sign a document."""
    if consent_access(user=actor, client=client) not in (ConsentAccess.CARE_TEAM, ConsentAccess.STATUS):
        raise NotAllowed(
            "You cannot request signatures from this person.", target_type="accounts.user", target_id=client.pk
        )
    if not client.has_role(Role.CLIENT):
        raise NotAllowed("Signatures are requested from clients.", target_type="accounts.user", target_id=client.pk)
    document = ConsentDocument.objects.filter(practice_id=actor.practice_id, kind=kind).first()
    if document is None:
        raise ServiceError("This practice has no such document.", field="kind")
    with transaction.atomic():
        consent_request_row = ConsentRequest.objects.create(
            practice_id=actor.practice_id, client=client, document=document, requested_by=actor
        )
        audit_record(
            action=Action.CONSENT_REQUEST,
            actor=actor,
            context=context,
            target=document,
            subject_client_id=client.pk,
            details={"kind": kind, "already_in_force": signature_in_force(client=client, kind=kind) is not None},
        )

        transaction.on_commit(lambda: consent_request_emails_enqueue(client_ids=[client.pk], document_id=document.pk))
    return consent_request_row


def participant_agreement_record(
    *, actor: User, client: User, text: str, context: AuditContext | None
) -> ParticipantAgreement:
    agreement_access_check(user=actor, client=client)
    if not client.has_role(Role.CLIENT):
        raise NotAllowed(
            "You cannot record an agreement for this person.", target_type="accounts.user", target_id=client.pk
        )
    text = (text or "").strip()
    if not text:
        raise ServiceError("Describe the agreement.", field="text")
    if len(text) > MAX_AGREEMENT_CHARS or "\x00" in text:
        raise ServiceError(f"Keep the agreement under {MAX_AGREEMENT_CHARS:,} characters of plain text.", field="text")
    with transaction.atomic():
        agreement = ParticipantAgreement(practice_id=actor.practice_id, client=client, recorded_by=actor, text=text)
        agreement.save()
        audit_record(
            action=Action.CONSENT_AGREEMENT_RECORD,
            actor=actor,
            context=context,
            target=agreement,
            subject_client_id=client.pk,
        )
    return agreement
