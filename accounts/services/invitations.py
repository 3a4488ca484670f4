"""Onboarding is by invitation only."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import GuardianLink, Invitation, Role, RoleGrant, User
from accounts.selectors import client_is_minor
from accounts.signals import client_joined
from audit.models import Action
from audit.services import audit_record
from teletherapy.context import AuditContext
from teletherapy.errors import ServiceError
from teletherapy.keyring import keyring

# Who may invite whom.
INVITABLE_BY = {
    Role.ADMIN: {Role.THERAPIST, Role.ADMIN},
    Role.THERAPIST: {Role.CLIENT, Role.GUARDIAN},
}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def roles_invitable_by(user: User) -> set[str]:
    allowed: set[str] = set()
    for role, targets in INVITABLE_BY.items():
        if user.has_role(role):
            allowed |= {str(t) for t in targets}
    return allowed


def invitation_send(
    *,
    actor: User,
    context: AuditContext | None,
    email: str,
    role: str,
    full_name: str = "",
    guardian_for: User | None = None,
    on_behalf_of: User | None = None,
) -> tuple[Invitation, str]:
    """Create an invitation and e-mail its link. Returns the invitation and its one-time token.
    ``on_behalf_of``: an admin invites a client for a therapist of the practice, whose care team
    the client then joins (answering a request for a first session)."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError("Enter a valid e-mail address.", field="email") from None
    inviter = actor
    if on_behalf_of is not None:
        if not (
            role == Role.CLIENT
            and actor.has_role(Role.ADMIN)
            and on_behalf_of.practice_id == actor.practice_id
            and on_behalf_of.is_active
            and on_behalf_of.has_role(Role.THERAPIST)
        ):
            raise ServiceError("Choose a therapist of the practice to see this client.", field="therapist")
        inviter = on_behalf_of
    if role not in roles_invitable_by(inviter):
        raise ServiceError("You cannot invite someone to that role.", field="role")
    if role == Role.GUARDIAN:
        if (
            guardian_for is None
            or guardian_for.practice_id != actor.practice_id
            or not guardian_for.has_role(Role.CLIENT)
        ):
            raise ServiceError("Choose the client this guardian will act for.", field="guardian_for")
        if not client_is_minor(client=guardian_for):
            raise ServiceError("A guardian acts only for a client whose chart is marked minor.", field="guardian_for")
    elif guardian_for is not None:
        raise ServiceError("Only a guardian invitation names a client.", field="guardian_for")
    if User.objects.filter(email=email, practice_id=actor.practice_id).exists():
        raise ServiceError("Someone in this practice already has an account with that address.", field="email")
    now = timezone.now()
    if Invitation.objects.filter(
        practice_id=actor.practice_id,
        email=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=now,
    ).exists():
        raise ServiceError("There is already a pending invitation for that address; revoke it first.", field="email")

    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            practice_id=actor.practice_id,
            email=email,
            full_name=(full_name or "").strip()[:150],
            role=role,
            guardian_for=guardian_for,
            invited_by=inviter,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=now + timedelta(hours=settings.INVITATION_TTL_HOURS),
        )
        audit_record(
            action=Action.INVITATION_SENT,
            actor=actor,
            context=context,
            target=invitation,
            subject_client_id=guardian_for.pk if guardian_for else None,
            details={"role": role, **({"for_therapist": inviter.pk} if inviter != actor else {})},
        )
        transaction.on_commit(lambda: invitation_email_enqueue(invitation=invitation, token=token))
    return invitation, token


def invitation_lookup(*, token: str) -> Invitation | None:
    if not token or len(token) > 128:
        return None
    return Invitation.objects.select_related("practice").filter(token_hash=token_digest(token)).first()


def invitation_accept(*, context: AuditContext | None, token: str, full_name: str, password: str) -> User:
    full_name = " ".join((full_name or "").split())[:150]
    if not full_name:
        raise ServiceError("Enter your full name.", field="full_name")
    with transaction.atomic():
        found = invitation_lookup(token=token)
        if found is None:
            raise ServiceError("This invitation link is not valid.")
        invitation = Invitation.objects.select_for_update().get(pk=found.pk)
        if invitation.status != "pending":
            raise ServiceError(f"This invitation has been {invitation.status} and cannot be used.")
        if User.objects.filter(email=invitation.email).exists():
            raise ServiceError(
                "This e-mail address already has an account. Ask the practice to invite a different address."
            )
        candidate = User(email=invitation.email, full_name=full_name, practice_id=invitation.practice_id)
        try:
            validate_password(password, user=candidate)
        except ValidationError as exc:
            raise ServiceError(" ".join(exc.messages), field="password") from None
        try:
            user = User.objects.create_user(
                invitation.email, password, practice=invitation.practice, full_name=full_name
            )
        except IntegrityError:
            raise ServiceError("This e-mail address already has an account.") from None
        RoleGrant.objects.create(user=user, role=invitation.role, granted_by=invitation.invited_by)
        if invitation.role == Role.GUARDIAN and invitation.guardian_for_id:
            GuardianLink.objects.create(guardian=user, client_id=invitation.guardian_for_id)
        if invitation.role == Role.CLIENT:
            # Records listens: the inviting therapist starts the client's care team.
            client_joined.send(sender=Invitation, user=user, invited_by=invitation.invited_by, context=context)
        invitation.accepted_at = timezone.now()
        invitation.accepted_user = user
        invitation.save(update_fields=["accepted_at", "accepted_user"])
        audit_record(
            action=Action.INVITATION_ACCEPTED,
            actor=user,
            context=context,
            target=invitation,
            subject_client_id=user.pk if invitation.role == Role.CLIENT else invitation.guardian_for_id,
            details={"role": invitation.role},
        )
    return user


def invitation_revoke(*, actor: User, context: AuditContext | None, invitation: Invitation) -> Invitation:
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status != "pending":
            raise ServiceError(f"This invitation is already {invitation.status}.", code="conflict")
        invitation.revoked_at = timezone.now()
        invitation.revoked_by = actor
        invitation.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(action=Action.INVITATION_REVOKED, actor=actor, context=context, target=invitation)
    return invitation


# The invitation e-mail, sent by the worker ------------------------------------------------------


def _aad(invitation_id: str) -> bytes:
    return f"invitation-email:{invitation_id}".encode()


def invitation_email_enqueue(*, invitation: Invitation, token: str) -> None:
    # The token is sealed before it goes through the broker, so Redis never holds it readable.
    sealed = keyring().seal(token, purpose="field", aad=_aad(str(invitation.pk)))
    send_invitation_email.delay(str(invitation.pk), sealed)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(invitation_id: str, sealed_token: str) -> None:
    invitation = Invitation.objects.select_related("practice", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.status != "pending":
        return
    token = keyring().unseal(sealed_token, purpose="field", aad=_aad(invitation_id))
    site = (settings.SITE_URL or "").rstrip("/")
    link = site + reverse("accounts:invitation_accept", args=[token])
    facts = site + reverse("privacy:sheet", args=[invitation.practice.slug])
    send_mail(
        subject=f"{invitation.practice.name} invites you to its secure therapy platform",
        message=(
            f"Hello{(' ' + invitation.full_name) if invitation.full_name else ''},\n\n"
            f"{invitation.invited_by.full_name} at {invitation.practice.name} has invited you to join as "
            f"{invitation.get_role_display().lower()}.\n\n"
            f"Open this link to choose a password and set up two-step sign-in:\n{link}\n\n"
            f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n\n"
            f"Before you start, you can read how {invitation.practice.name} protects your data, where it is "
            f"kept and for how long:\n{facts}\n\n"
            "If you did not expect this, you can ignore this message.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )
