"""The one rule for "may this request reach protected pages": an MFA-verified session.

The middleware applies it to every view not marked ``mfa_exempt``; the decorators and the DRF
permission apply the same function where a view wants to say so itself.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from teletherapy.markers import mfa_exempt as mfa_exempt  # views import it from here

if TYPE_CHECKING:
    from accounts.models import User

REAUTH_SESSION_KEY = "reauth_at"


def is_password_authenticated(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_mfa_verified(request: HttpRequest) -> bool:
    if not is_password_authenticated(request):
        return False
    device = getattr(request.user, "otp_device", None)
    return device is not None and device.confirmed and device.user_id == request.user.pk


def safe_next(request: HttpRequest, default: str = "home:dashboard") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(default)


def redirect_for_unverified(request: HttpRequest) -> HttpResponse:
    if not is_password_authenticated(request):
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}")
    return redirect(f"{reverse('accounts:mfa')}?{urlencode({'next': request.get_full_path()})}")


def mfa_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_mfa_verified(request):
            return redirect_for_unverified(request)
        return view(request, *args, **kwargs)

    return wrapper


def role_required(*roles: str) -> Callable[[Callable], Callable]:
    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not is_mfa_verified(request):
                return redirect_for_unverified(request)
            if not cast("User", request.user).has_role(*roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def mark_reauthenticated(request: HttpRequest) -> None:
    request.session[REAUTH_SESSION_KEY] = int(time.time())


def recently_reauthenticated(request: HttpRequest) -> bool:
    at = request.session.get(REAUTH_SESSION_KEY)
    return isinstance(at, int) and time.time() - at <= settings.REAUTH_WINDOW_SECONDS


def reauth_required(view: Callable) -> Callable:
    """Sensitive acts (changing MFA, new backup codes) need a password or code in the last minutes."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_mfa_verified(request):
            return redirect_for_unverified(request)
        if not recently_reauthenticated(request):
            return redirect(f"{reverse('accounts:reauth')}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return wrapper
