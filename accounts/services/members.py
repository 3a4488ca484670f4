"""Practice admins manage who has which role, and who may sign in at all."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Role, RoleGrant, User
from accounts.services.auth import sessions_end_for_user
from audit.models import Action
from audit.services import audit_record
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError

GRANTABLE_ROLES = (Role.CLIENT, Role.THERAPIST, Role.ADMIN)  # in the order a member's page lists them


def _check_admin_over(actor: User, user: User) -> None:
    if not actor.has_role(Role.ADMIN) or actor.practice_id != user.practice_id:
        raise ServiceError("Only an admin of this practice can do that.")


def role_change(*, actor: User, context: AuditContext | None, user: User, role: str, grant: bool) -> None:
    _check_admin_over(actor, user)
    if actor.pk == user.pk:
        raise NotAllowed(
            "Nobody changes their own roles; ask another admin.", target_type="accounts.user", target_id=user.pk
        )
    if role not in {str(r) for r in GRANTABLE_ROLES}:
        raise ServiceError("Guardians are added by invitation for a specific client.")
    with transaction.atomic():
        if grant:
            _, created = RoleGrant.objects.get_or_create(user=user, role=role, defaults={"granted_by": actor})
            if not created:
                raise ServiceError(f"{user} already has that role.")
        else:
            if role == Role.ADMIN:
                admins = RoleGrant.objects.select_for_update().filter(
                    role=Role.ADMIN, user__practice_id=user.practice_id, user__is_active=True
                )
                if admins.count() <= 1 and admins.filter(user=user).exists():
                    raise ServiceError("A practice must keep at least one admin.")
            deleted, _ = RoleGrant.objects.filter(user=user, role=role).delete()
            if not deleted:
                raise ServiceError(f"{user} does not have that role.")
        user.forget_roles()
        audit_record(
            action=Action.ROLE_CHANGE,
            actor=actor,
            context=context,
            target=user,
            details={"role": role, "change": "granted" if grant else "revoked"},
        )


def user_deactivate(*, actor: User, context: AuditContext | None, user: User) -> None:
    _check_admin_over(actor, user)
    if actor.pk == user.pk:
        raise ServiceError("You cannot deactivate your own account.")
    if not user.is_active:
        raise ServiceError(f"{user} is already deactivated.")
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(action=Action.DEACTIVATION, actor=actor, context=context, target=user)
        sessions_end_for_user(user=user, actor=actor, context=context, reason="deactivated")


def user_reactivate(*, actor: User, context: AuditContext | None, user: User) -> None:
    """Undo a deactivation: the person may sign in again (with the factors they had; every login
    session ended when they were deactivated)."""
    _check_admin_over(actor, user)
    if user.is_active:
        raise ServiceError(f"{user} is already active.")
    with transaction.atomic():
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit_record(action=Action.REACTIVATION, actor=actor, context=context, target=user)
