"""Creating a practice and its first admin: the one step that is not by invitation."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from accounts.models import CURRENCIES, Practice, Role, RoleGrant, User
from accounts.signals import practice_created
from audit.models import Action
from audit.services import audit_record
from teletherapy.errors import NotVisible, ServiceError


@transaction.atomic
def practice_create(*, name: str, slug: str, time_zone: str = "UTC") -> Practice:
    """A new practice starts with a published default of every consent document (consent listens)."""
    practice = Practice.objects.create(name=name, slug=slug, time_zone=time_zone)
    practice_created.send(sender=Practice, practice=practice)
    return practice


@transaction.atomic
def user_create(
    *,
    practice: Practice,
    email: str,
    full_name: str,
    password: str,
    roles: Sequence[str],
    granted_by: User | None = None,
) -> User:
    candidate = User(email=email, full_name=full_name, practice=practice)
    validate_password(password, user=candidate)
    user = User.objects.create_user(email, password, practice=practice, full_name=full_name)
    for role in roles:
        if role not in Role.values:
            raise ValueError(f"Unknown role {role!r}")
        RoleGrant.objects.create(user=user, role=role, granted_by=granted_by)
    return user


def sign_in_policy_set(
    *, actor: User, request: object, passkeys_required_for_staff: bool, passwordless: bool
) -> Practice:
    """The practice's sign-in policy (admins): passkeys for staff, and passwordless sign-in."""

    if not actor.has_role(Role.ADMIN):
        raise NotVisible("accounts.practice", actor.practice_id)
    with transaction.atomic():
        practice = Practice.objects.select_for_update().get(pk=actor.practice_id)
        before = {"passkeys_required_for_staff": practice.passkeys_required_for_staff,
                  "passwordless_sign_in": practice.passwordless_sign_in}  # fmt: skip
        practice.passkeys_required_for_staff = passkeys_required_for_staff
        practice.passwordless_sign_in = passwordless
        practice.save(update_fields=["passkeys_required_for_staff", "passwordless_sign_in"])
        after = {"passkeys_required_for_staff": passkeys_required_for_staff, "passwordless_sign_in": passwordless}
        audit_record(
            action=Action.SIGN_IN_POLICY_CHANGE, actor=actor, request=request, target=practice,  # type: ignore[arg-type]
            details={"before": before, "after": after},
        )  # fmt: skip
    return practice


def practice_currency_set(*, actor: User, request: object, currency: str) -> Practice:
    """What the practice bills in (admins). Amounts already recorded keep their numbers; they are
    shown in the new currency from now on, so set it before the first charge."""
    if not actor.has_role(Role.ADMIN):
        raise NotVisible("accounts.practice", actor.practice_id)
    if currency not in CURRENCIES:
        raise ServiceError("Choose a currency from the list.", field="currency")
    with transaction.atomic():
        practice = Practice.objects.select_for_update().get(pk=actor.practice_id)
        before = practice.currency
        practice.currency = currency
        practice.save(update_fields=["currency"])
        audit_record(
            action=Action.PRACTICE_SETTINGS_CHANGE, actor=actor, request=request, target=practice,  # type: ignore[arg-type]
            details={"currency": {"before": before, "after": currency}},
        )  # fmt: skip
    return practice
