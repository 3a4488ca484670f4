"""Creating a practice and its first admin: the one step that is not by invitation."""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from accounts.models import CURRENCIES, Practice, PracticeLogo, Role, RoleGrant, User
from accounts.office_hours import describe
from accounts.signals import practice_created
from audit.models import Action
from audit.services import audit_record
from teletherapy import images
from teletherapy.context import AuditContext
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
    *, actor: User, context: AuditContext | None, passkeys_required_for_staff: bool, passwordless: bool
) -> Practice:
    """The practice's sign-in policy (admins): passkeys for staff, and passwordless sign-in."""

    if not actor.has_role(Role.ADMIN):
        raise NotVisible("accounts.practice", actor.practice_id)
    with transaction.atomic():
        practice = Practice.objects.select_for_update().get(pk=actor.practice_id)
        before = {"passkeys_required_for_staff": practice.passkeys_required_for_staff,
                  "passwordless_sign_in": practice.passwordless_sign_in}  # fmt: skip
        if passkeys_required_for_staff and not practice.passkeys_required_for_staff:
            practice.passkeys_required_since = timezone.now()  # staff without one have a grace period from now
        elif not passkeys_required_for_staff:
            practice.passkeys_required_since = None
        practice.passkeys_required_for_staff = passkeys_required_for_staff
        practice.passwordless_sign_in = passwordless
        practice.save(update_fields=["passkeys_required_for_staff", "passkeys_required_since", "passwordless_sign_in"])
        after = {"passkeys_required_for_staff": passkeys_required_for_staff, "passwordless_sign_in": passwordless}
        audit_record(
            action=Action.SIGN_IN_POLICY_CHANGE, actor=actor, context=context, target=practice,  # type: ignore[arg-type]
            details={"before": before, "after": after},
        )  # fmt: skip
    return practice


def practice_currency_set(*, actor: User, context: AuditContext | None, currency: str) -> Practice:
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
            action=Action.PRACTICE_SETTINGS_CHANGE, actor=actor, context=context, target=practice,  # type: ignore[arg-type]
            details={"currency_before": before, "currency_after": currency},
        )  # fmt: skip
    return practice


def practice_office_hours_set(
    *, actor: User, context: AuditContext | None, days: list[str], opens: str, closes: str
) -> Practice:
    """When the practice answers messages (admins); no days at all clears them."""
    from datetime import time

    if not actor.has_role(Role.ADMIN):
        raise NotVisible("accounts.practice", actor.practice_id)
    chosen = sorted({d for d in days if d in {"0", "1", "2", "3", "4", "5", "6"}})
    if len(chosen) != len(set(days)):
        raise ServiceError("Choose days of the week from the list.", field="days")
    start = end = None
    if chosen:
        try:
            start, end = time.fromisoformat(opens), time.fromisoformat(closes)
        except (TypeError, ValueError):
            raise ServiceError("Give opening and closing times as HH:MM.", field="opens") from None
        if start >= end:
            raise ServiceError("The practice closes after it opens.", field="closes")
    with transaction.atomic():
        practice = Practice.objects.select_for_update().get(pk=actor.practice_id)
        before = describe(practice) or "none"
        practice.office_days, practice.office_opens, practice.office_closes = "".join(chosen), start, end
        practice.save(update_fields=["office_days", "office_opens", "office_closes"])
        audit_record(
            action=Action.PRACTICE_SETTINGS_CHANGE, actor=actor, context=context, target=practice,  # type: ignore[arg-type]
            details={"office_hours_before": before, "office_hours_after": describe(practice) or "none"},
        )  # fmt: skip
    return practice


# The practice's logo ----------------------------------------------------------------------------

LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MAX_PIXELS = 40_000_000  # what is decoded at most, whatever the file claims
LOGO_BOX = (480, 160)  # twice the header's size, for sharp screens
LOGO_MIN_SIDE = 16
LOGO_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP", "GIF": "GIF"}


def _logo_redrawn(data: bytes) -> Image.Image:
    """Decode the upload and draw it afresh: only pixels travel on, never the file's own bytes,
    metadata or scripts. Anything that is not a readable raster image is refused."""
    unreadable = ServiceError(
        "That file is not an image that can be read. Upload a PNG, JPEG, WebP or GIF.", field="logo"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in LOGO_FORMATS:
                    raise unreadable
                if probe.width * probe.height > LOGO_MAX_PIXELS:
                    raise ServiceError("The image is too large to use as a logo; scale it down first.", field="logo")
                if min(probe.width, probe.height) < LOGO_MIN_SIDE:
                    raise ServiceError(
                        f"The image is too small to read: at least {LOGO_MIN_SIDE} pixels each way.", field="logo"
                    )
                with images.decoding(probe.width * probe.height):
                    image = images.pixels_only(probe.convert("RGBA"))  # the first frame of an animation
    except images.DecodeBusy:
        raise ServiceError(
            "Too many large images are being read right now. Try again in a minute.", field="logo"
        ) from None
    except ServiceError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
            ValueError, SyntaxError, EOFError):  # fmt: skip
        raise unreadable from None
    image.thumbnail(LOGO_BOX)  # only ever shrinks, keeping the proportions
    return image


def practice_logo_set(*, actor: User, context: AuditContext | None, data: bytes) -> PracticeLogo:
    """Set the practice's logo from an uploaded image (admins)."""
    if not actor.has_role(Role.ADMIN):
        raise NotVisible("accounts.practice", actor.practice_id)
    if not data:
        raise ServiceError("Choose an image file to upload.", field="logo")
    if len(data) > LOGO_MAX_BYTES:
        raise ServiceError("The file is over 2 MB. Upload a smaller image.", field="logo")
    image = _logo_redrawn(data)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    png = out.getvalue()
    with transaction.atomic():
        practice = Practice.objects.select_for_update().get(pk=actor.practice_id)
        before = PracticeLogo.objects.filter(practice=practice).values_list("digest", flat=True).first()
        logo, _ = PracticeLogo.objects.update_or_create(
            practice=practice,
            defaults={
                "image": png,
                "digest": hashlib.sha256(png).hexdigest(),
                "width": image.width,
                "height": image.height,
                "uploaded_by": actor,
                "uploaded_at": timezone.now(),
            },
        )
        audit_record(
            action=Action.PRACTICE_SETTINGS_CHANGE, actor=actor, context=context, target=practice,  # type: ignore[arg-type]
            details={"logo_before": before, "logo_after": logo.digest},
        )  # fmt: skip
    return logo


def practice_logo_remove(*, actor: User, context: AuditContext | None) -> None:
    """Take the logo down (admins): the header shows the practice's name alone again."""
    if not actor.has_role(Role.ADMIN):
        raise NotVisible("accounts.practice", actor.practice_id)
    with transaction.atomic():
        practice = Practice.objects.select_for_update().get(pk=actor.practice_id)
        before = PracticeLogo.objects.filter(practice=practice).values_list("digest", flat=True).first()
        if before is None:
            raise ServiceError("The practice has no logo to remove.", code="no_logo")
        PracticeLogo.objects.filter(practice=practice).delete()
        audit_record(
            action=Action.PRACTICE_SETTINGS_CHANGE, actor=actor, context=context, target=practice,  # type: ignore[arg-type]
            details={"logo_before": before, "logo_after": None},
        )  # fmt: skip
