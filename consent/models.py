"""Consent as a provable record: versioned documents, append-only signatures and withdrawals."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.utils import timezone

from teletherapy.fields import EncryptedTextField


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", "Consent to treatment"
    TELEHEALTH = "telehealth", "Consent to telehealth technology"
    COUPLES_AGREEMENT = "couples_agreement", "Couples and family confidentiality agreement"
    GUARDIAN = "guardian", "Guardian consent for a minor"
    PRIVACY = "privacy", "Privacy notice"


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"


class ConsentDocument(models.Model):
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="consent_documents")
    kind = models.CharField(max_length=32, choices=ConsentKind.choices)
    title = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "kind"], name="one_document_per_kind")]
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.title


class ConsentVersion(models.Model):
    """One version of a document's text. Publishing freezes it: text and hash never change again."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    body = models.TextField(help_text="Markdown; raw HTML is shown as text.")
    body_sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    requires_reconsent = models.BooleanField(
        default=True, help_text="Whether people who signed an earlier version must sign this one."
    )
    # Signatures on this version number or later satisfy the document while this version is current.
    valid_from_number = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "number"], name="version_number_once")]
        ordering = ["document", "-number"]

    def __str__(self) -> str:
        return f"{self.document} v{self.number} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Last line of defence behind the service: a frozen version's text cannot be saved anew.
        if not self._state.adding:
            stored = type(self).objects.filter(pk=self.pk).values("status", "body", "body_sha256").first()
            if (
                stored
                and stored["status"] != VersionStatus.DRAFT
                and (stored["body"] != self.body or stored["body_sha256"] != self.body_sha256)
            ):
                raise PermissionError("A published consent text cannot be changed.")
        super().save(*args, **kwargs)


class ConsentSignature(models.Model):
    """Append-only (database triggers): someone signed a specific published version."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, related_name="signatures")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="signatures")
    kind = models.CharField(max_length=32, choices=ConsentKind.choices)
    signer = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="consent_signatures_given")
    on_behalf_of = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="consent_signatures")
    typed_name = models.CharField(max_length=150)
    version_number = models.PositiveIntegerField()
    version_sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)

    class Meta:
        ordering = ["-signed_at"]
        indexes = [models.Index(fields=["on_behalf_of", "kind", "signed_at"])]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version_number} for {self.on_behalf_of_id} by {self.signer_id}"


class ConsentWithdrawal(models.Model):
    """Append-only: a signature stops counting from this moment on."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    signature = models.OneToOneField(ConsentSignature, on_delete=models.PROTECT, related_name="withdrawal")
    withdrawn_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    reason = EncryptedTextField(blank=True, null=True)  # why, in the person's words: sealed; None if none given
    withdrawn_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)

    def __str__(self) -> str:
        return f"withdrawal of {self.signature_id}"


class ConsentRequest(models.Model):
    """A care-team member asked a client (or guardian) to review and sign a document."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="consent_requests")
    document = models.ForeignKey(ConsentDocument, on_delete=models.CASCADE, related_name="requests")
    requested_by = models.ForeignKey("accounts.User", null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=32, default="requested")
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"request to {self.client_id} for {self.document_id}"


class ParticipantAgreement(models.Model):
    """What a therapist agreed with one member of a couple or family, recorded per person."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="participant_agreements")
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    text = EncryptedTextField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"agreement with {self.client_id}"
