"""Asking for a first session: the practice's public page (when it takes requests), and the
admins' list where each request becomes an invitation or is declined."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.forms import AccessibleForm
from accounts.models import Role
from accounts.rules import role_required
from accounts.services.password_reset import ResetRefused
from accounts.types import AuthedRequest
from audit.models import Action
from audit.services import audit_record
from sessions.policy import policy_for
from sessions.services import requests
from teletherapy.context import context_of
from teletherapy.errors import ServiceError, error_text
from teletherapy.markers import mfa_exempt


class FirstRequestForm(AccessibleForm):
    full_name = forms.CharField(
        label="Your name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label="E-mail address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    phone = forms.CharField(
        label="Phone (optional)", max_length=40, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )  # fmt: skip
    times = forms.MultipleChoiceField(
        label="Times that suit you", required=False, choices=list(requests.TIMES.items()),
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def ask_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Public: anyone may ask the practice for a first session. Nothing clinical is asked for."""
    practice = requests.practice_taking_requests(slug)
    form = FirstRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                requests.request_make(practice=practice, context=context_of(request), **form.cleaned_data)
            except ResetRefused as refused:
                form.add_error(None, refused.message)
                status = 429
            except ServiceError as error:
                form.add_error(error.field if error.field in form.fields else None, error_text(request, error))
            else:
                return render(request, "sessions/ask.html", {"practice": practice, "received": True})
    return render(request, "sessions/ask.html", {"practice": practice, "form": form}, status=status)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def requests_view(request: AuthedRequest) -> HttpResponse:
    """The admins' list of requests for a first session, each answered with an invitation or declined."""
    actor = request.user
    if request.method == "POST":
        answer = request.POST.get("answer")
        try:
            if answer == "invite":
                requests.request_invite(
                    actor=actor, request_id=request.POST.get("request"), therapist_id=request.POST.get("therapist"),
                    context=context_of(request),
                )  # fmt: skip
                messages.success(request, "Invitation sent. It is listed under Invitations until it is accepted.")
            elif answer == "decline":
                requests.request_decline(
                    actor=actor, request_id=request.POST.get("request"), context=context_of(request)
                )
                messages.success(request, "Declined, and what the request held is erased.")
            else:
                raise ServiceError("Choose to invite or decline.")
        except ServiceError as error:
            if error.is_refusal:
                raise
            messages.error(request, error_text(request, error))
        return redirect("sessions:requests")
    shown = list(requests.requests_open(actor=actor)[:200])
    if shown:
        # Their names and addresses are personal data of people who are not clients (yet): the
        # read is audited, naming each request, with no client to name.
        audit_record(action=Action.FIRST_SESSION_REQUESTS_VIEW, actor=actor, context=context_of(request),
                     target_type="video.firstsessionrequest", target_id="",
                     details={"requests": ",".join(str(r.pk) for r in shown), "count": len(shown)})  # fmt: skip
    return render(
        request,
        "sessions/requests.html",
        {
            "requests": shown,
            "taking": policy_for(actor.practice_id).first_session_requests,
            "therapists": list(requests.therapists_to_see(actor=actor)),
            "slug": actor.practice.slug,
        },
    )
