"""The accounts' work in the background: invitation and password-reset e-mails, expired sessions,
old throttles, and account recoveries whose delay is over."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from accounts.models import LoginThrottle, UserSession
from accounts.services.invitations import send_invitation_email  # noqa: F401  (registered where the worker looks)
from accounts.services.password_reset import password_reset_mail  # noqa: F401  (registered where the worker looks)
from accounts.services.recovery import recoveries_complete


@shared_task
def sessions_purge_ended() -> int:
    """Drop expired sessions, and the bookkeeping rows of sessions that no longer exist."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    Session.objects.filter(expire_date__lt=timezone.now()).delete()
    live = Session.objects.values("session_key")
    deleted, _ = UserSession.objects.exclude(session_key__in=live).delete()
    return deleted


@shared_task
def throttles_forget_old() -> int:
    from datetime import timedelta

    from django.db.models import Q
    from django.utils import timezone

    cutoff = timezone.now() - timedelta(seconds=settings.LOCKOUT_FORGET_SECONDS)
    deleted, _ = LoginThrottle.objects.filter(
        Q(last_failure_at__lt=cutoff) | Q(last_failure_at__isnull=True),
        Q(locked_until__isnull=True) | Q(locked_until__lt=timezone.now()),
    ).delete()
    return deleted


@shared_task
def account_recoveries_carry_out() -> int:
    """Account recoveries whose delay is over take effect (the old second factors go)."""
    return recoveries_complete()
