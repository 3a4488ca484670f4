"""The security risk analysis pages (admins)."""

from __future__ import annotations

import base64

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Role, User
from accounts.rules import mfa_required
from accounts.types import AuthedRequest
from compliance.models import RiskAssessment, RiskItem
from compliance.selectors import admin_only
from compliance.services import risk
from teletherapy.context import context_of
from teletherapy.errors import NotVisible, ServiceError, error_text


@mfa_required
@require_http_methods(["GET", "POST"])
def risk_list_view(request: AuthedRequest) -> HttpResponse:
    admin_only(request.user, "review.riskassessment")
    if request.method == "POST":
        try:
            started = risk.assessment_start(actor=request.user, context=context_of(request))
        except ServiceError as error:
            messages.error(request, error_text(request, error))
            return redirect("risk:list")
        return redirect("risk:detail", analysis_id=started.pk)
    practice_id = request.user.practice_id
    context = {
        "assessments": RiskAssessment.objects.filter(practice_id=practice_id),
        "due": risk.review_due(practice_id),
        "overdue": risk.review_overdue(practice_id),
    }
    return render(request, "risk/list.html", context)


@mfa_required
@require_http_methods(["GET", "POST"])
def risk_detail_view(request: AuthedRequest, analysis_id: str) -> HttpResponse:
    assessment = risk.assessment_get_for_admin(user=request.user, assessment_id=analysis_id)
    if request.method == "POST":
        data = request.POST
        try:
            if "finalize" in data:
                risk.assessment_finalize(actor=request.user, assessment=assessment, context=context_of(request))
                messages.success(request, "Signed off. The report is kept, and its fingerprint is in the audit log.")
            elif "asset" in data:
                risk.asset_add(
                    actor=request.user, assessment=assessment, name=data.get("name"), kind=data.get("kind"),
                    location=data.get("location"), context=context_of(request),
                )  # fmt: skip
            else:
                item = None
                if data.get("risk"):
                    item = RiskItem.objects.filter(
                        assessment=assessment, pk=data["risk"] if data["risk"].isdigit() else 0
                    ).first()
                    if item is None:
                        raise NotVisible("review.riskitem", data["risk"])
                risk.risk_save(
                    actor=request.user,
                    assessment=assessment,
                    fields=dict(data.items()),
                    risk=item,
                    context=context_of(request),
                )
                messages.success(request, "Saved.")
        except NotVisible:
            raise
        except ServiceError as error:
            messages.error(request, error_text(request, error))
        return redirect("risk:detail", analysis_id=assessment.pk)
    staff = (
        User.objects.filter(
            practice_id=request.user.practice_id, is_active=True, role_grants__role__in=[Role.ADMIN, Role.THERAPIST]
        )
        .distinct()
        .order_by("full_name")
    )
    names = {member.pk: member.full_name for member in staff}
    context = {
        "assessment": assessment,
        "assets": assessment.assets.all(),
        "risks": sorted(assessment.risks.all(), key=lambda r: (-r.score, r.threat)),
        "staff": staff,
        "names": names,
        "scale": range(1, 6),
    }
    return render(request, "risk/detail.html", context)


@mfa_required
@require_GET
def risk_report_view(request: AuthedRequest, analysis_id: str) -> HttpResponse:
    assessment = risk.assessment_get_for_admin(user=request.user, assessment_id=analysis_id)
    if not assessment.report_pdf:
        raise NotVisible("review.riskassessment.report", analysis_id)
    response = HttpResponse(base64.b64decode(assessment.report_pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="risk-analysis-{assessment.number}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
