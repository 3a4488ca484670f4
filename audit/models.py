"""The append-only audit trail.

Events hold no clinical content: who, what kind, which record, when, from where, outcome.
Actor, practice and client are stored as plain ids rather than foreign keys, so that no
cascade can ever reach this table.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class Action(models.TextChoices):
    LOGIN_SUCCESS = "auth.login_success", "Signed in (password)"
    LOGIN_FAILURE = "auth.login_failure", "Failed sign-in"
    LOCKOUT = "auth.lockout", "Locked out after repeated failures"
    LOGOUT = "auth.logout", "Signed out"
    IDLE_TIMEOUT = "auth.idle_timeout", "Signed out after inactivity"
    ABSOLUTE_TIMEOUT = "auth.absolute_timeout", "Signed out at the end of the session lifetime"
    REAUTHENTICATE = "auth.reauthenticate", "Confirmed identity again"
    PASSWORD_CHANGE = "auth.password_change", "Changed password"
    SESSION_REVOKED = "auth.session_revoked", "Ended a signed-in session"
    MFA_ENROLL = "mfa.enroll", "Enrolled an authenticator"
    MFA_VERIFY = "mfa.verify", "Passed the second factor"
    MFA_FAILURE = "mfa.failure", "Failed the second factor"
    MFA_DEVICE_REMOVED = "mfa.device_removed", "Removed an authenticator"
    BACKUP_CODE_USED = "mfa.backup_code_used", "Used a backup code"
    BACKUP_CODES_REGENERATED = "mfa.backup_codes_regenerated", "Regenerated backup codes"
    INVITATION_SENT = "accounts.invitation_sent", "Sent an invitation"
    INVITATION_ACCEPTED = "accounts.invitation_accepted", "Accepted an invitation"
    INVITATION_REVOKED = "accounts.invitation_revoked", "Revoked an invitation"
    ROLE_CHANGE = "accounts.role_change", "Changed a role"
    DEACTIVATION = "accounts.deactivate", "Deactivated an account"
    APPOINTMENT_SCHEDULE = "sessions.schedule", "Scheduled a session"
    CONSENT_DRAFT_SAVE = "consent.draft_save", "Saved a consent draft"
    CONSENT_PUBLISH = "consent.publish", "Published a consent document"
    CONSENT_SIGN = "consent.sign", "Signed a consent"
    CONSENT_WITHDRAW = "consent.withdraw", "Withdrew a consent"
    CONSENT_SIGNATURE_VIEW = "consent.signature_view", "Viewed a signed consent"
    CONSENT_REQUEST = "consent.request", "Asked for a signature"
    CONSENT_AGREEMENT_RECORD = "consent.agreement_record", "Recorded an agreement with a participant"
    ACCESS_DENIED = "access.denied", "Was refused access"
    INTEGRITY_FAILURE = "data.integrity_failure", "Found altered encrypted data"


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"
    FAILED = "failed", "Failed"


SYSTEM_CHAIN = 0  # events that belong to no practice (e.g. a failed login for an unknown e-mail)
GENESIS_MAC = "0" * 64


class AuditEvent(models.Model):
    chain = models.BigIntegerField(help_text="Practice id, or 0 for events outside any practice.")
    seq = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_role = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64, choices=Action.choices)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    subject_client_id = models.BigIntegerField(null=True, blank=True)
    practice_id = models.BigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    details = models.JSONField(default=dict, blank=True)
    key_id = models.CharField(max_length=32)
    prev_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_event_chain_seq")]
        indexes = [
            models.Index(fields=["practice_id", "occurred_at"]),
            models.Index(fields=["subject_client_id", "occurred_at"]),
            models.Index(fields=["actor_id", "occurred_at"]),
        ]
        ordering = ["chain", "seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_id} ({self.outcome})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit events are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Audit events are append-only and cannot be deleted.")


class AuditChainHead(models.Model):
    """The last sequence number and MAC of each chain; locked while an event is appended."""

    chain = models.BigIntegerField(primary_key=True)
    seq = models.BigIntegerField(default=0)
    mac = models.CharField(max_length=64, default=GENESIS_MAC)

    def __str__(self) -> str:
        return f"chain {self.chain} at #{self.seq}"
