"""Documents on a chart: upload, download, and removal from view."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from accounts.rules import role_required
from accounts.types import AuthedRequest
from audit.models import Action
from records import files, services
from records.models import ClientChart
from records.selectors import DOCUMENT_UPLOADERS, Access, Need, chart_get_for_user, document_get_for_user
from records.views.base import audit_read
from teletherapy.confirm import ask, confirmed
from teletherapy.context import context_of
from teletherapy.errors import Conflict, NotAllowed, ServiceError, error_text

ANYONE_WITH_A_CHART = (Role.THERAPIST, Role.CLIENT, Role.GUARDIAN)


def _back(chart: ClientChart, access: Access) -> str:
    if access in (Access.CLIENT, Access.GUARDIAN):
        return reverse("records:portal") + f"#documents-{chart.pk}"
    return reverse("records:chart", args=[chart.pk]) + "#documents-h"


@role_required(*ANYONE_WITH_A_CHART)
@require_POST
def document_upload_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = chart_get_for_user(user=request.user, chart_id=chart_id, need=Need.CLINICAL)
    if access not in DOCUMENT_UPLOADERS:  # emergency access reads; it does not add to a record
        raise NotAllowed(
            "Emergency access reads a record; it does not add to it.",
            target_type="records.clientchart",
            target_id=chart_id,
        )
    try:
        document = services.document_upload(
            actor=request.user,
            chart=chart,
            access=access,
            upload=request.FILES.get("file"),
            shared_with_client=request.POST.get("shared_with_client") == "1",
            context=context_of(request),
        )
    except ServiceError as error:
        messages.error(request, f"Not uploaded: {error_text(request, error)}")
    else:
        messages.success(request, f"{document.name} was added to the record.")
    return redirect(_back(chart, access))


@role_required(*ANYONE_WITH_A_CHART)
@require_GET
def document_download_view(request: AuthedRequest, chart_document_id: str) -> HttpResponseBase:
    document, chart, access = document_get_for_user(user=request.user, document_id=chart_document_id)
    try:
        response = files.download_response(document)
    except files.DocumentDamaged:
        raise Conflict(
            "This document does not open: the stored file was changed, or belongs to another record. "
            "Nothing of it was sent. Tell the practice, so they can restore it from a backup.",
            code="damaged",
        ) from None
    audit_read(request, Action.DOCUMENT_DOWNLOAD, document, chart, access)
    return response


@role_required(*ANYONE_WITH_A_CHART)
@require_POST
def document_remove_view(request: AuthedRequest, chart_document_id: str) -> HttpResponse:
    document, chart, access = document_get_for_user(user=request.user, document_id=chart_document_id, remove=True)
    if not confirmed(request):
        return ask(
            request,
            title=f"Remove {document.name}?",
            consequences=[
                "take it out of the record's list: nobody can open it from the record any more;",
                "keep it, with who removed it and when, as the practice must keep what was part of a record.",
            ],
            button="Remove it",
            back=_back(chart, access),
        )
    try:
        services.document_remove(actor=request.user, document=document, context=context_of(request))
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, f"{document.name} was removed from the record.")
    return redirect(_back(chart, access))
