"""What records does when accounts tells it something happened (connected in RecordsConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.signals import client_joined
from records.services import chart_create
from teletherapy.context import AuditContext


@receiver(client_joined)
def start_the_chart(
    sender: Any, user: Any, invited_by: Any, context: AuditContext | None = None, **kwargs: Any
) -> None:
    """A client who accepts an invitation gets a chart, with the inviting therapist on its care team."""
    chart_create(actor=invited_by, client=user, therapists=[invited_by], context=context)
