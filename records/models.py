"""Clinical records. Every clinical or identifying value is sealed with the key ring, bound to its
row and field; psychotherapy notes live in their own database under their own key family."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from teletherapy.fields import EncryptedTextField


class ClientChart(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="charts")
    client = models.OneToOneField("accounts.User", on_delete=models.PROTECT, related_name="chart")
    care_team = models.ManyToManyField("accounts.User", related_name="care_charts", blank=True)
    is_minor = models.BooleanField(default=False)
    guardian_sees_notes = models.BooleanField(
        default=False, help_text="Laws differ by state: whether a guardian may read shared notes and assessments."
    )
    date_of_birth = EncryptedTextField(blank=True, default="")
    date_of_birth_index = models.CharField(max_length=64, blank=True, db_index=True)
    phone = EncryptedTextField(blank=True, default="")
    address = EncryptedTextField(blank=True, default="")
    emergency_contact = EncryptedTextField(blank=True, default="")
    intake = EncryptedTextField(blank=True, default="", help_text="Intake questionnaire answers, as JSON.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"chart of {self.client_id}"


class AssessmentKind(models.TextChoices):
    PHQ9 = "phq9", "PHQ-9 (depression)"
    GAD7 = "gad7", "GAD-7 (anxiety)"


class Assessment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chart = models.ForeignKey(ClientChart, on_delete=models.PROTECT, related_name="assessments")
    kind = models.CharField(max_length=8, choices=AssessmentKind.choices)
    assigned_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    answers = EncryptedTextField(blank=True, default="", help_text="Item answers, as JSON.")
    result = EncryptedTextField(blank=True, default="", help_text="Score, severity and alert, as JSON.")

    class Meta:
        ordering = ["-assigned_at"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.chart_id}"


class NoteTemplate(models.TextChoices):
    SOAP = "soap", "SOAP (subjective, objective, assessment, plan)"
    DAP = "dap", "DAP (data, assessment, plan)"
    BIRP = "birp", "BIRP (behaviour, intervention, response, plan)"


class ProgressNote(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chart = models.ForeignKey(ClientChart, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    template = models.CharField(max_length=8, choices=NoteTemplate.choices)
    service_date = models.DateField(default=timezone.localdate, help_text="The day the care was given.")
    session_id = models.UUIDField(
        null=True, blank=True, db_index=True, help_text="The session this note documents (a video.Appointment)."
    )
    minutes = models.PositiveSmallIntegerField(null=True, blank=True, help_text="How long the session lasted.")
    body = EncryptedTextField(help_text="Sections as JSON.")
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every save; a stale edit is refused.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)
    shared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["chart", "created_at"])]

    def __str__(self) -> str:
        return f"{self.template} note {self.id}"


class NoteAddendum(models.Model):
    """After signing, a note changes only by signed addenda."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    note = models.ForeignKey(ProgressNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    body = EncryptedTextField()
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "note addenda"
        ordering = ["signed_at"]

    def __str__(self) -> str:
        return f"addendum to {self.note_id}"


class DocumentKind(models.TextChoices):
    """What an upload may be, decided from its content (never its name or declared type)."""

    PDF = "pdf", "PDF document"
    PNG = "png", "PNG image"
    JPEG = "jpeg", "JPEG image"
    WEBP = "webp", "WebP image"


class ChartDocument(models.Model):
    """A file on a chart: a prior record, an insurance card, a worksheet. The bytes are sealed
    with the key ring before they reach the store (``stored_as``); the sealed stream's header
    names this document and chart, so a file moved to another record does not open there.
    Removing one hides it and keeps it, like a note."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chart = models.ForeignKey(ClientChart, on_delete=models.PROTECT, related_name="documents")
    uploaded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    name = EncryptedTextField(help_text="The file's name as uploaded (sealed: names say things).")
    kind = models.CharField(max_length=8, choices=DocumentKind.choices)
    size = models.PositiveBigIntegerField(help_text="Bytes, as stored after checks (metadata stripped).")
    sha256 = models.CharField(max_length=64, help_text="Of the stored plaintext, to check a download.")
    stored_as = models.CharField(max_length=200, unique=True)
    shared_with_client = models.BooleanField(
        default=True, help_text="Whether the client (and a guardian the chart allows) sees it."
    )
    scanned = models.BooleanField(default=False, help_text="Whether a virus scanner passed it.")
    uploaded_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-uploaded_at"]
        indexes = [models.Index(fields=["chart", "uploaded_at"])]

    def __str__(self) -> str:
        return f"{self.kind} document {self.id}"


class BillingStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class BillingRecord(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chart = models.ForeignKey(ClientChart, on_delete=models.PROTECT, related_name="billing")
    service_date = models.DateField()
    cpt_code = models.CharField(max_length=5)
    diagnosis_codes = EncryptedTextField(help_text="ICD-10-CM codes, comma-separated.")
    fee = models.DecimalField(max_digits=8, decimal_places=2)
    status = models.CharField(max_length=16, choices=BillingStatus.choices, default=BillingStatus.DRAFT)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # A charge drafted from a session (sessions.services.charges): which one, the minutes the
    # client was connected, the telehealth modifier and the place of service; units of the code.
    appointment_id = models.UUIDField(null=True, blank=True, db_index=True)
    minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    modifier = models.CharField(max_length=2, blank=True, default="")
    place_of_service = models.CharField(max_length=2, blank=True, default="")
    units = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["-service_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["chart", "appointment_id", "cpt_code"],
                condition=models.Q(appointment_id__isnull=False),
                name="one_charge_per_code_per_session",
            )
        ]

    def __str__(self) -> str:
        return f"{self.cpt_code} on {self.service_date}"


class ChartDiagnosis(models.Model):
    """A diagnosis on a chart: an ICD-10-CM code (records.diagnoses), sealed at rest, in the order
    the therapist gives them (the first is the primary), from the day it was made to the day it
    was resolved. A charge takes the diagnoses in force on its date of service."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chart = models.ForeignKey(ClientChart, on_delete=models.PROTECT, related_name="diagnoses")
    code = EncryptedTextField()
    position = models.PositiveSmallIntegerField(default=0)
    noted_on = models.DateField()
    resolved_on = models.DateField(null=True, blank=True)
    added_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "chart diagnoses"
        ordering = ["position", "created_at"]

    def __str__(self) -> str:
        return f"diagnosis {self.pk} on chart {self.chart_id}"


class ServiceCode(models.Model):
    """A service the practice bills (records.billing_codes.CATALOG), with its fee."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="service_codes")
    code = models.CharField(max_length=5)
    description = models.CharField(max_length=120)
    fee = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["practice", "code"], name="service_code_once")]

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class BillingIdentity(models.Model):
    """Who bills: the practice (``therapist`` empty) or one of its therapists, with the identifiers
    a superbill and a claim carry. The NPI and taxonomy are public registry facts; the tax id (a
    solo therapist's may be their Social Security number), licence and address are sealed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="billing_identities")
    therapist = models.OneToOneField(
        "accounts.User", null=True, blank=True, on_delete=models.CASCADE, related_name="billing_identity"
    )
    npi = models.CharField(max_length=10, blank=True, default="")
    taxonomy = models.CharField(max_length=10, blank=True, default="")
    tax_id = EncryptedTextField(blank=True, default="")
    licence = EncryptedTextField(blank=True, default="")
    address = EncryptedTextField(blank=True, default="")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "billing identities"
        constraints = [
            models.UniqueConstraint(
                fields=["practice"], condition=models.Q(therapist__isnull=True), name="one_practice_identity"
            )
        ]

    def __str__(self) -> str:
        return f"billing identity of {self.therapist_id or 'practice'} in {self.practice_id}"


class TherapistFee(models.Model):
    """A therapist's own fee for a service, over the practice's."""

    therapist = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="service_fees")
    service = models.ForeignKey(ServiceCode, on_delete=models.CASCADE, related_name="therapist_fees")
    fee = models.DecimalField(max_digits=8, decimal_places=2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["therapist", "service"], name="therapist_fee_once")]

    def __str__(self) -> str:
        return f"{self.therapist_id}: {self.service_id} at {self.fee}"


class PsychotherapyNote(models.Model):
    """Stored apart: its own database alias and its own key family. No foreign keys leave it."""

    stored_apart = "psychotherapy"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice_id = models.BigIntegerField()
    chart_id = models.UUIDField(db_index=True)
    author_id = models.BigIntegerField(db_index=True)
    body = EncryptedTextField(purpose="psychotherapy")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"psychotherapy note {self.id}"


class EmergencyAccess(models.Model):
    """A therapist outside the care team opened a chart's general record, for a stated reason."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chart = models.ForeignKey(ClientChart, on_delete=models.PROTECT, related_name="emergency_accesses")
    therapist = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    reason = EncryptedTextField()
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "emergency accesses"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"emergency access to {self.chart_id} by {self.therapist_id}"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class RecordExport(models.Model):
    """A client's copy of their record (right of access), built by a Celery task."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chart = models.ForeignKey(ClientChart, on_delete=models.PROTECT, related_name="exports")
    requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    payload = EncryptedTextField(blank=True, default="", help_text="The export as JSON, sealed.")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export of {self.chart_id} ({self.status})"
