"""Intake packets. A practice's forms are versioned like its consent documents (a published
version never changes); a packet is the list of forms, consent documents and questionnaires a
therapist sends a client before the first session. Answers are sealed with the key ring, bound to
their packet item, and filed into the chart when the packet is signed."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils import timezone

from consent.models import VersionStatus
from teletherapy.fields import EncryptedTextField


class FormPurpose(models.TextChoices):
    CUSTOM = "custom", "The practice's own form"
    DEMOGRAPHICS = "demographics", "Demographics"
    HISTORY = "history", "History"
    EMERGENCY_CONTACT = "emergency_contact", "Emergency contact"
    INSURANCE = "insurance", "Insurance"


class IntakeForm(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="intake_forms")
    title = models.CharField(max_length=200)
    purpose = models.CharField(max_length=32, choices=FormPurpose.choices, default=FormPurpose.CUSTOM)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class IntakeFormVersion(models.Model):
    """One version of a form's fields. Publishing freezes it; answers name the version they answer."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    form = models.ForeignKey(IntakeForm, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    fields = models.TextField(default="[]", help_text="The fields, as JSON (intake.schema).")
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    created_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["form", "number"], name="intake_version_number_once")]
        ordering = ["form", "-number"]

    def __str__(self) -> str:
        return f"{self.form} v{self.number} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Behind the service: a published version's fields cannot be saved anew.
        if not self._state.adding:
            stored = type(self).objects.filter(pk=self.pk).values("status", "fields").first()
            if stored and stored["status"] != VersionStatus.DRAFT and stored["fields"] != self.fields:
                raise PermissionError("A published intake form cannot be changed.")
        super().save(*args, **kwargs)


class IntakePacket(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    chart = models.ForeignKey("records.ClientChart", on_delete=models.PROTECT, related_name="intake_packets")
    sent_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    typed_name = models.CharField(max_length=150, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    reminders = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"intake packet {self.id}"

    @property
    def outstanding(self) -> bool:
        return self.signed_at is None and self.withdrawn_at is None


class ItemKind(models.TextChoices):
    FORM = "form", "Form"
    CONSENT = "consent", "Consent document"
    QUESTIONNAIRE = "questionnaire", "Questionnaire"


class PacketItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    packet = models.ForeignKey(IntakePacket, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=ItemKind.choices)
    form_version = models.ForeignKey(
        IntakeFormVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consent_document = models.ForeignKey(
        "consent.ConsentDocument", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assessment = models.ForeignKey(
        "records.Assessment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answers = EncryptedTextField(blank=True, default="", help_text="A form's answers, as JSON.")
    read_confirmed = models.BooleanField(default=False, help_text="A consent document: ticked as read.")
    saved_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    filed_at = models.DateTimeField(null=True, blank=True)
    details_confirmed_at = models.DateTimeField(null=True, blank=True)
    details_confirmed_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["packet", "position"]
        constraints = [models.UniqueConstraint(fields=["packet", "position"], name="packet_position_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.position} of {self.packet_id}"
