"""Money: what a client has paid and what was forgiven, the invoices and claims made of their
charges, and the insurance a claim is sent to. The charges themselves are the chart's billing
records (records.BillingRecord); a charge counts towards a balance once it is no longer a draft
and not void. Nothing here is ever deleted or rewritten: a payment taken in error is answered by
an adjustment, so every balance can be retold from its rows."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from teletherapy.fields import EncryptedTextField


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    CARD = "card", "Card, taken elsewhere"
    INSURANCE = "insurance", "Insurance payment"


class Payment(models.Model):
    """Money received for a client's account, recorded by hand. ``reference`` is the card
    processor's, the cheque's number or the insurer's remittance reference (sealed: it can lead to
    the person)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chart = models.ForeignKey("records.ClientChart", on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    reference = EncryptedTextField(blank=True, default="")
    received_on = models.DateField()
    claim = models.ForeignKey("Claim", null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_on", "-recorded_at"]
        indexes = [models.Index(fields=["chart", "received_on"])]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_positive")]

    def __str__(self) -> str:
        return f"{self.method} payment {self.id}"


class AdjustmentKind(models.TextChoices):
    ADJUSTMENT = "adjustment", "Adjustment"
    WRITE_OFF = "write_off", "Write-off"


class Adjustment(models.Model):
    """A change to a balance that is not money received, with its reason (sealed): a write-off
    of what will not be collected (always lowers it), or an adjustment either way (a courtesy
    discount lowers it, a refund handed back raises it; ``amount`` is what it takes off)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chart = models.ForeignKey("records.ClientChart", on_delete=models.PROTECT, related_name="adjustments")
    kind = models.CharField(max_length=16, choices=AdjustmentKind.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    reason = EncryptedTextField()
    made_on = models.DateField()
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-made_on", "-recorded_at"]
        indexes = [models.Index(fields=["chart", "made_on"])]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="adjustment_not_zero"),
            models.CheckConstraint(
                condition=~models.Q(kind="write_off") | models.Q(amount__gt=0), name="write_off_lowers"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class Invoice(models.Model):
    """A bill for some of a client's charges, numbered in the practice's own sequence."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="invoices")
    chart = models.ForeignKey("records.ClientChart", on_delete=models.PROTECT, related_name="invoices")
    number = models.PositiveIntegerField()
    issued_on = models.DateField()
    due_on = models.DateField()
    total = models.DecimalField(max_digits=10, decimal_places=2)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-issued_on", "-number"]
        constraints = [models.UniqueConstraint(fields=["practice", "number"], name="invoice_number_once")]

    def __str__(self) -> str:
        return f"invoice {self.number}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    charge = models.OneToOneField("records.BillingRecord", on_delete=models.PROTECT, related_name="invoice_line")

    def __str__(self) -> str:
        return f"{self.charge_id} on {self.invoice_id}"


class Coverage(models.Model):
    """A client's health insurance, as a claim names it: the payer and its id (public facts), the
    member and group numbers (sealed). The client is the insured (relationship "self")."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chart = models.OneToOneField("records.ClientChart", on_delete=models.PROTECT, related_name="coverage")
    payer_name = models.CharField(max_length=60)
    payer_id = models.CharField(max_length=20)
    member_id = EncryptedTextField()
    group_number = EncryptedTextField(blank=True, default="")
    sex = models.CharField(max_length=1, default="U", help_text="As the payer has it: F, M or U (unknown).")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "coverages"

    def __str__(self) -> str:
        return f"coverage of {self.chart_id}"


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    PAID = "paid", "Paid"
    DENIED = "denied", "Denied"


class Claim(models.Model):
    """A claim to the client's insurer for some of their charges, its state kept by hand: when it
    was sent, accepted, paid or denied, what the payer paid, and the payer's own reference."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="claims")
    chart = models.ForeignKey("records.ClientChart", on_delete=models.PROTECT, related_name="claims")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    paid_amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    payer_reference = EncryptedTextField(blank=True, default="")
    note = EncryptedTextField(blank=True, default="", help_text="A denial's reason, say.")
    sent_on = models.DateField(null=True, blank=True)
    accepted_on = models.DateField(null=True, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    denied_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["practice", "number"], name="claim_number_once")]

    def __str__(self) -> str:
        return f"claim {self.number}"


class ClaimLine(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="lines")
    charge = models.ForeignKey("records.BillingRecord", on_delete=models.PROTECT, related_name="claim_lines")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["claim", "charge"], name="claim_line_once")]

    def __str__(self) -> str:
        return f"{self.charge_id} on {self.claim_id}"


class StatementNotice(models.Model):
    """That a client was told their month's statement is ready: once per account and month."""

    chart = models.ForeignKey("records.ClientChart", on_delete=models.CASCADE, related_name="statement_notices")
    month = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chart", "month"], name="statement_notice_once")]

    def __str__(self) -> str:
        return f"statement notice of {self.chart_id} for {self.month:%Y-%m}"
