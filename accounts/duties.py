"""Separation of duties: one admin alone cannot make a therapist account and break the glass with it.

An admin who invites a therapist (or grants the role) could send the invitation to a mailbox they
control. Such an account may use emergency access only once a second admin, not the one who made
it a therapist, confirms it; a practice with a single admin cannot, and its fact sheet says so.
Accounts made a therapist by nobody (the set-up command) need no confirmation.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, RoleGrant, User
from audit.models import Action
from audit.services import audit_record
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, NotVisible


def _maker(user: User) -> User | None:
    grant = RoleGrant.objects.filter(user=user, role=Role.THERAPIST).select_related("granted_by").first()
    return grant.granted_by if grant is not None else None


def other_admins(*, practice_id: int, besides: list[int]) -> int:
    return (
        User.objects.filter(practice_id=practice_id, is_active=True, role_grants__role=Role.ADMIN)
        .exclude(pk__in=besides)
        .distinct()
        .count()
    )


def confirmation_missing(user: User) -> bool:
    """Whether this therapist account waits for a second admin before it may use emergency access."""
    maker = _maker(user)
    if maker is None:
        return False
    if user.staff_confirmed_by_id is not None and user.staff_confirmed_by_id != maker.pk:
        return False
    return other_admins(practice_id=user.practice_id, besides=[maker.pk, user.pk]) > 0


def can_confirm(*, admin: User, member: User) -> bool:
    maker = _maker(member)
    return (
        admin.has_role(Role.ADMIN)
        and admin.practice_id == member.practice_id
        and maker is not None
        and admin.pk not in (maker.pk, member.pk)
        and confirmation_missing(member)
    )


def staff_confirm(*, admin: User, member: User, context: AuditContext | None) -> User:
    """A second admin confirms a therapist account another admin made (audited)."""
    if not admin.has_role(Role.ADMIN) or admin.practice_id != member.practice_id:
        raise NotVisible("accounts.user", member.pk)
    if not can_confirm(admin=admin, member=member):
        raise Conflict("Only an admin other than the one who made this account a therapist can confirm it.")
    with transaction.atomic():
        User.objects.filter(pk=member.pk).update(staff_confirmed_by=admin, staff_confirmed_at=timezone.now())
        audit_record(action=Action.STAFF_CONFIRM, actor=admin, context=context, target=member)
    member.refresh_from_db()
    return member


def single_admin(practice_id: int) -> bool:
    return other_admins(practice_id=practice_id, besides=[]) <= 1
