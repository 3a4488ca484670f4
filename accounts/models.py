from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django_otp.models import Device, ThrottlingMixin

from teletherapy.fields import EncryptedTextField


class Practice(models.Model):
    """The tenant: every object belongs to exactly one practice."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CLIENT = "client", "Client"
    THERAPIST = "therapist", "Therapist"
    ADMIN = "admin", "Practice admin"
    GUARDIAN = "guardian", "Guardian"


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
