"""Training pages: staff read and attest; admins write, publish and see who has attested."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import AccessibleForm
from accounts.models import User
from accounts.rules import mfa_required
from accounts.types import AuthedRequest
from compliance.models import TrainingAttestation, TrainingEnforcement, TrainingModule
from compliance.selectors import admin_only
from compliance.services import training
from teletherapy.context import context_of
from teletherapy.errors import NotVisible, ServiceError, error_text


class ModuleForm(AccessibleForm):
    title = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), label="Text", max_length=training.MAX_BODY_CHARS)


class PolicyForm(AccessibleForm):
    enforcement = forms.ChoiceField(choices=TrainingEnforcement.choices, label="When training is overdue")
    grace_days = forms.IntegerField(min_value=0, max_value=365, label="Days new staff have for a module")


class AttestForm(AccessibleForm):
    typed_name = forms.CharField(max_length=150, label="Type your full name to attest you have read and understood it")


def _form_error(request: AuthedRequest, form: forms.Form, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error_text(request, error))


@mfa_required
@require_http_methods(["GET"])
def my_training_view(request: AuthedRequest) -> HttpResponse:
    if not training.is_staff(request.user):
        raise NotVisible("review.trainingversion", "")
    return render(request, "training/mine.html", {"standing": training.standing_of(request.user)})


@mfa_required
@require_http_methods(["GET", "POST"])
def attest_view(request: AuthedRequest, training_version_id: str) -> HttpResponse:
    version = training.version_get_for_staff(user=request.user, version_id=training_version_id)
    form = AttestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            training.attest(
                actor=request.user,
                version=version,
                typed_name=form.cleaned_data["typed_name"],
                context=context_of(request),
            )
        except ServiceError as error:
            _form_error(request, form, error)
        else:
            messages.success(request, f"Recorded: you attested to “{version.module.title}”.")
            return redirect("training:mine")
    status = 400 if form.errors else 200
    return render(request, "training/module.html", {"version": version, "form": form}, status=status)


@mfa_required
@require_http_methods(["GET", "POST"])
def admin_view(request: AuthedRequest) -> HttpResponse:
    admin_only(request.user, "review.trainingmodule")
    policy = training.policy_of(request.user.practice_id)
    module_form = ModuleForm(request.POST if "title" in request.POST else None)
    policy_form = PolicyForm(
        request.POST if "enforcement" in request.POST else None,
        initial={"enforcement": policy.enforcement, "grace_days": policy.grace_days},
    )
    if request.method == "POST":
        if "enforcement" in request.POST and policy_form.is_valid():
            policy.enforcement = policy_form.cleaned_data["enforcement"]
            policy.grace_days = policy_form.cleaned_data["grace_days"]
            policy.save()
            messages.success(request, "Saved.")
            return redirect("training:admin")
        if "title" in request.POST and module_form.is_valid():
            try:
                draft = training.module_create(
                    actor=request.user, title=module_form.cleaned_data["title"], body=module_form.cleaned_data["body"],
                    context=context_of(request),
                )  # fmt: skip
            except ServiceError as error:
                _form_error(request, module_form, error)
            else:
                messages.success(request, "Saved as a draft. Publish it when it is ready.")
                return redirect("training:module", module_id=draft.module_id)
    modules = list(TrainingModule.objects.filter(practice_id=request.user.practice_id).prefetch_related("versions"))
    context = {
        "modules": modules,
        "module_form": module_form,
        "policy_form": policy_form,
        "overdue": training.staff_overdue(request.user.practice_id),
    }
    status = 400 if module_form.errors or policy_form.errors else 200
    return render(request, "training/admin.html", context, status=status)


@mfa_required
@require_http_methods(["GET", "POST"])
def module_view(request: AuthedRequest, module_id: str) -> HttpResponse:
    module = training.module_get_for_admin(user=request.user, module_id=module_id)
    draft = module.versions.filter(status="draft").first()
    current = module.versions.filter(status="published").first()
    form = ModuleForm(
        request.POST if "body" in request.POST else None,
        initial={"title": module.title, "body": shown.body if (shown := draft or current) is not None else ""},
    )
    if request.method == "POST":
        try:
            if "publish" in request.POST:
                published = training.draft_publish(actor=request.user, module=module, context=context_of(request))
                messages.success(request, f"Version {published.number} published: staff are asked to attest to it.")
                return redirect("training:module", module_id=module.pk)
            if form.is_valid():
                training.draft_save(
                    actor=request.user, module=module, body=form.cleaned_data["body"], context=context_of(request)
                )
                messages.success(request, "Draft saved.")
                return redirect("training:module", module_id=module.pk)
        except ServiceError as error:
            if "publish" in request.POST:
                messages.error(request, error_text(request, error))
                return redirect("training:module", module_id=module.pk)
            _form_error(request, form, error)
    attestations = TrainingAttestation.objects.filter(version__module=module).select_related("version")
    names = dict(User.objects.filter(pk__in=[a.user_id for a in attestations]).values_list("pk", "full_name"))
    context = {
        "module": module,
        "draft": draft,
        "current": current,
        "form": form,
        "attestations": [(a, names.get(a.user_id, "")) for a in attestations[:200]],
    }
    return render(request, "training/admin_module.html", context, status=400 if form.errors else 200)
