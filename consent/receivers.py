"""What consent does when accounts tells it something happened (connected in ConsentConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.urls import reverse

from accounts.signals import practice_created, sign_in_destination
from consent.selectors import consent_todo_for
from consent.services import consent_defaults_seed
from teletherapy import hooks


@receiver(practice_created)
def seed_documents(sender: Any, practice: Any, **kwargs: Any) -> None:
    consent_defaults_seed(practice=practice)


@receiver(sign_in_destination)
def consent_first(sender: Any, user: Any, **kwargs: Any) -> str | None:
    """A fresh sign-in for a session open now lands on its Join page (which leads through any
    consent still missing, then back); else, with something to sign for an upcoming session, on
    the page that has all of it to read and sign at once."""
    for source in hooks.join_now:
        url = source(user=user)
        if url:
            return str(url)
    for _appointment, missing in consent_todo_for(user=user):
        if any(item.version is not None for item in missing):
            return reverse("consent:sign_needed")
    return None
