"""A forgotten password: ask for a link, open it, choose a new password, then sign in with it
and the second factor as always."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.forms import ForgotPasswordForm, NewPasswordForm
from accounts.login_session import grant_enrollment
from accounts.rules import is_mfa_verified, mfa_exempt
from accounts.selectors import user_has_confirmed_device
from accounts.services import login_with_password, password_reset
from teletherapy.context import context_of
from teletherapy.errors import ServiceError, error_text

# The token moves from the link's address into the session at once, so the page where the new
# password is typed has a plain address: no token in its history entry, Referer or logs.
SESSION_KEY = "password_reset_token"


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def forgot_view(request: HttpRequest) -> HttpResponse:
    if is_mfa_verified(request):
        return redirect("accounts:security")
    form = ForgotPasswordForm(request.POST or None, initial={"email": request.GET.get("email", "")[:254]})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            password_reset.password_reset_request(context=context_of(request), email=form.cleaned_data["email"])
        except password_reset.ResetRefused as refused:
            form.add_error(None, refused.message)
            status = 429
        else:
            return render(request, "accounts/password_forgot.html", {"sent_to": form.cleaned_data["email"]})
    return render(request, "accounts/password_forgot.html", {"form": form}, status=status)


@mfa_exempt
@never_cache
@require_GET
def reset_link_view(request: HttpRequest, token: str) -> HttpResponse:
    if password_reset.password_reset_link_find(token=token) is None:
        return render(request, "accounts/password_reset.html", {"unusable": True}, status=410)
    request.session[SESSION_KEY] = token[:200]
    return redirect("accounts:password_reset")


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def reset_view(request: HttpRequest) -> HttpResponse:
    token = str(request.session.get(SESSION_KEY, ""))
    link = password_reset.password_reset_link_find(token=token) if token else None
    if link is None:
        return render(request, "accounts/password_reset.html", {"unusable": True}, status=410)
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = password_reset.password_reset_complete(
                context=context_of(request), token=token, new_password=form.cleaned_data["password"]
            )
        except ServiceError as error:
            form.add_error("password" if error.field == "password" else None, error_text(request, error))
        else:
            request.session.pop(SESSION_KEY, None)
            # The first step of signing in, with the new password; the second factor comes next.
            login_with_password(request=request, email=user.email, password=form.cleaned_data["password"])
            if not user_has_confirmed_device(user=user):
                # The link proved the e-mail address, as the set-up link would have.
                grant_enrollment(request.session, request.user)  # type: ignore[arg-type]
            messages.success(request, "Your new password is set. Now confirm it's you with your second factor.")
            return redirect(reverse("accounts:mfa"))
    return render(request, "accounts/password_reset.html", {"form": form, "email": link.user.email})
