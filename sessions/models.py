"""Appointments. The video call itself (waiting room, signaling) builds on these."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class AppointmentKind(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    COUPLE = "couple", "Couple"
    FAMILY = "family", "Family"


class AppointmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"
    ENDED = "ended", "Ended"


class Appointment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="appointments")
    therapist = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="appointments_led")
    kind = models.CharField(max_length=16, choices=AppointmentKind.choices, default=AppointmentKind.INDIVIDUAL)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.SCHEDULED)
    clients = models.ManyToManyField("accounts.User", through="AppointmentParticipant", related_name="appointments")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["practice", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} session at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_joint(self) -> bool:
        return self.kind in (AppointmentKind.COUPLE, AppointmentKind.FAMILY)


class AppointmentParticipant(models.Model):
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="participants")
    client = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["appointment", "client"], name="participant_once")]

    def __str__(self) -> str:
        return f"{self.client_id} in {self.appointment_id}"
