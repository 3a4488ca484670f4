"""Telling people about sign-ins from a browser their account has not seen before: the time, the
address it came from (no lookup service: the address itself), the browser, and a link to the
Security page, where that session can be ended. A long-lived cookie marks a browser; only a hash
of it is kept."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from accounts.browsers import describe_browser
from accounts.models import KnownBrowser, User
from audit.models import Action
from audit.services import audit_record
from teletherapy.context import context_of

COOKIE = "known_browser"
COOKIE_DAYS = 400


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in_completed(*, request: HttpRequest, user: User, response: HttpResponse) -> HttpResponse:
    """Call once a sign-in is whole (both steps): remember this browser, and if the account had
    signed in from other browsers but never this one, e-mail the person."""
    token = str(request.COOKIES.get(COOKIE, ""))[:100]
    now = timezone.now()
    if token and KnownBrowser.objects.filter(user=user, token_hash=_digest(token)).update(last_seen_at=now):
        return response
    token = token or secrets.token_urlsafe(32)
    with transaction.atomic():
        had_others = KnownBrowser.objects.filter(user=user).exists()
        KnownBrowser.objects.get_or_create(user=user, token_hash=_digest(token))
        if had_others:
            address = getattr(request, "client_address", None) or request.META.get("REMOTE_ADDR", "")
            agent = describe_browser(str(request.META.get("HTTP_USER_AGENT", "")))
            audit_record(
                action=Action.NEW_BROWSER, actor=user, context=context_of(request), target=user,
                details={"address": address, "browser": agent[:120]},
            )  # fmt: skip
            when = timezone.localtime(now)
            security = (settings.SITE_URL or "").rstrip("/") + reverse("accounts:security")

            def tell() -> None:
                send_mail(
                    subject="A new sign-in to your account",
                    message=(
                        f"Hello {user.full_name},\n\nYour account was signed in to from a browser it had not used "
                        f"before:\n\n  When: {when:%d %B %Y, %H:%M %Z}\n  From the address: {address or 'unknown'}\n"
                        f"  Browser: {agent}\n\nIf this was you, there is nothing to do. If not, end that session "
                        f"and change your password on the Security page:\n{security}\n"
                    ),
                    from_email=settings.DEFAULT_FROM_EMAIL,
                    recipient_list=[user.email],
                )

            transaction.on_commit(tell)
    response.set_cookie(
        COOKIE, token, max_age=COOKIE_DAYS * 24 * 3600, httponly=True, samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )  # fmt: skip
    return response
