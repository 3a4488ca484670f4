"""Reads of consent state, including the gate that video sessions use."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass, field

from django.db.models import QuerySet

from accounts.models import GuardianLink, Practice, Role, User
from consent.models import ConsentDocument, ConsentKind, ConsentSignature, ConsentVersion, VersionStatus


def normalize_name(name: str) -> str:
    """Case and spacing do not matter when a signer types their name."""
    return " ".join(unicodedata.normalize("NFKC", name or "").casefold().split())


def client_is_minor(client: User) -> bool:
    from records.models import ClientChart

    # The chart says so; a linked guardian also means a minor (guardians are only for minors).
    if ClientChart.objects.filter(client=client, is_minor=True).exists():
        return True
    return GuardianLink.objects.filter(client=client).exists()


def guardian_of(guardian: User, client: User) -> bool:
    return GuardianLink.objects.filter(guardian=guardian, client=client).exists()


def current_version(*, practice_id: int, kind: str) -> ConsentVersion | None:
    return (
        ConsentVersion.objects.select_related("document")
        .filter(document__practice_id=practice_id, document__kind=kind, status=VersionStatus.PUBLISHED)
        .first()
    )


def documents_of(*, practice: Practice) -> QuerySet[ConsentDocument]:
    return ConsentDocument.objects.filter(practice=practice).prefetch_related("versions")


def required_kinds(*, client: User, joint: bool) -> list[str]:
    """What a client must have in force to join: dual consent, plus the agreement for joint sessions.

    For a minor, the guardian's consent takes the place of the consent to treatment.
    """
    kinds = [ConsentKind.GUARDIAN if client_is_minor(client) else ConsentKind.TREATMENT, ConsentKind.TELEHEALTH]
    if joint:
        kinds.append(ConsentKind.COUPLES_AGREEMENT)
    return [str(k) for k in kinds]


def signature_in_force(*, client: User, kind: str) -> ConsentSignature | None:
    """The client's signature that satisfies the current version of ``kind``, if any."""
    version = current_version(practice_id=client.practice_id, kind=kind)
    if version is None:
        return None
    signatures = ConsentSignature.objects.filter(
        on_behalf_of=client,
        document=version.document,
        version_number__gte=version.valid_from_number or version.number,
        withdrawal__isnull=True,
    ).select_related("signer")
    if kind == ConsentKind.GUARDIAN:
        signatures = signatures.filter(signer__wards__client=client)
    return signatures.order_by("-signed_at").first()


@dataclass
class MissingConsent:
    client: User
    kind: str
    version: ConsentVersion | None
    can_sign: bool

    @property
    def label(self) -> str:
        return ConsentKind(self.kind).label


@dataclass
class GateResult:
    missing: list[MissingConsent] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.missing


def may_sign_for(*, signer: User, client: User, kind: str) -> bool:
    if kind == ConsentKind.GUARDIAN:
        return guardian_of(signer, client)
    if signer.pk == client.pk:
        return not (kind == ConsentKind.TREATMENT and client_is_minor(client))
    return guardian_of(signer, client) and kind != ConsentKind.COUPLES_AGREEMENT


def consent_missing_for_clients(*, clients: list[User], joint: bool, participant: User) -> GateResult:
    result = GateResult()
    for client in clients:
        for kind in required_kinds(client=client, joint=joint):
            if signature_in_force(client=client, kind=kind) is None:
                version = current_version(practice_id=client.practice_id, kind=kind)
                can_sign = version is not None and may_sign_for(signer=participant, client=client, kind=kind)
                result.missing.append(MissingConsent(client=client, kind=kind, version=version, can_sign=can_sign))
    return result


def consent_missing_for(appointment: object, participant: User) -> GateResult:
    """What stops ``participant`` joining ``appointment``: every client's missing consents.

    One unsigned partner blocks a couples session for everyone.
    """
    from sessions.models import Appointment

    assert isinstance(appointment, Appointment)
    clients = [p.client for p in appointment.participants.select_related("client")]
    return consent_missing_for_clients(clients=clients, joint=appointment.is_joint, participant=participant)


def people_signed_for_by(user: User) -> list[User]:
    """Whose consents this user manages: themself if a client, and the minors they are guardian of."""
    people = [user] if user.has_role(Role.CLIENT) else []
    people += list(User.objects.filter(guardians__guardian=user).order_by("full_name"))
    return people


def signatures_visible_to(*, user: User) -> QuerySet[ConsentSignature]:
    """Signer and client see their own; therapists and admins see their practice's."""
    base = ConsentSignature.objects.filter(practice_id=user.practice_id).select_related(
        "version", "document", "signer", "on_behalf_of"
    )
    if user.has_role(Role.THERAPIST, Role.ADMIN):
        return base
    people = people_signed_for_by(user)
    return base.filter(on_behalf_of__in=people) | base.filter(signer=user)


def signature_get_for_user(*, user: User, signature_id: uuid.UUID | str) -> ConsentSignature | None:
    from django.core.exceptions import ValidationError

    try:
        return signatures_visible_to(user=user).filter(pk=signature_id).first()
    except (ValueError, TypeError, ValidationError):
        return None


def consent_todo_for(*, user: User) -> list[tuple[object, list[MissingConsent]]]:
    """For each upcoming appointment, what this user can sign so it may go ahead."""
    from sessions.selectors import appointments_upcoming_for

    todo: list[tuple[object, list[MissingConsent]]] = []
    for appointment in appointments_upcoming_for(user=user):
        mine = [m for m in consent_missing_for(appointment, user).missing if m.can_sign]
        if mine:
            todo.append((appointment, mine))
    return todo
