"""Close signaling sockets when what let them in stops holding."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.utils import timezone

from accounts.signals import login_sessions_ended
from consent.signals import consent_withdrawn
from messaging.signals import message_arrived
from records.selectors import clinical_readers
from records.signals import questionnaire_needs_attention
from sessions.models import Appointment, AppointmentStatus
from sessions.realtime import CloseCode, close_group, login_group, presence_group, push, room_group, user_group


@receiver(user_logged_out)
def close_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        close_group(login_group(key), CloseCode.SIGNED_OUT, "signed_out")


@receiver(login_sessions_ended)
def close_on_sessions_ended(sender: Any, user: Any, session_keys: list[str], reason: str, **kwargs: Any) -> None:
    for key in session_keys:
        close_group(login_group(key), CloseCode.SIGNED_OUT, "signed_out")
    if not user.is_active:
        close_group(user_group(user.pk), CloseCode.SIGNED_OUT, "deactivated")


@receiver(consent_withdrawn)
def close_on_consent_withdrawn(sender: Any, client: Any, kind: str, **kwargs: Any) -> None:
    # One partner's withdrawal stops a couples session for everyone in it.
    rooms = Appointment.objects.filter(
        participants__client=client, status=AppointmentStatus.SCHEDULED, ends_at__gt=timezone.now() - timedelta(hours=6)
    ).values_list("pk", flat=True)
    for appointment_id in rooms:
        close_group(room_group(appointment_id), CloseCode.CONSENT_MISSING, "consent_withdrawn")


@receiver(questionnaire_needs_attention)
def alert_the_care_team(sender: Any, chart: Any, **kwargs: Any) -> None:
    """Each member of the care team who can open the chart sees it at once on any open page
    (sessions.presence)."""
    from django.urls import reverse

    url = reverse("records:chart", args=[chart.pk])
    for member in clinical_readers(chart=chart):
        push(presence_group(member.pk), {"type": "presence.alert", "url": url})


@receiver(message_arrived)
def tell_open_pages_of_a_message(sender: Any, conversation_id: Any, recipients: list[int], **kwargs: Any) -> None:
    """Each recipient's open pages hear that a conversation has something new (never what)."""
    for user_id in recipients:
        push(presence_group(user_id), {"type": "message.arrived", "conversation": str(conversation_id)})
