"""Sign-in, the second factor, sign-out and invitation acceptance."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.forms import AcceptInvitationForm, CodeForm, EnrollForm, LoginForm
from accounts.models import User
from accounts.rules import is_mfa_verified, is_password_authenticated, mfa_exempt, safe_next
from accounts.selectors import user_has_confirmed_device
from accounts.signals import sign_in_destination
from accounts.types import AuthedRequest
from teletherapy.errors import error_text


def after_sign_in_url(request: AuthedRequest) -> str:
    """Where a fresh sign-in lands: what another app needs first (consent still missing for an
    upcoming session), else where the person was going."""
    for _receiver, url in sign_in_destination.send(sender=User, user=request.user):
        if url:
            return str(url)
    return safe_next(request)


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if is_mfa_verified(request):
        return redirect(safe_next(request))
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
    return render(request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")}, status=status)


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
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.mfa_verify(request=request, code=form.cleaned_data["code"])
        except services.LoginRefused as refused:
            form.add_error(None, refused.message)
            status = 429
        except services.MFAError as error:
            form.add_error("code", error_text(request, error))
        else:
            return redirect(after_sign_in_url(request))
    return render(
        request, "accounts/mfa_verify.html", {"form": form, "next": request.GET.get("next", "")}, status=status
    )


def _enroll(request: AuthedRequest, *, template: str) -> HttpResponse:
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
        except services.MFAError as error:
            form.add_error("code", error_text(request, error))
        else:
            return render(request, "accounts/backup_codes.html", {"codes": codes, "next": after_sign_in_url(request)})
    context = {
        "form": form,
        "secret": device.secret,
        "uri": uri,
        "qr_svg": services.totp_qr_svg(uri),
        "next": request.GET.get("next", ""),
    }
    return render(request, template, context, status=status)


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_enroll_view(request: AuthedRequest) -> HttpResponse:
    """First enrollment, reachable with only a password because nothing else is possible yet."""
    if not is_password_authenticated(request):
        return redirect("accounts:login")
    if user_has_confirmed_device(user=request.user):
        # Replacing a device is a sensitive change and lives behind re-authentication.
        return redirect("accounts:mfa_replace" if is_mfa_verified(request) else "accounts:mfa")
    return _enroll(request, template="accounts/mfa_enroll.html")


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
                request=request,
                token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password"],
            )
        except services.InvitationError as error:
            form.add_error(error.field if error.field in form.fields else None, error_text(request, error))
        else:
            messages.success(request, "Your account is ready. Sign in, then set up your authenticator app.")
            return redirect("accounts:login")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation})
