"""Sign-in, the second factor, sign-out and invitation acceptance."""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from django.contrib import messages
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.forms import AcceptInvitationForm, CodeForm, EnrollForm, LoginForm
from accounts.login_session import grant_enrollment, may_enroll
from accounts.models import Practice, Role, User
from accounts.rules import (
    is_mfa_verified,
    is_password_authenticated,
    mfa_exempt,
    recently_reauthenticated,
    safe_next,
)
from accounts.selectors import passkeys_of, totp_device_confirmed, user_has_confirmed_device
from accounts.services import enrollment, notices, passkeys, recovery
from accounts.signals import sign_in_destination
from accounts.types import AuthedRequest
from teletherapy.context import context_of
from teletherapy.errors import NotAllowed, ServiceError, error_text


def passkey_answer(request: HttpRequest, use: Any, *, done: Any, back: str) -> HttpResponse:
    """A form's passkey answer, given to ``use(request=, credential=)``: ``done()`` on success;
    otherwise back to ``back`` with the reason shown."""
    try:
        use(request=request, credential=request.POST["credential"])
    except services.LoginRefused as refused:
        messages.error(request, refused.message)
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        return cast(HttpResponse, done())
    return redirect(back)


def _signed_in(request: AuthedRequest, response: HttpResponse) -> HttpResponse:
    """Both steps done: remember this browser, telling the person if it is a new one."""
    return notices.sign_in_completed(request=request, user=request.user, response=response)


def after_sign_in_url(request: AuthedRequest) -> str:
    """Where a fresh sign-in lands: a passkey to add first if the practice asks it of staff,
    what another app needs first (consent still missing for an upcoming session), else where the
    person was going."""
    user = request.user
    if (
        user.practice.passkeys_required_for_staff
        and user.has_role(Role.THERAPIST, Role.ADMIN)
        and not passkeys_of(user=user).exists()
    ):
        return f"{reverse('accounts:passkey_add')}?{urlencode({'required': '1', 'next': safe_next(request)})}"
    for _receiver, url in sign_in_destination.send(sender=User, user=request.user):
        if url:
            return str(url)
    return safe_next(request)


def _passwordless_offered() -> bool:
    """Whether any practice here signs people in with a passkey alone (the sign-in page offers it).
    The page must still show, to say what is wrong, while the database is away."""
    try:
        return Practice.objects.filter(passwordless_sign_in=True).exists()
    except DatabaseError:
        return False


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if is_mfa_verified(request):
        return redirect(safe_next(request))
    if request.method == "POST" and request.POST.get("credential"):
        signed_in = cast(AuthedRequest, request)
        return passkey_answer(
            request, passkeys.passkey_sign_in,
            done=lambda: _signed_in(signed_in, redirect(after_sign_in_url(signed_in))),
            back=f"{reverse('accounts:login')}?{urlencode({'next': safe_next(request)})}",
        )  # fmt: skip
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.login_with_password(
                request=request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
            )
        except services.LoginRefused as refused:
            form.add_error(None, refused.message)
            status = 429 if refused.locked_until else 200
        else:
            return redirect(f"{reverse('accounts:mfa')}?{urlencode({'next': safe_next(request)})}")
    context = {
        "form": form,
        "next": request.GET.get("next", ""),
        "passwordless": _passwordless_offered(),
    }
    return render(request, "accounts/login.html", context, status=status)


@mfa_exempt
@never_cache
def mfa_view(request: AuthedRequest) -> HttpResponse:
    """After the password: verify with an existing device, or enroll one."""
    if not is_password_authenticated(request):
        return redirect("accounts:login")
    if is_mfa_verified(request):
        return redirect(safe_next(request))
    if not user_has_confirmed_device(user=request.user):
        return redirect(f"{reverse('accounts:mfa_enroll')}?{urlencode({'next': safe_next(request)})}")
    if request.method == "POST" and request.POST.get("credential"):
        return passkey_answer(
            request, passkeys.passkey_verify, done=lambda: _signed_in(request, redirect(after_sign_in_url(request))),
            back=f"{reverse('accounts:mfa')}?{urlencode({'next': safe_next(request)})}",
        )  # fmt: skip
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.mfa_verify(request=request, code=form.cleaned_data["code"])
        except services.LoginRefused as refused:
            form.add_error(None, refused.message)
            status = 429
        except ServiceError as error:
            form.add_error("code", error_text(request, error))
        else:
            return _signed_in(request, redirect(after_sign_in_url(request)))
    context = {
        "form": form,
        "next": request.GET.get("next", ""),
        "has_passkey": passkeys_of(user=request.user).exists(),
        "has_app": totp_device_confirmed(user=request.user) is not None,
    }
    return render(request, "accounts/mfa_verify.html", context, status=status)


def _enroll(request: AuthedRequest, *, template: str, first: bool = False) -> HttpResponse:
    """Enroll a second factor: a passkey (offered first), or an authenticator app."""
    if request.method == "POST" and "credential" in request.POST:
        first_factor = not user_has_confirmed_device(user=request.user)
        try:
            _device, codes = passkeys.passkey_register(
                request=request, credential=request.POST.get("credential"), name=request.POST.get("name")
            )
        except ServiceError as error:
            messages.error(request, error_text(request, error))
            return redirect(request.get_full_path())
        if codes:
            return _signed_in(request, backup_codes_page(request, codes, next_url=after_sign_in_url(request)))
        if first_factor:
            messages.success(
                request,
                "Your passkey is set up, and synced to your other devices, so losing a phone does not lock you out. "
                "You can also make backup codes on the Security page. Lost everything? Your practice can recover "
                "the account.",
            )
            return _signed_in(request, redirect(after_sign_in_url(request)))
        messages.success(request, "Your passkey was added.")
        return redirect(safe_next(request, default="accounts:security"))
    device = services.totp_device_start(user=request.user)
    uri = services.totp_provisioning_uri(device)
    form = EnrollForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.totp_device_confirm(request=request, device=device, code=form.cleaned_data["code"])
        except services.LoginRefused as refused:
            form.add_error(None, refused.message)
            status = 429
        except ServiceError as error:
            form.add_error("code", error_text(request, error))
        else:
            return _signed_in(request, backup_codes_page(request, codes, next_url=after_sign_in_url(request)))
    context = {
        "form": form,
        "secret": device.secret,
        "secret_groups": [device.secret[i : i + 4] for i in range(0, len(device.secret), 4)],
        "uri": uri,
        "qr_svg": services.totp_qr_svg(uri),
        "next": request.GET.get("next", ""),
        "first": first,
        "offer_app_open": bool(form.errors),
    }
    return render(request, template, context, status=status)


def backup_codes_page(request: AuthedRequest, codes: list[str], *, next_url: str) -> HttpResponse:
    """The new backup codes, once, with "continue" going on to ``next_url`` (a path, maybe with a query)."""
    parts = urlsplit(next_url)
    context = {"codes": codes, "next_path": parts.path or "/", "next_params": parse_qsl(parts.query)}
    return render(request, "accounts/backup_codes.html", context)


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_enroll_view(request: AuthedRequest) -> HttpResponse:
    """First enrollment. Only a session that accepted the invitation, or opened the link sent to
    the account's e-mail address, may do it: a password alone is not enough."""
    if not is_password_authenticated(request):
        return redirect("accounts:login")
    if user_has_confirmed_device(user=request.user):
        # Replacing a device is a sensitive change and lives behind re-authentication.
        return redirect("accounts:mfa_replace" if is_mfa_verified(request) else "accounts:mfa")
    if not may_enroll(request.session, request.user):
        wanted = request.GET.get("next", "")
        if wanted.startswith(reverse("accounts:enroll_link", args=["x"])[:-2]):
            return redirect(safe_next(request))
        sent = None
        if request.method == "POST" and "send_link" in request.POST:
            try:
                sent = enrollment.enrollment_link_send(request=request, user=request.user)
            except ServiceError as error:
                messages.error(request, error_text(request, error))
        return render(request, "accounts/mfa_enroll_proof.html", {"sent": sent, "email": request.user.email})
    return _enroll(request, template="accounts/mfa_enroll.html", first=True)


@mfa_exempt
@never_cache
@require_GET
def enroll_link_view(request: AuthedRequest, token: str) -> HttpResponse:
    """The link sent to the account's e-mail address: after the password, it lets this browser
    session enroll the first second factor."""
    if not is_password_authenticated(request):
        return redirect(f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}")
    try:
        enrollment.enrollment_link_use(request=request, user=request.user, token=token)
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    return redirect("accounts:mfa_enroll")


@mfa_exempt
@require_POST
def passkey_options_view(request: AuthedRequest) -> HttpResponse:
    """The challenge for a passkey, as JSON, for the purposes this session may use one for."""
    try:
        purpose = json.loads(request.body or b"{}").get("purpose")
    except (ValueError, AttributeError):
        purpose = None
    signed_in = is_password_authenticated(request)
    verified = is_mfa_verified(request)
    allowed = {
        "register": signed_in
        and (
            (not user_has_confirmed_device(user=request.user) and may_enroll(request.session, request.user))
            or (verified and recently_reauthenticated(request))
        ),
        "sign_in": signed_in and not verified,
        "reauth": verified,
        "passwordless": not signed_in,
    }.get(str(purpose), False)
    if not allowed:
        raise NotAllowed("Confirm it's you first, then try again.", target_type="accounts.passkeydevice")
    if purpose == "register":
        body = passkeys.passkey_register_options(request=request)
    else:
        body = passkeys.passkey_request_options(request=request, purpose=str(purpose))
    return HttpResponse(body, content_type="application/json")


@mfa_exempt
@require_POST
def logout_view(request: AuthedRequest) -> HttpResponse:
    services.logout_user(request=request)
    messages.info(request, "You have signed out.")
    return redirect("accounts:login")


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_lookup(token=token)
    if invitation is None or invitation.status != "pending":
        state = "invalid" if invitation is None else invitation.status
        return render(
            request, "accounts/invitation_unusable.html", {"state": state}, status=404 if invitation is None else 410
        )
    form = AcceptInvitationForm(request.POST or None, initial={"full_name": invitation.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            services.invitation_accept(
                context=context_of(request),
                token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password"],
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error_text(request, error))
        else:
            services.login_with_password(
                request=request, email=invitation.email, password=form.cleaned_data["password"]
            )
            grant_enrollment(request.session, request.user)
            messages.success(request, "Your account is ready. One more step: a second way to prove it's you.")
            return redirect("accounts:mfa_enroll")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def recovery_view(request: AuthedRequest) -> HttpResponse:
    """Lost every second factor and backup code: ask the practice to recover the account."""
    if not is_password_authenticated(request):
        return redirect("accounts:login")
    if is_mfa_verified(request):
        return redirect("accounts:security")
    recovery.recoveries_complete()
    if request.method == "POST":
        recovery.recovery_request(context=context_of(request), user=request.user)
        return redirect("accounts:recovery")
    context = {"recovery": recovery.recovery_open_for(request.user), "delay_hours": recovery.delay_hours()}
    return render(request, "accounts/recovery.html", context)


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def recovery_cancel_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link sent to the account's e-mail address while a recovery waits: stop it."""
    if request.method == "POST":
        try:
            recovery.recovery_cancel(token=token, context=context_of(request))
        except ServiceError as error:
            return render(request, "accounts/recovery_cancel.html", {"error": error_text(request, error)}, status=410)
        return render(request, "accounts/recovery_cancel.html", {"cancelled": True})
    return render(request, "accounts/recovery_cancel.html", {})
