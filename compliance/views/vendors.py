"""The vendor and BAA register's pages (admins): the list, a vendor's record with its signed
agreement, and the agreement itself."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.forms import AccessibleForm
from accounts.rules import mfa_required
from accounts.types import AuthedRequest
from compliance.models import Vendor
from compliance.selectors import admin_only
from compliance.services import vendors
from teletherapy.context import context_of
from teletherapy.errors import ServiceError, error_text


class VendorForm(AccessibleForm):
    name = forms.CharField(max_length=200, label="Vendor")
    service = forms.CharField(max_length=200, label="Service it provides")
    data_touched = forms.CharField(max_length=300, label="Client data it handles")
    data_location = forms.CharField(max_length=200, required=False, label="Where it keeps the data")
    baa_signed_on = forms.DateField(
        required=False, label="BAA signed on", widget=forms.DateInput(attrs={"type": "date"})
    )
    baa_expires_on = forms.DateField(
        required=False, label="BAA expires on", widget=forms.DateInput(attrs={"type": "date"})
    )
    document = forms.FileField(
        required=False,
        label="Signed BAA (PDF, up to 10 MB)",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )


def _save(request: AuthedRequest, form: VendorForm, vendor: Vendor | None) -> Vendor | None:
    """The record and its document together, or neither."""
    try:
        with transaction.atomic():
            saved = vendors.vendor_save(
                actor=request.user, fields=form.cleaned_data, context=context_of(request), vendor=vendor
            )
            upload = form.cleaned_data.get("document")
            if upload is not None:
                if upload.size > vendors.MAX_DOCUMENT_BYTES:
                    raise ServiceError("Keep the file under 10 MB.", field="document")
                saved = vendors.vendor_document_attach(
                    actor=request.user,
                    vendor=saved,
                    name=upload.name,
                    content=upload.read(),
                    context=context_of(request),
                )
    except ServiceError as error:
        form.add_error(error.field if error.field in form.fields else None, error_text(request, error))
        return None
    return saved


@mfa_required
@require_http_methods(["GET", "POST"])
def vendors_view(request: AuthedRequest) -> HttpResponse:
    admin_only(request.user, "review.vendor")
    practice_id = request.user.practice_id
    form = VendorForm(request.POST or None, request.FILES or None) if request.POST.get("add") else VendorForm()
    if request.method == "POST":
        if request.POST.get("component"):
            try:
                vendors.vendor_add_component(
                    actor=request.user, key=request.POST["component"], context=context_of(request)
                )
            except ServiceError as error:
                messages.error(request, error_text(request, error))
            else:
                messages.success(request, "Added from the configuration. Record its BAA.")
            return redirect("vendors:list")
        if form.is_valid() and _save(request, form, None) is not None:
            messages.success(request, "Added to the register.")
            return redirect("vendors:list")
    context: dict[str, Any] = {
        "vendors": list(Vendor.objects.filter(practice_id=practice_id)),
        "components": vendors.components_not_registered(practice_id),
        "form": form,
    }
    return render(request, "vendors/list.html", context, status=400 if form.errors else 200)


@mfa_required
@require_http_methods(["GET", "POST"])
def vendor_view(request: AuthedRequest, vendor_id: str) -> HttpResponse:
    vendor = vendors.vendor_get_for_admin(user=request.user, vendor_id=vendor_id)
    initial = {name: getattr(vendor, name) for name in ("name", "service", "data_touched", "data_location")}
    initial.update(baa_signed_on=vendor.baa_signed_on, baa_expires_on=vendor.baa_expires_on)
    form = VendorForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid() and _save(request, form, vendor) is not None:
        messages.success(request, "Saved.")
        return redirect("vendors:detail", vendor_id=vendor.pk)
    return render(request, "vendors/detail.html", {"vendor": vendor, "form": form}, status=400 if form.errors else 200)


@mfa_required
@require_GET
def vendor_document_view(request: AuthedRequest, vendor_id: str) -> HttpResponse:
    vendor = vendors.vendor_get_for_admin(user=request.user, vendor_id=vendor_id)
    content, name, kind = vendors.vendor_document_open(actor=request.user, vendor=vendor, context=context_of(request))
    response = HttpResponse(content, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{name.replace(chr(34), "")}"'
    response["Cache-Control"] = "no-store"
    return response
