"""Reads of consent state, including the gate that video sessions use."""

from __future__ import annotations

import enum
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from accounts import selectors as accounts_selectors
from accounts.models import Practice, Role, User
from accounts.selectors import clients_of_care_team, guardian_acts_for, on_care_team_of, people_acted_for
from consent.models import (
    ConsentDocument,
    ConsentKind,
    ConsentSignature,
    ConsentVersion,
    ConsentWithdrawal,
    VersionStatus,
)
from teletherapy import hooks
from teletherapy.errors import NotVisible
from teletherapy.hooks import upcoming_sessions


def normalize_name(name: str) -> str:
    """Case and spacing do not matter when a signer types their name."""
    return " ".join(unicodedata.normalize("NFKC", name or "").casefold().split())


def client_is_minor(client: User) -> bool:
    """The chart says so; a guardian link alone never makes a client a minor."""
    return accounts_selectors.client_is_minor(client=client)


def guardian_of(guardian: User, client: User) -> bool:
    return guardian_acts_for(guardian=guardian, client=client)


def current_version(*, practice_id: int, kind: str) -> ConsentVersion | None:
    return current_versions(practice_id=practice_id, kinds=[kind])[kind]


def documents_of(*, practice: Practice) -> QuerySet[ConsentDocument]:
    return ConsentDocument.objects.filter(practice=practice).prefetch_related("versions")


def joint_work_for(*, client: User) -> bool:
    """Whether the client is seen with others (a couples or family session, past or to come), or
    has a couples agreement signed: then the agreement is theirs to keep in force."""
    if any(source(client=client) for source in hooks.joint_work):
        return True
    return ConsentSignature.objects.filter(
        on_behalf_of=client, kind=ConsentKind.COUPLES_AGREEMENT, withdrawal__isnull=True
    ).exists()


def required_kinds(*, client: User, joint: bool) -> list[str]:
    """What a client must have in force to join: dual consent, plus the agreement for joint sessions.

    For a minor, the guardian's consent takes the place of the consent to treatment.
    """
    kinds = [ConsentKind.GUARDIAN if client_is_minor(client) else ConsentKind.TREATMENT, ConsentKind.TELEHEALTH]
    if joint:
        kinds.append(ConsentKind.COUPLES_AGREEMENT)
    return [str(k) for k in kinds]


def current_versions(*, practice_id: int, kinds: Iterable[str]) -> dict[str, ConsentVersion | None]:
    """The published version of each kind, in one query (the first in the model's order)."""
    found: dict[str, ConsentVersion | None] = dict.fromkeys(kinds)
    versions = ConsentVersion.objects.select_related("document").filter(
        document__practice_id=practice_id, document__kind__in=list(found), status=VersionStatus.PUBLISHED
    )
    for version in versions:  # in the model's order, so the first of each kind is what .first() gives
        if found[version.document.kind] is None:
            found[version.document.kind] = version
    return found


def consents_in_force(
    *, client: User, kinds: Iterable[str]
) -> tuple[dict[str, ConsentVersion | None], dict[str, ConsentSignature | None]]:
    """The current version of each of ``kinds``, and the client's signature that satisfies it, if
    any: two queries whatever the number of kinds (the video gate asks this on every re-check)."""
    versions = current_versions(practice_id=client.practice_id, kinds=kinds)
    signatures: dict[str, ConsentSignature | None] = dict.fromkeys(versions)
    wanted = Q()
    kind_of: dict[int, str] = {}
    for kind, version in versions.items():
        if version is None:
            continue
        branch = Q(document_id=version.document_id, version_number__gte=version.valid_from_number or version.number)
        if kind == ConsentKind.GUARDIAN:
            # Only a current guardian's signature, and only while the client is a minor.
            if not client_is_minor(client):
                continue
            branch &= Q(signer__wards__client=client)
        kind_of[version.document_id] = kind
        wanted |= branch
    if not kind_of:
        return versions, signatures
    rows = (
        ConsentSignature.objects.filter(on_behalf_of=client, withdrawal__isnull=True)
        .filter(wanted)
        .select_related("signer")
        .order_by("-signed_at")
    )
    for signature in rows:  # newest first: the first of each kind is the one in force
        kind = kind_of[signature.document_id]
        if signatures[kind] is None:
            signatures[kind] = signature
    return versions, signatures


def signature_in_force(*, client: User, kind: str) -> ConsentSignature | None:
    """The client's signature that satisfies the current version of ``kind``, if any."""
    return consents_in_force(client=client, kinds=[kind])[1][kind]


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
        versions, signatures = consents_in_force(client=client, kinds=required_kinds(client=client, joint=joint))
        for kind, signature in signatures.items():
            if signature is None:
                version = versions[kind]
                can_sign = version is not None and may_sign_for(signer=participant, client=client, kind=kind)
                result.missing.append(MissingConsent(client=client, kind=kind, version=version, can_sign=can_sign))
    return result


def consent_missing_for(appointment: Any, participant: User) -> GateResult:
    """What stops ``participant`` joining ``appointment`` (anything with ``participants`` and
    ``is_joint``): every client's missing consents. One unsigned partner blocks a couples session
    for everyone.
    """
    clients = [p.client for p in appointment.participants.select_related("client")]
    return consent_missing_for_clients(clients=clients, joint=appointment.is_joint, participant=participant)


def people_signed_for_by(user: User) -> list[User]:
    """Whose consents this user manages: themself if a client, and the minors they are guardian of."""
    return people_acted_for(user=user)


class ConsentAccess(enum.Enum):
    """How a person reaches a client's consent data; the chart's rule."""

    OWN = "own"  # the client
    GUARDIAN = "guardian"  # a guardian of this minor
    CARE_TEAM = "care_team"  # a therapist on the client's care team
    STATUS = "status"  # a practice admin: what is in force, never typed names or per-person text


FULL = frozenset({ConsentAccess.OWN, ConsentAccess.GUARDIAN, ConsentAccess.CARE_TEAM})

# Who reaches what of a client's consent data, by the relation consent_access gives. The doors
# below read these sets, and the README's access table is generated from them (home.access_table).
CONSENT_RULES: dict[str, frozenset[ConsentAccess]] = {
    "signatures": FULL,  # the typed name and the exact signed text
    "status": FULL | {ConsentAccess.STATUS},  # what is in force, and since when
    "agreements": frozenset({ConsentAccess.OWN, ConsentAccess.CARE_TEAM}),  # per person, in couples work
}


def consent_access(*, user: User, client: User) -> ConsentAccess:
    """The one door to a client's consent data. Raises NotVisible for everyone else."""
    if client.practice_id == user.practice_id and user.is_active:
        if user.pk == client.pk:
            return ConsentAccess.OWN
        if guardian_acts_for(guardian=user, client=client):
            return ConsentAccess.GUARDIAN
        if user.has_role(Role.ADMIN):
            # Checked before the care team: an admin who is also a therapist still sees status only.
            return ConsentAccess.STATUS
        if on_care_team_of(therapist=user, client=client):
            return ConsentAccess.CARE_TEAM
    raise NotVisible("accounts.user", client.pk)


def agreement_access_check(*, user: User, client: User) -> ConsentAccess:
    """Per-person agreements are the care team's and the client's; never an admin's or a guardian's."""
    access = consent_access(user=user, client=client)
    if access not in CONSENT_RULES["agreements"]:
        raise NotVisible("accounts.user", client.pk)
    return access


def consent_clients_of(*, user: User) -> QuerySet[User]:
    """Whose consent data this user reaches at all (an admin: the practice's clients, as status)."""
    if user.has_role(Role.ADMIN):
        own = [p.pk for p in people_acted_for(user=user)]
        return User.objects.filter(practice_id=user.practice_id, role_grants__role=Role.CLIENT) | User.objects.filter(
            pk__in=own
        )
    ids = [p.pk for p in people_acted_for(user=user)]
    return clients_of_care_team(therapist=user) | User.objects.filter(pk__in=ids)


def signatures_visible_to(*, user: User) -> QuerySet[ConsentSignature]:
    """Signatures for the clients this user reaches through consent_access."""
    base = ConsentSignature.objects.filter(practice_id=user.practice_id).select_related(
        "version", "document", "signer", "on_behalf_of"
    )
    return base.filter(on_behalf_of__in=consent_clients_of(user=user).values("pk"))


def signature_get_for_user(
    *, user: User, signature_id: uuid.UUID | str, full: bool = True
) -> tuple[ConsentSignature, ConsentAccess]:
    """One signature and how it is reached. ``full`` (the typed name and the signed text) is refused
    to status-only access. Raises NotVisible."""
    try:
        signature = (
            ConsentSignature.objects.select_related("version", "document", "signer", "on_behalf_of")
            .filter(pk=signature_id, practice_id=user.practice_id)
            .first()
        )
    except (ValueError, TypeError, ValidationError):
        signature = None
    if signature is None:
        raise NotVisible("consent.consentsignature", signature_id)
    try:
        access = consent_access(user=user, client=signature.on_behalf_of)
    except NotVisible:
        raise NotVisible("consent.consentsignature", signature_id) from None
    if full and access not in CONSENT_RULES["signatures"]:
        raise NotVisible("consent.consentsignature", signature_id)
    return signature, access


def consent_todo_for(*, user: User) -> list[tuple[object, list[MissingConsent]]]:
    """For each upcoming appointment, what this user can sign so it may go ahead."""
    todo: list[tuple[object, list[MissingConsent]]] = []
    for source in upcoming_sessions:
        for appointment in source(user=user):
            mine = [m for m in consent_missing_for(appointment, user).missing if m.can_sign]
            if mine:
                todo.append((appointment, mine))
    return todo


def signing_needed(*, user: User) -> list[tuple[User, list[ConsentVersion]]]:
    """What this user can sign now that is needed (for themself, and for each minor they are a
    guardian of): the consents each person's sessions need that are not in force, in the order
    ``required_kinds`` gives. Optional documents (the privacy notice, a couples agreement for
    someone seen alone) are not among them."""
    needed: list[tuple[User, list[ConsentVersion]]] = []
    for person in people_signed_for_by(user):
        kinds = required_kinds(client=person, joint=joint_work_for(client=person))
        versions, signatures = consents_in_force(client=person, kinds=kinds)
        mine = [
            version
            for kind in kinds
            if signatures[kind] is None
            and (version := versions[kind]) is not None
            and may_sign_for(signer=user, client=person, kind=kind)
        ]
        if mine:
            needed.append((person, mine))
    return needed


def consent_withdrawn(*, client: User, kind: str) -> bool:
    """Whether the client's last signature of ``kind`` was withdrawn (rather than never given)."""
    last = ConsentSignature.objects.filter(on_behalf_of=client, kind=kind).order_by("-signed_at").first()
    return last is not None and ConsentWithdrawal.objects.filter(signature=last).exists()


# The login session's note of the session whose Join sent someone to sign (sessions.views.pages), so
# that signing leads back to it (consent.views.after_signing).
AFTER_CONSENT = "consent.after_signing"


def next_session_start(*, client: User) -> Any:
    """When the client's next session begins (from the registered sources), or None."""
    starts = [a.starts_at for source in upcoming_sessions for a in list(source(user=client))[:5]]
    return min(starts) if starts else None
