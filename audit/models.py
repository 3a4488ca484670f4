"""The append-only audit trail.

Events hold no clinical content: who, what kind, which record, when, from where, outcome.
Actor, practice and client are stored as plain ids rather than foreign keys, so that no
cascade can ever reach this table.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from teletherapy.fields import EncryptedTextField


class Action(models.TextChoices):
    LOGIN_SUCCESS = "auth.login_success", "Signed in (password)"
    LOGIN_FAILURE = "auth.login_failure", "Failed sign-in"
    LOCKOUT = "auth.lockout", "Locked out after repeated failures"
    LOGOUT = "auth.logout", "Signed out"
    IDLE_TIMEOUT = "auth.idle_timeout", "Signed out after inactivity"
    ABSOLUTE_TIMEOUT = "auth.absolute_timeout", "Signed out at the end of the session lifetime"
    REAUTHENTICATE = "auth.reauthenticate", "Confirmed identity again"
    PASSWORD_CHANGE = "auth.password_change", "Changed password"
    PASSWORD_RESET_REQUEST = "auth.password_reset_request", "Asked for a link to choose a new password"
    PASSWORD_RESET = "auth.password_reset", "Chose a new password from an e-mailed link"
    SESSION_REVOKED = "auth.session_revoked", "Ended a signed-in session"
    MFA_ENROLL = "mfa.enroll", "Enrolled an authenticator"
    MFA_VERIFY = "mfa.verify", "Passed the second factor"
    MFA_FAILURE = "mfa.failure", "Failed the second factor"
    MFA_DEVICE_REMOVED = "mfa.device_removed", "Removed an authenticator"
    BACKUP_CODE_USED = "mfa.backup_code_used", "Used a backup code"
    BACKUP_CODES_REGENERATED = "mfa.backup_codes_regenerated", "Regenerated backup codes"
    ENROLL_LINK_SENT = "mfa.enroll_link_sent", "Was sent a link to set up their second factor"
    ENROLL_LINK_USED = "mfa.enroll_link_used", "Opened the link to set up their second factor"
    SIGN_IN_POLICY_CHANGE = "accounts.sign_in_policy", "Changed the practice's sign-in policy"
    PRACTICE_SETTINGS_CHANGE = "accounts.practice_settings", "Changed the practice's settings"
    RECOVERY_REQUEST = "accounts.recovery_request", "Asked to recover their account"
    RECOVERY_APPROVE = "accounts.recovery_approve", "Approved an account recovery, having checked identity"
    RECOVERY_CONFIRM = "accounts.recovery_confirm", "Confirmed an account recovery (the second admin)"
    RECOVERY_CANCEL = "accounts.recovery_cancel", "Cancelled an account recovery"
    RECOVERY_COMPLETE = "accounts.recovery_complete", "Recovered an account: its second factors were removed"
    NEW_BROWSER = "auth.new_browser", "Signed in from a browser not seen before"
    INVITATION_SENT = "accounts.invitation_sent", "Sent an invitation"
    INVITATION_ACCEPTED = "accounts.invitation_accepted", "Accepted an invitation"
    INVITATION_REVOKED = "accounts.invitation_revoked", "Revoked an invitation"
    ROLE_CHANGE = "accounts.role_change", "Changed a role"
    STAFF_CONFIRM = "accounts.staff_confirm", "Confirmed a therapist account as a second admin"
    DEACTIVATION = "accounts.deactivate", "Deactivated an account"
    REACTIVATION = "accounts.reactivate", "Reactivated an account"
    APPOINTMENT_SCHEDULE = "sessions.schedule", "Scheduled a session"
    APPOINTMENT_RESCHEDULE = "sessions.reschedule", "Rescheduled a session"
    APPOINTMENT_CANCEL = "sessions.cancel", "Cancelled a session"
    APPOINTMENT_LIST = "sessions.list", "Looked at a list of sessions"
    CALENDAR_FEED_CHANGE = "sessions.calendar_feed", "Made, renewed or turned off their calendar feed"
    SESSION_POLICY_CHANGE = "sessions.policy_change", "Changed the practice's session settings"
    BOOKING_SETTINGS_CHANGE = "sessions.booking_settings", "Changed their working hours or session types"
    WAITLIST_CHANGE = "sessions.waitlist", "Joined or left a waitlist for an earlier time"
    WAITLIST_TAKE = "sessions.waitlist_take", "Took an earlier time offered from the waitlist"
    FIRST_SESSION_REQUEST = "sessions.first_request", "Asked for a first session"
    FIRST_SESSION_ANSWER = "sessions.first_request_answer", "Answered a request for a first session"
    FIRST_SESSION_REQUESTS_VIEW = "sessions.first_requests_view", "Read the requests for a first session"
    LICENSES_CHANGE = "sessions.licenses_change", "Changed where they are licensed"
    VIDEO_CHECK_IN = "video.check_in", "Completed the pre-session check"
    VIDEO_CONNECTION_TEST = "video.connection_test", "Ran the connection test"
    VIDEO_JOIN = "video.join", "Joined a video session"
    VIDEO_ADMIT = "video.admit", "Admitted someone from the waiting room"
    VIDEO_REMOVE = "video.remove", "Removed someone from a session"
    VIDEO_LEAVE = "video.leave", "Left a video session"
    VIDEO_END = "video.end", "Ended a video session for everyone"
    VIDEO_REFUSED = "video.refused", "Was refused by the video session"
    CONSENT_DRAFT_SAVE = "consent.draft_save", "Saved a consent draft"
    CONSENT_PUBLISH = "consent.publish", "Published a consent document"
    CONSENT_SIGN = "consent.sign", "Signed a consent"
    CONSENT_WITHDRAW = "consent.withdraw", "Withdrew a consent"
    CONSENT_SIGNATURE_VIEW = "consent.signature_view", "Viewed a signed consent"
    CONSENT_REQUEST = "consent.request", "Asked for a signature"
    CONSENT_AGREEMENT_RECORD = "consent.agreement_record", "Recorded an agreement with a participant"
    CONSENT_AGREEMENT_VIEW = "consent.agreement_view", "Read the agreements with a participant"
    CONSENT_STATUS_VIEW = "consent.status_view", "Looked at consent status and signatures"
    CHART_VIEW = "records.chart_view", "Opened a chart"
    CHART_UPDATE = "records.chart_update", "Changed a chart"
    CHART_LIST = "records.chart_list", "Listed charts"
    NOTE_VIEW = "records.note_view", "Read a progress note"
    NOTE_LIST = "records.note_list", "Listed progress notes"
    NOTE_CREATE = "records.note_create", "Wrote a progress note"
    NOTE_UPDATE = "records.note_update", "Edited a progress note"
    NOTE_SIGN = "records.note_sign", "Signed a progress note"
    NOTE_ADDENDUM = "records.note_addendum", "Added an addendum"
    NOTE_SHARE = "records.note_share", "Shared a note with the client"
    NOTE_UNSHARE = "records.note_unshare", "Stopped sharing a note with the client"
    CONVERSATION_START = "messaging.start", "Started a conversation"
    CONVERSATION_VIEW = "messaging.view", "Read a conversation"
    MESSAGE_SEND = "messaging.send", "Sent a message"
    MESSAGE_EDIT = "messaging.edit", "Corrected a message"
    MESSAGE_RETRACT = "messaging.retract", "Retracted a message"
    MESSAGE_FILE = "messaging.file", "Filed a message into a note"
    DOCUMENT_UPLOAD = "records.document_upload", "Uploaded a document"
    DOCUMENT_DOWNLOAD = "records.document_download", "Downloaded a document"
    DOCUMENT_REMOVE = "records.document_remove", "Removed a document from view"
    DOCUMENT_REFUSED = "records.document_refused", "Had an upload refused"
    INTAKE_FORM_CHANGE = "intake.form_change", "Changed a draft intake form"
    INTAKE_FORM_PUBLISH = "intake.form_publish", "Published an intake form"
    INTAKE_SEND = "intake.send", "Sent an intake packet"
    INTAKE_SAVE = "intake.save", "Saved intake answers"
    INTAKE_SIGN = "intake.sign", "Signed an intake packet"
    INTAKE_VIEW = "intake.view", "Read intake answers"
    INTAKE_CONFIRM = "intake.confirm", "Confirmed intake answers into the chart's details"
    INTAKE_WITHDRAW = "intake.withdraw", "Withdrew an intake packet"
    INTAKE_REMIND = "intake.remind", "Reminded someone of an intake packet"
    ASSESSMENT_ASSIGN = "records.assessment_assign", "Assigned an assessment"
    ASSESSMENT_SUBMIT = "records.assessment_submit", "Completed an assessment"
    ASSESSMENT_VIEW = "records.assessment_view", "Read an assessment"
    BILLING_VIEW = "records.billing_view", "Read billing"
    BILLING_WRITE = "records.billing_write", "Changed billing"
    BILLING_SETTINGS_CHANGE = "records.billing_settings", "Changed the practice's services and fees"
    DIAGNOSIS_CHANGE = "records.diagnosis", "Added, reordered or resolved a diagnosis"
    DIAGNOSIS_VIEW = "records.diagnosis_view", "Read diagnoses"
    PAYMENT_RECORD = "billing.payment", "Recorded a payment"
    BALANCE_ADJUST = "billing.adjustment", "Adjusted or wrote off a balance"
    INVOICE_ISSUE = "billing.invoice", "Issued an invoice"
    COVERAGE_CHANGE = "billing.coverage", "Changed a client's insurance"
    CLAIM_CHANGE = "billing.claim", "Made an insurance claim or changed its state"
    PSYCHOTHERAPY_NOTE_VIEW = "records.psychotherapy_view", "Read their psychotherapy note"
    PSYCHOTHERAPY_NOTE_WRITE = "records.psychotherapy_write", "Wrote a psychotherapy note"
    EMERGENCY_ACCESS = "records.emergency_access", "Used emergency access"
    RECORD_EXPORT = "records.export", "Exported a record"
    KEY_ROTATION = "records.key_rotation", "Re-encrypted data under new keys"
    BACKUP_MADE = "audit.backup_made", "Made a sealed backup of both databases and the documents"
    DRILL_RUN = "audit.drill_run", "Ran a restore drill of the newest backup"
    RECORD_ACCESS_LOG_VIEW = "audit.record_access_view", "Looked at who opened a record"
    AUDIT_CONSOLE_VIEW = "audit.console_view", "Reviewed the audit log"
    AUDIT_EXPORT = "audit.export", "Exported the audit log"
    AUDIT_CLIENT_REPORT = "audit.client_report", "Printed a client's access report"
    AUDIT_FLAG_ACKNOWLEDGE = "audit.flag_acknowledge", "Acknowledged an alert"
    VENDOR_CHANGE = "practice.vendor_change", "Changed the vendor and BAA register"
    VENDOR_DOCUMENT_VIEW = "practice.vendor_document_view", "Opened a signed BAA"
    TRAINING_PUBLISH = "practice.training_publish", "Published a training module"
    TRAINING_ATTEST = "practice.training_attest", "Attested to a training module"
    RISK_ANALYSIS_FINAL = "practice.risk_analysis_final", "Signed off a security risk analysis"
    RISK_ANALYSIS_EDIT = "practice.risk_analysis_edit", "Changed a security risk analysis in progress"
    INCIDENT_REPORT = "incident.report", "Reported a privacy concern"
    INCIDENT_VIEW = "incident.view", "Opened a privacy incident"
    INCIDENT_UPDATE = "incident.update", "Worked on a privacy incident"
    INCIDENT_AFFECTED = "incident.affected", "Listed someone as affected by a privacy incident"
    INCIDENT_NOTICE = "incident.notice", "Sent or recorded a breach notice"
    INCIDENT_LOG_EXPORT = "incident.log_export", "Exported the yearly breach log"
    DEVICE_LOST = "auth.device_lost", "Reported a lost or stolen device"
    ACCESS_DENIED = "access.denied", "Was refused access"
    INTEGRITY_FAILURE = "data.integrity_failure", "Found altered encrypted data"


class Outcome(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    DENIED = "denied", "Denied"
    FAILED = "failed", "Failed"


SYSTEM_CHAIN = 0  # events that belong to no practice (e.g. a failed login for an unknown e-mail)
# Each practice writes to this many chains ("lanes"), numbered practice_id * LANES + lane, so
# concurrent writers need not queue behind one head row. A lone writer always uses lane 0.
# Fixed forever: changing it would renumber every chain.
LANES = 8


def chain_of(practice_id: int | None, lane: int = 0) -> int:
    return (practice_id or SYSTEM_CHAIN) * LANES + lane


def practice_of_chain(chain: int) -> int | None:
    return chain // LANES or None


GENESIS_MAC = "0" * 64


class AuditEvent(models.Model):
    chain = models.BigIntegerField(help_text="Practice id, or 0 for events outside any practice.")
    seq = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_role = models.CharField(max_length=64, blank=True)
    # Checked against Action in audit_record; no database choices, so a new action needs no migration.
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    subject_client_id = models.BigIntegerField(null=True, blank=True)
    practice_id = models.BigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    flagged = models.BooleanField(default=False, help_text="Needs an admin's attention (e.g. emergency access).")
    details = models.JSONField(default=dict, blank=True)
    key_id = models.CharField(max_length=32)
    prev_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_event_chain_seq")]
        indexes = [
            # Keyset pagination of the console walks (practice, id) backwards.
            models.Index(fields=["practice_id", "id"]),
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

    @property
    def action_label(self) -> str:
        if self.action == "restricted":
            return "Restricted (a therapist's private notes)"
        return str(Action(self.action).label) if self.action in Action.values else self.action


class AuditSubject(models.Model):
    """Each client an event is about, when it is about several (a list of sessions, of charts, of
    signatures): so that each of them finds it under "who opened my record". The event itself
    carries how many there were and a SHA-256 of their ids in its details, under its MAC.
    Append-only, like the event."""

    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="subjects")
    client_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["client_id", "event"])]

    def __str__(self) -> str:
        return f"event {self.event_id} about client {self.client_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Audit subjects are append-only and cannot be changed.")
        super().save(*args, **kwargs)


class AuditChainHead(models.Model):
    """The last sequence number and MAC of each chain; locked while an event is appended."""

    chain = models.BigIntegerField(primary_key=True)
    seq = models.BigIntegerField(default=0)
    mac = models.CharField(max_length=64, default=GENESIS_MAC)
    digest = models.CharField(max_length=64, default=GENESIS_MAC, help_text="Public SHA-256 chain head.")

    def __str__(self) -> str:
        return f"chain {self.chain} at #{self.seq}"


class AuditCheckpoint(models.Model):
    """A signed statement that a chain had reached this event with this MAC. Append-only.

    Signed with an Ed25519 key: anyone holding the public key can check it, and someone who
    rewrites the tail of the log (recomputing every MAC) cannot forge it.
    """

    chain = models.BigIntegerField()
    seq = models.BigIntegerField()
    head_mac = models.CharField(max_length=64)
    head_digest = models.CharField(max_length=64, default="")
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=32)
    signature = models.CharField(max_length=128)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="checkpoint_chain_seq")]
        ordering = ["chain", "-seq"]

    def __str__(self) -> str:
        return f"checkpoint of chain {self.chain} at #{self.seq}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Checkpoints are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Checkpoints are append-only.")


class AlertRules(models.Model):
    """Per-practice thresholds for the anomaly rules."""

    practice = models.OneToOneField("accounts.Practice", on_delete=models.CASCADE, related_name="alert_rules")
    charts_per_hour = models.PositiveIntegerField(
        default=15, help_text="Distinct charts one person may open in an hour."
    )
    denied_per_hour = models.PositiveIntegerField(default=5, help_text="Refusals for one person in an hour.")
    day_starts = models.PositiveSmallIntegerField(default=7, help_text="Practice hours start (local hour).")
    day_ends = models.PositiveSmallIntegerField(default=20, help_text="Practice hours end (local hour).")

    class Meta:
        verbose_name = "alert rules"
        verbose_name_plural = "alert rules"

    def __str__(self) -> str:
        return f"alert rules of {self.practice_id}"


class FlagRule(models.TextChoices):
    MANY_CHARTS = "many_charts", "Opened many charts in an hour"
    EMERGENCY_ACCESS = "emergency_access", "Used emergency access"
    REPEATED_DENIALS = "repeated_denials", "Was refused repeatedly"
    OUTSIDE_HOURS = "outside_hours", "Opened records outside practice hours"
    VERIFICATION_FAILED = "verification_failed", "The audit log failed verification"
    WITNESS_UNREACHABLE = "witness_unreachable", "The off-host audit witness could not be reached"
    BACKUP_FAILED = "backup_failed", "A backup failed or is overdue"
    DRILL_FAILED = "drill_failed", "A restore drill failed"


class AuditFlag(models.Model):
    """Something for an admin to look at. Append-only: acknowledging adds a row, never edits this one."""

    practice_id = models.BigIntegerField(null=True, blank=True)
    rule = models.CharField(max_length=32, choices=FlagRule.choices)
    key = models.CharField(max_length=128, unique=True, help_text="Rule, subject and hour: one flag per finding.")
    actor_id = models.BigIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=300)
    first_event_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.summary


class AuditFlagAcknowledgement(models.Model):
    flag = models.OneToOneField(AuditFlag, on_delete=models.PROTECT, related_name="acknowledgement")
    admin_id = models.BigIntegerField()
    # What the admin found or did, which may be about a client: sealed, bound to the flag.
    note = EncryptedTextField(blank=True, null=True, aad_field="flag_id")
    acknowledged_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"acknowledgement of {self.flag_id}"


class WitnessLane(models.Model):
    """How far one chain has been delivered to the off-host witness (audit/witness.py).

    Moved forward only after the witness acknowledged a batch, so delivery is at-least-once: a
    batch cut off by an outage is sent again, whole, when the witness returns."""

    chain = models.BigIntegerField(primary_key=True)
    event_seq = models.BigIntegerField(default=0, help_text="Events up to this one were delivered.")
    checkpoint_seq = models.BigIntegerField(default=0, help_text="The newest checkpoint delivered.")
    delivered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"chain {self.chain} witnessed to #{self.event_seq}"


class WitnessOutage(models.Model):
    """A time the witness could not be reached; open until a delivery succeeds again."""

    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    last_error = models.CharField(max_length=300, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"witness outage from {self.started_at:%Y-%m-%d %H:%M}"


class VerificationRun(models.Model):
    """One verification of the audit trail (the beat task's, or ``audit_verify``'s). Append-only:
    what the privacy fact sheet reports as the last check and its result."""

    finished_at = models.DateTimeField()
    full = models.BooleanField(default=False, help_text="Every event from the first, not only the new ones.")
    chains = models.PositiveIntegerField()
    events = models.BigIntegerField()
    failed_chains = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-finished_at"]
        indexes = [models.Index(fields=["finished_at"])]

    def __str__(self) -> str:
        return f"verification of {self.finished_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Verification runs are append-only.")
        super().save(*args, **kwargs)

    @property
    def intact(self) -> bool:
        return not self.failed_chains
