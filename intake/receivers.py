"""What intake does when accounts tells it something happened (connected in IntakeConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.signals import practice_created
from intake.services import forms_ready


@receiver(practice_created)
def seed_forms(sender: Any, practice: Any, **kwargs: Any) -> None:
    forms_ready(practice=practice)
