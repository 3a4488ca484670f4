from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django_otp.models import Device, ThrottlingMixin

from teletherapy.fields import EncryptedTextField

# The currencies a practice may bill in (ISO 4217), with how an amount is written.
CURRENCIES = {
    "USD": ("US dollar", "$"),
    "CAD": ("Canadian dollar", "CA$"),
    "GBP": ("Pound sterling", "£"),
    "EUR": ("Euro", "€"),
    "AUD": ("Australian dollar", "A$"),
    "NZD": ("New Zealand dollar", "NZ$"),
    "CHF": ("Swiss franc", "CHF "),
    "SEK": ("Swedish krona", "SEK "),
    "NOK": ("Norwegian krone", "NOK "),
    "DKK": ("Danish krone", "DKK "),
    "ZAR": ("South African rand", "R"),
    "INR": ("Indian rupee", "₹"),
}


class Practice(models.Model):
    """The tenant: every object belongs to exactly one practice."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(default=timezone.now)
    passkeys_required_for_staff = models.BooleanField(
        default=False, help_text="Therapists and admins without a passkey are led to add one at sign-in."
    )
    passwordless_sign_in = models.BooleanField(
        default=False, help_text="A passkey that verifies the person (PIN, fingerprint, face) stands for both steps."
    )
    passkeys_required_since = models.DateTimeField(
        null=True, blank=True, help_text="When the practice began to require passkeys of its staff."
    )
    listed_publicly = models.BooleanField(
        default=False, help_text="Whether this server's public index of fact sheets names the practice."
    )
    currency = models.CharField(
        max_length=3,
        choices=[(code, f"{name} ({code})") for code, (name, _symbol) in CURRENCIES.items()],
        default="USD",
        help_text="What fees are charged in (ISO 4217).",
    )
    # When messages are answered, in the practice's zone (accounts.office_hours); none set, none shown.
    office_days = models.CharField(max_length=7, blank=True, default="", help_text="Weekdays, 0 = Monday.")
    office_opens = models.TimeField(null=True, blank=True)
    office_closes = models.TimeField(null=True, blank=True)
    # The demo practice (manage.py seed_demo): its accounts have published passwords and printed
    # authenticator keys, so a production server refuses every sign-in to it.
    is_demo = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.name


class PracticeLogo(models.Model):
    """The practice's logo, shown in the page header to its members. Kept as the PNG the upload was
    redrawn into (never the uploaded bytes), so it travels with the database and its backups."""

    practice = models.OneToOneField(Practice, on_delete=models.CASCADE, related_name="logo")
    image = models.BinaryField()
    digest = models.CharField(max_length=64, help_text="SHA-256 of the PNG: its address changes with it.")
    width = models.PositiveSmallIntegerField()
    height = models.PositiveSmallIntegerField()
    uploaded_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"logo of practice {self.practice_id}"


class Role(models.TextChoices):
    CLIENT = "client", "Client"
    THERAPIST = "therapist", "Therapist"
    ADMIN = "admin", "Practice admin"
    GUARDIAN = "guardian", "Guardian"


# Whose pages keep a presence socket open (sessions.presence): everyone who writes messages hears
# of new ones; therapists also hear who is waiting for a session.
LIVE_ROLES = (Role.THERAPIST, Role.CLIENT, Role.GUARDIAN)


class UserManager(BaseUserManager["User"]):
    def create_user(
        self, email: str, password: str | None, *, practice: Practice, full_name: str, **extra: Any
    ) -> User:
        user = self.model(email=self.normalize_email(email).lower(), practice=practice, full_name=full_name, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser):
    """A person who signs in. Deliberately without superuser flags: nobody bypasses roles."""

    email = models.EmailField(unique=True, max_length=254)
    full_name = models.CharField(max_length=150)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="members")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # A second admin's confirmation of a therapist account an admin made (accounts.duties).
    staff_confirmed_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    staff_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Empty: the practice's zone. Times are stored in UTC and shown in this zone.
    time_zone = models.CharField(max_length=64, blank=True, default="")

    objects = UserManager()

    # Set on each request by accounts.middleware.MFAMiddleware: the second-factor device this
    # session was verified with, or None. Not a database field.
    otp_device: Any = None

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def zone_name(self) -> str:
        return self.time_zone or self.practice.time_zone

    @cached_property
    def _roles(self) -> frozenset[str]:
        return frozenset(self.role_grants.values_list("role", flat=True))

    def role_names(self) -> list[str]:
        return sorted(self._roles)

    def has_role(self, *roles: str) -> bool:
        return bool(self._roles.intersection(roles))

    def forget_roles(self) -> None:
        self.__dict__.pop("_roles", None)


class RoleGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=16, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="role_grant_once")]

    def __str__(self) -> str:
        return f"{self.user} is {self.role}"


class GuardianLink(models.Model):
    """A guardian may act for a minor client (sign consent, see what the chart allows)."""

    guardian = models.ForeignKey(User, on_delete=models.CASCADE, related_name="wards")
    client = models.ForeignKey(User, on_delete=models.CASCADE, related_name="guardians")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["guardian", "client"], name="guardian_link_once")]

    def __str__(self) -> str:
        return f"{self.guardian} for {self.client}"


class Invitation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices)
    guardian_for = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.role} invitation for {self.email}"

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class ThrottleScope(models.TextChoices):
    ACCOUNT = "account", "Account"
    ADDRESS = "address", "Client address"
    # Requests for a password-reset link from one client address (accounts.services.password_reset).
    RESET_ADDRESS = "reset_address", "Reset requests from a client address"
    # Requests for a first session from one client address (sessions.services.requests).
    REQUEST_ADDRESS = "request_address", "First-session requests from a client address"


class LoginThrottle(models.Model):
    """Failed attempts per account and per client address; kept in the database."""

    scope = models.CharField(max_length=16, choices=ThrottleScope.choices)
    key = models.CharField(max_length=254)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="throttle_scope_key")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} ({self.failures})"


class TOTPDevice(ThrottlingMixin, Device):
    """An authenticator app. The shared secret is sealed with the key ring, never stored plain."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    secret = EncryptedTextField(help_text="Base32 secret, sealed.")
    digits = models.PositiveSmallIntegerField(default=6)
    step = models.PositiveSmallIntegerField(default=30)
    last_t = models.BigIntegerField(default=-1, help_text="Time step of the last accepted code.")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def get_throttle_factor(self) -> int:
        from django.conf import settings

        return settings.OTP_THROTTLE_FACTOR


class PasskeyDevice(Device):
    """A passkey (WebAuthn credential). Only its public key is kept; the private key never leaves
    the person's device. ``name`` (from Device) is what the person called it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    credential_id = models.CharField(max_length=1400, unique=True, help_text="base64url, as the browser gives it.")
    public_key = models.TextField(help_text="COSE public key, base64url.")
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    backed_up = models.BooleanField(default=False, help_text="A synced passkey (on several of the person's devices).")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]


class BackupCodeDevice(ThrottlingMixin, Device):
    """Single-use backup codes; each is stored as a keyed hash."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    generated_at = models.DateTimeField(default=timezone.now)

    def get_throttle_factor(self) -> int:
        from django.conf import settings

        return settings.OTP_THROTTLE_FACTOR


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    key_id = models.CharField(max_length=32)
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"backup code of {self.device_id} ({'used' if self.used_at else 'unused'})"


class EnrollmentLink(models.Model):
    """A single-use, short-lived link that proves control of the account's e-mail address, and
    so lets a session with only the password enroll the account's first second factor."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"enrollment link of {self.user_id}"


class PasswordResetLink(models.Model):
    """A single-use, short-lived link e-mailed to the account's address to choose a new password.
    Only its hash is kept; any use, or a new password by any way, ends every open link."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # Who asked: the person from the sign-in page (empty), or an admin of the practice.
    sent_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"password reset link of {self.user_id}"


class RecoveryRequest(models.Model):
    """Someone who lost every second factor and every backup code asks to set them up again.

    Two admins other than the person are needed: one approves, having checked who they are outside
    the platform; a second confirms. It takes effect a delay after that (24 hours by default),
    during which the account's e-mail address is told and the person can cancel it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_requests")
    requested_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    # How the approver checked who it is (may name a phone number or a meeting): sealed.
    identity_check = EncryptedTextField(blank=True, default="")
    confirmed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    effective_at = models.DateTimeField(null=True, blank=True)
    cancel_token_hash = models.CharField(max_length=64, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"recovery of {self.user_id} ({self.state})"

    @property
    def state(self) -> str:
        if self.cancelled_at:
            return "cancelled"
        if self.completed_at:
            return "completed"
        if self.confirmed_at:
            return "waiting"
        if self.approved_at:
            return "approved"
        return "requested"

    @property
    def open(self) -> bool:
        return self.state in ("requested", "approved", "waiting")


class KnownBrowser(models.Model):
    """A browser that has signed in to this account before (only a hash of its cookie is kept)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "token_hash"], name="known_browser_once")]

    def __str__(self) -> str:
        return f"browser of {self.user_id}"


class UserSession(models.Model):
    """Which signed-in sessions belong to whom, so a user can see and end them."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signed_in_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"session of {self.user_id} from {self.ip_address}"
