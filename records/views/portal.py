"""The client's (or guardian's) own record, and their copy of it."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.login_session import practice_zone
from accounts.models import Role
from accounts.rules import mfa_required, role_required
from accounts.selectors import people_acted_for
from accounts.types import AuthedRequest
from audit.models import Action
from records import services
from records.copy import readable
from records.document import as_html, as_pdf
from records.models import ExportStatus
from records.panels import portal_panels
from records.reads import export_download
from records.selectors import (
    Access,
    Need,
    billing_visible,
    chart_for_client,
    chart_get_for_user,
    chart_shown,
    documents_visible,
    export_get_for_user,
    notes_visible,
)
from records.superbill import months_billed
from records.views.base import audit_read, results_of, upload_context
from teletherapy.context import context_of
from teletherapy.errors import Conflict, NotVisible, ServiceError, error_text


@role_required(Role.CLIENT, Role.GUARDIAN)
@require_GET
def portal_view(request: AuthedRequest) -> HttpResponse:
    charts = [c for c in (chart_for_client(client=p) for p in people_acted_for(user=request.user)) if c is not None]
    entries = []
    for chart in charts:
        try:
            chart, access, clinical = chart_shown(user=request.user, chart_id=chart.pk)
        except NotVisible:
            continue
        entries.append(
            {
                "chart": chart,
                "mine": access is Access.CLIENT,
                "clinical": clinical,
                "notes": notes_visible(chart=chart, access=access) if clinical else [],
                "assessments": results_of(chart.assessments.all()) if clinical else [],
                "billing": billing_visible(chart=chart, access=access),
                "superbills": months_billed(billing_visible(chart=chart, access=access)),
                "exports": chart.exports.filter(requested_by=request.user)[:3],
                "documents": documents_visible(chart=chart, access=access) if clinical else [],
                "documents_id": f"documents-{chart.pk}",
                "panels": portal_panels(user=request.user, chart=chart, access=access),
            }
        )
        audit_read(
            request, Action.CHART_VIEW, chart, chart, access, sections="portal,documents" if clinical else "portal"
        )
    return render(request, "records/portal.html", {"entries": entries, "upload": upload_context()})


@role_required(Role.CLIENT, Role.GUARDIAN)
@require_POST
def export_new_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = chart_get_for_user(user=request.user, chart_id=chart_id, need=Need.SUMMARY)
    try:
        export = services.export_request(actor=request.user, chart=chart, access=access, context=context_of(request))
    except ServiceError as error:
        messages.error(request, error_text(request, error))
        return redirect("records:portal")
    return redirect("records:export", export.pk)


@mfa_required
@require_GET
def export_view(request: AuthedRequest, export_id: str) -> HttpResponse:
    export = export_get_for_user(user=request.user, export_id=export_id)
    wanted = request.GET.get("format")
    if request.headers.get("Accept") == "application/json" and not wanted:
        return JsonResponse({"status": export.status, "progress": export.progress})
    if wanted in ("json", "html", "pdf") and export.status == ExportStatus.READY:
        try:
            export, contents = export_download(
                user=request.user, export_id=export_id, context=context_of(request), format=wanted
            )
        except Conflict as stale:
            messages.error(request, stale.message)
            return render(
                request,
                "records/export.html",
                {"export": export, "stale": True, "status_url": reverse("records:export", args=[export.pk])},
                status=409,
            )
        if wanted == "json":
            response = HttpResponse(export.payload, content_type="application/json")
        else:
            zone = practice_zone(request.user.zone_name)
            document = readable(contents, zone=zone, currency=request.user.practice.currency)
            if wanted == "pdf":
                response = HttpResponse(as_pdf(document), content_type="application/pdf")
            else:
                response = HttpResponse(as_html(document), content_type="text/html; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="my-record-{export.created_at:%Y%m%d}.{wanted}"'
        return response
    return render(
        request, "records/export.html", {"export": export, "status_url": reverse("records:export", args=[export.pk])}
    )
