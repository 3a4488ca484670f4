from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import (
    BackupCodeDevice,
    GuardianLink,
    Invitation,
    PasskeyDevice,
    Practice,
    PracticeLogo,
    Role,
    TOTPDevice,
    User,
    UserSession,
)
from teletherapy.errors import NotVisible

_DEVICE_MODELS = {m._meta.label_lower: m for m in (TOTPDevice, BackupCodeDevice, PasskeyDevice)}


def device_for_persistent_id(persistent_id: str) -> TOTPDevice | BackupCodeDevice | PasskeyDevice | None:
    label, _, device_id = str(persistent_id).rpartition("/")
    model = _DEVICE_MODELS.get(label)
    if model is None:
        return None
    try:
        return model.objects.filter(pk=device_id).first()
    except (ValueError, TypeError, ValidationError):  # a malformed id in a session is just "no device"
        return None


def totp_device_confirmed(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-created_at").first()


def totp_device_pending(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-created_at").first()


def backup_codes_remaining(*, user: User) -> int:
    device = BackupCodeDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return 0
    return device.codes.filter(used_at__isnull=True).count()


def backup_codes_running_low(*, user: User) -> int | None:
    """How many backup codes are left when the person made some and fewer than three remain, for
    a reminder; None otherwise. Someone who chose not to make any (a synced passkey needs none)
    is not nagged: the Security page offers them."""
    if not BackupCodeDevice.objects.filter(user=user, confirmed=True).exists():
        return None
    left = backup_codes_remaining(user=user)
    return left if left < 3 else None


def user_has_confirmed_device(*, user: User) -> bool:
    """Whether the person has a second factor: an authenticator app or a passkey."""
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or PasskeyDevice.objects.filter(user=user, confirmed=True).exists()
    )


def passkeys_of(*, user: User) -> QuerySet[PasskeyDevice]:
    return PasskeyDevice.objects.filter(user=user, confirmed=True).order_by("created_at")


def practice_members(*, practice: Practice) -> QuerySet[User]:
    return practice.members.prefetch_related("role_grants").order_by("full_name")


def practice_users_with_role(*, practice: Practice, role: str) -> QuerySet[User]:
    return practice.members.filter(role_grants__role=role, is_active=True).order_by("full_name")


def member_get_for_admin(*, admin: User, user_id: int) -> User:
    """A member of the admin's own practice, or NotVisible."""
    member = User.objects.filter(practice_id=admin.practice_id, pk=user_id).first()
    if member is None:
        raise NotVisible("accounts.user", user_id)
    return member


def invitations_visible_to(*, user: User) -> QuerySet[Invitation]:
    qs = Invitation.objects.filter(practice_id=user.practice_id).select_related("invited_by")
    if user.has_role(Role.ADMIN):
        return qs
    return qs.filter(invited_by=user)


def invitation_get_for_user(*, user: User, invitation_id: uuid.UUID | str) -> Invitation:
    """An invitation the user sent (an admin: any of the practice's), or NotVisible."""
    try:
        invitation = invitations_visible_to(user=user).filter(pk=invitation_id).first()
    except (ValueError, TypeError, ValidationError):
        invitation = None
    if invitation is None:
        raise NotVisible("accounts.invitation", invitation_id, "No such invitation.")
    return invitation


def sessions_of(*, user: User) -> QuerySet[UserSession]:
    return UserSession.objects.filter(user=user)


def clients_of_care_team(*, therapist: User) -> QuerySet[User]:
    """The clients whose chart has this therapist on its care team: the one selector for "my clients"."""
    if not therapist.has_role(Role.THERAPIST):
        return User.objects.none()
    return User.objects.filter(
        chart__care_team=therapist, practice_id=therapist.practice_id, role_grants__role=Role.CLIENT
    ).order_by("full_name")


def on_care_team_of(*, therapist: User, client: User) -> bool:
    return clients_of_care_team(therapist=therapist).filter(pk=client.pk).exists()


# Guardians -----------------------------------------------------------------------------------
# A guardian link counts only while the client's chart is marked minor. Every reader of a link
# asks through these functions, so marking a chart adult ends the guardian's authority at once.
# (The chart is reached by its relation name only: accounts does not import records.)

_MINOR = {"chart__is_minor": True}


def client_is_minor(*, client: User | int) -> bool:
    client_id = client if isinstance(client, int) else client.pk
    return User.objects.filter(pk=client_id, **_MINOR).exists()


def guardian_acts_for(*, guardian: User, client: User | None = None, client_id: int | None = None) -> bool:
    """May ``guardian`` act for this client: a link, in the same practice, to a minor."""
    client_id = client.pk if client is not None else client_id
    if client_id is None or guardian.pk == client_id:
        return False
    return GuardianLink.objects.filter(
        guardian=guardian,
        client_id=client_id,
        client__practice_id=guardian.practice_id,
        client__chart__is_minor=True,
    ).exists()


def wards_of(*, guardian: User) -> QuerySet[User]:
    """The minors this guardian acts for."""
    return User.objects.filter(guardians__guardian=guardian, practice_id=guardian.practice_id, **_MINOR).order_by(
        "full_name"
    )


def people_acted_for(*, user: User) -> list[User]:
    """Whose record this user may open as its owner: themself if a client, and their wards."""
    return ([user] if user.has_role(Role.CLIENT) else []) + list(wards_of(guardian=user))


def guardians_of(*, client: User) -> QuerySet[User]:
    """Who acts for this client: nobody unless the client is a minor."""
    if not client_is_minor(client=client):
        return User.objects.none()
    return User.objects.filter(wards__client=client, practice_id=client.practice_id, is_active=True)


def pending_invitations_count(*, user: User) -> int:
    return (
        invitations_visible_to(user=user)
        .filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .count()
    )


def practice_ids() -> list[int]:
    """Every practice's id: the audit trail verifies all their lanes, with events or without."""
    return list(Practice.objects.values_list("pk", flat=True))


def practice_logo_digest(*, practice_id: int) -> str | None:
    """The address part of the practice's logo, if it has one."""
    return PracticeLogo.objects.filter(practice_id=practice_id).values_list("digest", flat=True).first()


LOGO_HEIGHT = 32


def practice_logo_header(*, practice_id: int) -> dict[str, object] | None:
    """The logo as the header shows it (the header asks on every page): its address part and its
    size at the header's height, so the page keeps its room and does not shift as it loads."""
    found = PracticeLogo.objects.filter(practice_id=practice_id).values_list("digest", "width", "height").first()
    if found is None:
        return None
    digest, width, height = found
    return {"digest": digest, "width": max(1, round(LOGO_HEIGHT * width / max(height, 1))), "height": LOGO_HEIGHT}


def practice_logo_of(*, user: User, digest: str) -> PracticeLogo:
    """The logo of the user's own practice at this address, or NotVisible (another practice's, or
    an address an older logo had)."""
    logo = PracticeLogo.objects.filter(practice_id=user.practice_id, digest=digest).first()
    if logo is None:
        raise NotVisible("accounts.practicelogo", digest)
    return logo
