from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from accounts.login_session import (
    AUTH_AT_KEY,
    DEVICE_SESSION_KEY,
    LAST_SEEN_KEY,
    practice_zone,
    session_device,
    session_end_reason,
)
from accounts.rules import is_mfa_verified, is_password_authenticated, redirect_for_unverified
from accounts.services import session_timeout_end
from accounts.types import AuthedRequest
from teletherapy.errors import error_response

# Requests that only ask how long is left must not count as activity.
PASSIVE_HEADER = "HTTP_X_PASSIVE"


class MFAMiddleware:
    """Loads the second-factor device this session was verified with, if any."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        device = None
        if user.is_authenticated:
            device = session_device(request.session, user)
            if device is None:
                request.session.pop(DEVICE_SESSION_KEY, None)
        setattr(user, "otp_device", device)  # noqa: B010 - AnonymousUser has no such attribute
        if user.is_authenticated:
            # Times are stored in UTC and shown in the person's zone (by default, the practice's).
            timezone.activate(practice_zone(user.zone_name))
        else:
            timezone.deactivate()
        return self.get_response(request)


class SessionTimeoutMiddleware:
    """Idle logoff and an absolute session lifetime, each audited."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_password_authenticated(request):
            now = int(time.time())
            reason = session_end_reason(request.session, now)
            if reason:
                session_timeout_end(request=cast(AuthedRequest, request), reason=reason)
                if request.path.startswith("/api/"):
                    return error_response(
                        request, status=403, code="session_expired", detail="Your session has ended. Sign in again."
                    )
                idle_minutes = max(1, settings.SESSION_IDLE_TIMEOUT_SECONDS // 60)
                messages.info(
                    request,
                    f"You were signed out after {idle_minutes} minutes without activity, to keep your information "
                    "private."
                    if reason == "idle"
                    else "You were signed out because your session reached its maximum length.",
                )
                return redirect(reverse("accounts:login"))
            if request.META.get(PASSIVE_HEADER) != "1":
                request.session[LAST_SEEN_KEY] = now
                request.session.setdefault(AUTH_AT_KEY, now)
        return self.get_response(request)


class MFAEnforcementMiddleware:
    """Default deny: every view needs an MFA-verified session unless it is marked mfa_exempt."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, args: tuple, kwargs: dict) -> HttpResponse | None:
        target = getattr(view_func, "view_class", None) or view_func
        if getattr(view_func, "mfa_exempt", False) or getattr(target, "mfa_exempt", False):
            return None
        if is_mfa_verified(request):
            return None
        if request.path.startswith("/api/"):
            if not is_password_authenticated(request):
                return error_response(request, status=403, code="not_authenticated", detail="Sign in first.")
            return error_response(
                request, status=403, code="mfa_required", detail="Complete the second sign-in step first."
            )
        return redirect_for_unverified(request)
