"""What the privacy fact sheet has said, and since when (compliance/services/factsheet.py)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils import timezone

from teletherapy.fields import EncryptedTextField


class FactChange(models.Model):
    """A computed fact about the platform took a new value: appended, never edited. The first
    entry of a fact is when the fact sheet first stated it."""

    practice_id = models.BigIntegerField()
    key = models.CharField(max_length=64)
    label = models.CharField(max_length=200)
    value = models.TextField()
    previous = models.TextField(blank=True)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["practice_id", "key", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.key} of {self.practice_id} at {self.changed_at:%Y-%m-%d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("The fact sheet's history is append-only.")
        super().save(*args, **kwargs)

    @property
    def first_statement(self) -> bool:
        return not self.previous


class Vendor(models.Model):
    """A company whose service handles the practice's client data, and its Business Associate
    Agreement. The signed agreement itself is kept sealed at rest."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="vendors")
    name = models.CharField(max_length=200)
    service = models.CharField(max_length=200, help_text="What it does for the practice.")
    data_touched = models.CharField(max_length=300, help_text="Which client data it handles.")
    data_location = models.CharField(max_length=200, blank=True, help_text="Where it keeps or handles the data.")
    baa_signed_on = models.DateField(null=True, blank=True)
    baa_expires_on = models.DateField(null=True, blank=True)
    # The signed agreement (base64 of the uploaded file), sealed and bound to this vendor.
    baa_document = EncryptedTextField(blank=True, default="")
    baa_document_name = models.CharField(max_length=200, blank=True)
    baa_document_type = models.CharField(max_length=100, blank=True)
    baa_document_size = models.PositiveIntegerField(default=0)
    baa_document_sha256 = models.CharField(max_length=64, blank=True)
    from_configuration = models.CharField(
        max_length=64, blank=True, help_text="The platform component it was added from, if any."
    )
    reminded_for = models.DateField(null=True, blank=True, help_text="The expiry date a reminder went out for.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "from_configuration"],
                condition=~models.Q(from_configuration=""),
                name="one_vendor_per_component",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def baa_state(self, today: Any = None) -> str:
        """'signed', 'expiring' (within 30 days), 'expired' or 'none'."""
        today = today or timezone.localdate()
        if self.baa_signed_on is None:
            return "none"
        if self.baa_expires_on is None:
            return "signed"
        if self.baa_expires_on < today:
            return "expired"
        if (self.baa_expires_on - today).days <= 30:
            return "expiring"
        return "signed"


class FactChangeReconsent(models.Model):
    """An admin judged a change of the fact sheet to need the clients' consent again: the privacy
    notice was republished with it, requiring re-consent. Append-only."""

    change = models.OneToOneField(FactChange, on_delete=models.PROTECT, related_name="reconsent")
    version_id = models.UUIDField(help_text="The privacy notice version published for it.")
    version_number = models.PositiveIntegerField()
    admin_id = models.BigIntegerField()
    asked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"re-consent for {self.change_id}"


class TrainingEnforcement(models.TextChoices):
    WARN = "warn", "Remind them, and show it on the admins' home page"
    BLOCK = "block", "Keep them out of clinical records until they attest"


class TrainingPolicy(models.Model):
    practice = models.OneToOneField("accounts.Practice", on_delete=models.CASCADE, related_name="training_policy")
    enforcement = models.CharField(max_length=8, choices=TrainingEnforcement.choices, default=TrainingEnforcement.WARN)
    grace_days = models.PositiveSmallIntegerField(default=30, help_text="Days new staff have for a new module.")

    class Meta:
        verbose_name_plural = "training policies"

    def __str__(self) -> str:
        return f"training policy of {self.practice_id}"


class TrainingModule(models.Model):
    """A workforce training text, versioned like a consent document."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="training_modules")
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class TrainingVersion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    module = models.ForeignKey(TrainingModule, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    body = models.TextField()
    body_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, default="draft")  # draft, published, superseded
    published_at = models.DateTimeField(null=True, blank=True)
    published_by_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["module", "-number"]
        constraints = [models.UniqueConstraint(fields=["module", "number"], name="training_version_number")]

    def __str__(self) -> str:
        return f"{self.module_id} v{self.number}"


class TrainingAttestation(models.Model):
    """A staff member read this version and said so. Append-only."""

    version = models.ForeignKey(TrainingVersion, on_delete=models.PROTECT, related_name="attestations")
    user_id = models.BigIntegerField()
    practice_id = models.BigIntegerField()
    typed_name = models.CharField(max_length=150)
    attested_at = models.DateTimeField()

    class Meta:
        ordering = ["-attested_at"]
        indexes = [models.Index(fields=["user_id", "attested_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} attested {self.version_id}"


class RiskAssessment(models.Model):
    """One version of the practice's security risk analysis (45 CFR 164.308(a)(1)(ii)(A)). A
    draft while it is worked on; final once an admin signs it off, with its report kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="risk_assessments")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finalized_at = models.DateTimeField(null=True, blank=True)
    finalized_by_id = models.BigIntegerField(null=True, blank=True)
    report_pdf = models.TextField(blank=True, help_text="The signed-off report (base64 PDF).")
    report_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["practice", "number"], name="risk_assessment_number")]

    def __str__(self) -> str:
        return f"risk analysis {self.number} of {self.practice_id}"

    @property
    def final(self) -> bool:
        return self.finalized_at is not None


class RiskAsset(models.Model):
    assessment = models.ForeignKey(RiskAssessment, on_delete=models.CASCADE, related_name="assets")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=100)
    location = models.CharField(max_length=200, blank=True)
    from_configuration = models.BooleanField(default=False)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class RiskItem(models.Model):
    """A threat, how likely and how bad it is, and what the practice does about it: a line of
    the risk register."""

    assessment = models.ForeignKey(RiskAssessment, on_delete=models.CASCADE, related_name="risks")
    threat = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    likelihood = models.PositiveSmallIntegerField(default=3, help_text="1 (rare) to 5 (almost certain).")
    impact = models.PositiveSmallIntegerField(default=3, help_text="1 (negligible) to 5 (severe).")
    owner_id = models.BigIntegerField(null=True, blank=True)
    plan = models.TextField(blank=True)
    due_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["threat"]

    def __str__(self) -> str:
        return self.threat

    @property
    def score(self) -> int:
        return self.likelihood * self.impact

    @property
    def level(self) -> str:
        return "high" if self.score >= 15 else "medium" if self.score >= 8 else "low"


class IncidentSource(models.TextChoices):
    CLIENT = "client", "Reported by a client or guardian"
    STAFF = "staff", "Reported by staff"
    ANOMALY = "anomaly", "An anomaly alert"
    VERIFICATION = "verification", "A failed audit verification"
    LOST_DEVICE = "lost_device", "A lost or stolen device"


class Incident(models.Model):
    """A suspected privacy incident (45 CFR 164.400-414), as first reported. Never changed: what
    happens to it afterwards (triage, who was affected, notices, closing and reopening) is
    appended as entries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="incidents")
    number = models.PositiveIntegerField()
    source = models.CharField(max_length=16, choices=IncidentSource.choices)
    reported_at = models.DateTimeField()
    reporter = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="incidents_reported"
    )
    reporter_role = models.CharField(max_length=16, blank=True)
    flag_id = models.BigIntegerField(null=True, blank=True, help_text="The alert it was opened from.")
    happened_on = models.DateField(null=True, blank=True, help_text="When it happened, as the reporter says.")
    # What the reporter wrote, which may be about a client: sealed, bound to this incident.
    summary = EncryptedTextField()

    class Meta:
        ordering = ["-reported_at"]
        constraints = [models.UniqueConstraint(fields=["practice", "number"], name="incident_number")]
        indexes = [models.Index(fields=["reporter", "reported_at"])]

    def __str__(self) -> str:
        return f"incident {self.number} of {self.practice_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Incidents are append-only: add an entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Incidents are append-only and kept for at least six years.")


class EntryKind(models.TextChoices):
    ACKNOWLEDGED = "acknowledged", "Report received"
    MESSAGE = "message", "Message"
    TRIAGE = "triage", "Triage"
    AFFECTED = "affected", "Affected person"
    LETTER = "letter", "Notice letter"
    DELAY = "delay", "Law-enforcement delay"
    NOTICE = "notice", "Notice sent"
    REMINDER = "reminder", "Deadline reminder"
    CLOSED = "closed", "Closed"
    REOPENED = "reopened", "Reopened"


class IncidentEntry(models.Model):
    """One step in an incident's life. Append-only: the incident's state is what its entries add
    up to, and its history is all of them (compliance/services/incidents.py folds them)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    at = models.DateTimeField()
    by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="incident_entries"
    )
    # Dates, choices and counts; nothing a client wrote or anything about their health.
    data = models.JSONField(default=dict, blank=True)
    # Free text (reasons, messages, a letter), sealed and bound to the incident.
    text = EncryptedTextField(blank=True, default="", aad_field="incident_id")

    class Meta:
        verbose_name_plural = "incident entries"
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "kind", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.incident_id} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("Incident entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("Incident entries are append-only and kept for at least six years.")
