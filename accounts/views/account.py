"""A signed-in person's own account: dashboard, security, sessions, re-authentication."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.forms import PasswordChangeForm, ReauthForm
from accounts.login_session import AUTH_AT_KEY, LAST_SEEN_KEY
from accounts.rules import mfa_required, reauth_required, safe_next
from accounts.selectors import (
    backup_codes_remaining,
    passkeys_of,
    sessions_of,
    totp_device_confirmed,
)
from accounts.services import passkeys
from accounts.types import AuthedRequest
from accounts.views.auth import _enroll, backup_codes_page, passkey_answer
from teletherapy.errors import ServiceError, error_text


def _security_context(request: AuthedRequest, **extra: object) -> dict[str, object]:
    return {
        "device": totp_device_confirmed(user=request.user),
        "passkeys": passkeys_of(user=request.user),
        "backup_codes_left": backup_codes_remaining(user=request.user),
        "sessions": sessions_of(user=request.user),
        "current_key": request.session.session_key,
        "password_form": PasswordChangeForm(user=request.user),
        **extra,
    }


@mfa_required
@require_GET
def security_view(request: AuthedRequest) -> HttpResponse:
    return render(request, "accounts/security.html", _security_context(request))


@mfa_required
@require_POST
def password_change_view(request: AuthedRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST, user=request.user)
    if form.is_valid():
        services.password_change(request=request, new_password=form.cleaned_data["new_password"])
        messages.success(request, "Your password has changed. Every other session has been signed out.")
        return redirect("accounts:security")
    return render(request, "accounts/security.html", _security_context(request, password_form=form), status=400)


@mfa_required
@require_POST
def sessions_revoke_others_view(request: AuthedRequest) -> HttpResponse:
    count = services.sessions_revoke_others(request=request)
    messages.success(request, f"Signed out {count} other session{'s' if count != 1 else ''}.")
    return redirect("accounts:security")


@mfa_required
@require_http_methods(["GET", "POST"])
def reauth_view(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get("credential"):
        return passkey_answer(
            request, passkeys.passkey_reauthenticate,
            done=lambda: redirect(safe_next(request, default="accounts:security")), back=request.get_full_path(),
        )  # fmt: skip
    form = ReauthForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            ok = services.reauthenticate(
                request=request, password=form.cleaned_data.get("password", ""), token=form.cleaned_data.get("code", "")
            )
        except services.LoginRefused as refused:
            form.add_error(None, refused.message)
            status = 429
        else:
            if ok:
                return redirect(safe_next(request, default="accounts:security"))
            form.add_error(None, "That did not match. Try your password again, or a current code.")
    context = {
        "form": form,
        "next": request.GET.get("next", ""),
        "has_passkey": passkeys_of(user=request.user).exists(),
    }
    return render(request, "accounts/reauth.html", context, status=status)


@reauth_required
@require_http_methods(["GET", "POST"])
def mfa_replace_view(request: AuthedRequest) -> HttpResponse:
    return _enroll(request, template="accounts/mfa_replace.html")


@reauth_required
@require_http_methods(["GET", "POST"])
def passkey_add_view(request: AuthedRequest) -> HttpResponse:
    """Add a passkey (the practice may ask this of staff at sign-in)."""
    if request.method == "POST":
        if not request.POST.get("credential"):
            messages.error(request, "The browser did not send a passkey. Try again.")
            return redirect(request.get_full_path())
        return _enroll(request, template="accounts/passkey_add.html")
    context = {"required": request.GET.get("required") == "1", "next": request.GET.get("next", "")}
    return render(request, "accounts/passkey_add.html", context)


@reauth_required
@require_http_methods(["GET", "POST"])
def passkey_remove_view(request: AuthedRequest, device_id: str) -> HttpResponse:
    device = passkeys_of(user=request.user).filter(pk=passkeys.as_uuid(device_id)).first()
    if device is None:
        messages.error(request, "There is no such passkey.")
        return redirect("accounts:security")
    if request.method == "POST":
        try:
            passkeys.passkey_remove(request=request, device_id=device.pk)
        except ServiceError as error:
            messages.error(request, error_text(request, error))
        else:
            messages.success(request, f"The passkey {device.name!r} was removed.")
        return redirect("accounts:security")
    return render(request, "accounts/passkey_remove.html", {"device": device})


@reauth_required
@require_http_methods(["GET", "POST"])
def backup_codes_regenerate_view(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        codes = services.backup_codes_regenerate(request=request)
        return backup_codes_page(request, codes, next_url=reverse("accounts:security"))
    return render(request, "accounts/backup_codes_confirm.html")


@mfa_required
@require_GET
def session_status_view(request: AuthedRequest) -> JsonResponse:
    """How long until idle logoff; polled by the warning banner without counting as activity."""
    now = int(time.time())
    idle_left = settings.SESSION_IDLE_TIMEOUT_SECONDS - (now - request.session.get(LAST_SEEN_KEY, now))
    absolute_left = settings.SESSION_ABSOLUTE_LIFETIME_SECONDS - (now - request.session.get(AUTH_AT_KEY, now))
    return JsonResponse({"seconds_left": max(0, min(idle_left, absolute_left))})


@mfa_required
@require_POST
def session_keepalive_view(request: AuthedRequest) -> JsonResponse:
    """The "stay signed in" button: any non-passive request resets the idle clock."""
    return JsonResponse({"seconds_left": settings.SESSION_IDLE_TIMEOUT_SECONDS})
