"""Reads of another person's consent data, shared by the pages and the API.

Each read goes through ``consent_access`` (which raises ``NotVisible``) and writes the one audit
event it implies before anything is shown.
"""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.models import Role, User
from accounts.selectors import people_acted_for
from audit.models import Action
from audit.services import audit_record
from consent.models import ConsentKind, ConsentSignature, ParticipantAgreement
from consent.selectors import (
    ConsentAccess,
    agreement_access_check,
    consent_access,
    consent_clients_of,
    consent_withdrawn,
    joint_work_for,
    required_kinds,
    signature_get_for_user,
    signature_in_force,
    signatures_visible_to,
)
from teletherapy.context import AuditContext
from teletherapy.errors import NotVisible

STATUS_KINDS = [ConsentKind.TREATMENT, ConsentKind.GUARDIAN, ConsentKind.TELEHEALTH, ConsentKind.COUPLES_AGREEMENT]


def client_in_practice(*, user: User, client_id: object) -> User:
    """A client of the user's practice, or NotVisible; what the user may do with them is asked next."""
    client = None
    if isinstance(client_id, int) or (isinstance(client_id, str) and client_id.isdigit()):
        client = User.objects.filter(
            pk=int(client_id), practice_id=user.practice_id, role_grants__role=Role.CLIENT
        ).first()
    if client is None:
        raise NotVisible("accounts.user", client_id)
    return client


def signatures_visible(
    *, user: User, client: User | None = None
) -> tuple[QuerySet[ConsentSignature], ConsentAccess | None]:
    """Signatures the user may list, optionally of one client (its door refuses the others)."""
    access = consent_access(user=user, client=client) if client is not None else None
    signatures = signatures_visible_to(user=user).select_related("withdrawal")
    if client is not None:
        signatures = signatures.filter(on_behalf_of=client)
    return signatures, access


def signatures_listed(
    *, user: User, context: AuditContext | None, client: User | None, shown: list[ConsentSignature]
) -> None:
    """One event for a page of signatures, naming every client on it."""
    access = consent_access(user=user, client=client) if client is not None else None
    audit_record(
        action=Action.CONSENT_STATUS_VIEW,
        actor=user,
        context=context,
        target=client,
        subject_client_id=client.pk if client is not None else None,
        details={"what": "signatures", "access": access.value if access else "list"},
        subjects=[s.on_behalf_of_id for s in shown] if client is None else None,
    )


def signature_read(
    *, user: User, signature_id: uuid.UUID | str, context: AuditContext | None, download: bool = False
) -> tuple[ConsentSignature, ConsentAccess]:
    """The signed text and typed name: the client, a guardian of the minor, the care team."""
    signature, access = signature_get_for_user(user=user, signature_id=signature_id)
    audit_record(
        action=Action.CONSENT_SIGNATURE_VIEW,
        actor=user,
        context=context,
        target=signature,
        subject_client_id=signature.on_behalf_of_id,
        details={"download": download, "access": access.value},
    )
    return signature, access


def agreements_read(*, user: User, client: User, context: AuditContext | None) -> QuerySet[ParticipantAgreement]:
    """Per-person agreements: the care team and the client only; never an admin's."""
    access = agreement_access_check(user=user, client=client)
    audit_record(
        action=Action.CONSENT_AGREEMENT_VIEW,
        actor=user,
        context=context,
        target=client,
        subject_client_id=client.pk,
        details={"access": access.value},
    )
    return ParticipantAgreement.objects.filter(client=client).select_related("recorded_by")


def status_clients(*, user: User) -> QuerySet[User]:
    """The clients whose consent status this person reaches, for the status grid."""
    return User.objects.filter(
        pk__in=consent_clients_of(user=user).values("pk"), is_active=True, role_grants__role=Role.CLIENT
    ).exclude(pk=user.pk)


def status_rows_read(*, user: User, clients: list[User], context: AuditContext | None) -> list[dict[str, object]]:
    """At a glance, what each of these clients (a page of ``status_clients``) has in force:
    status only, no names typed, no text."""
    rows = []
    for client in clients:
        needed = set(required_kinds(client=client, joint=joint_work_for(client=client)))
        cells: list[dict[str, object]] = []
        for kind in STATUS_KINDS:
            if kind not in needed:
                cells.append({"kind": kind, "applies": False})
                continue
            in_force = signature_in_force(client=client, kind=kind)
            cells.append(
                {
                    "kind": kind,
                    "applies": True,
                    "in_force": in_force,
                    "by_guardian": in_force is not None and in_force.signer_id != client.pk,
                    "withdrawn": in_force is None and consent_withdrawn(client=client, kind=kind),
                }
            )
        rows.append({"client": client, "cells": cells})
    audit_record(
        action=Action.CONSENT_STATUS_VIEW,
        actor=user,
        context=context,
        target_type="consent.status",
        details={"what": "status", "clients": len(rows)},
    )
    return rows


def status_only_for(*, user: User) -> set[int] | None:
    """For an admin, the clients whose signatures they see as status only (everyone but themself
    and their wards); None for everyone else, who reach only what they may read in full."""
    if not user.has_role(Role.ADMIN):
        return None
    own = {p.pk for p in people_acted_for(user=user)}
    return set(User.objects.filter(practice_id=user.practice_id).exclude(pk__in=own).values_list("pk", flat=True))
