"""Secure messages between a client (or a minor's guardian) and their care team.

A conversation is individual (one client) or joint (a couple's, with both partners); its
members are the clients and the therapists addressed, each with when they last read it. A
message's body is sealed with the key ring, bound to the message. Messages are never deleted:
an edit (within a short window) keeps what it replaced, and a retracted message stays in the
record, shown as retracted.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from teletherapy.fields import EncryptedTextField


class ConversationKind(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    JOINT = "joint", "Joint (a couple's)"


class MemberRole(models.TextChoices):
    CLIENT = "client", "Client"
    THERAPIST = "therapist", "Therapist"
    GUARDIAN = "guardian", "Guardian"


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice_id = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=12, choices=ConversationKind.choices)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_message_at"]

    def __str__(self) -> str:
        return f"{self.kind} conversation {self.id}"


class ConversationMember(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="members")
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="conversation_memberships")
    role = models.CharField(max_length=12, choices=MemberRole.choices)
    last_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "user"], name="conversation_member_once")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.PROTECT, related_name="messages")
    sender = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    body = EncryptedTextField(help_text="Sealed, bound to this message.")
    attachment_id = models.UUIDField(null=True, blank=True, help_text="A records.ChartDocument.")
    sent_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    retracted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sent_at"]
        indexes = [models.Index(fields=["conversation", "sent_at"])]

    def __str__(self) -> str:
        return f"message {self.id}"


class MessageRevision(models.Model):
    """What an edit replaced: kept, since the message was part of the record when it was sent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="revisions")
    body = EncryptedTextField()
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["replaced_at"]

    def __str__(self) -> str:
        return f"revision of {self.message_id}"
