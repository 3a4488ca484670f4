"""Questionnaires and billing entered from the chart, and the client's answers."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.rules import role_required
from accounts.types import AuthedRequest
from records import services
from records.forms import (
    AssessmentForm,
    AssignForm,
)
from records.selectors import (
    Need,
    assessment_get_for_user,
    chart_get_for_user,
)
from teletherapy.context import context_of
from teletherapy.errors import NotVisible, ServiceError, error_text
from teletherapy.ids import as_uuid


@role_required(Role.THERAPIST)
@require_POST
def assessment_assign_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = chart_get_for_user(user=request.user, chart_id=chart_id, need=Need.CLINICAL)
    form = AssignForm(request.POST)
    try:
        if not form.is_valid():
            raise ServiceError("Choose PHQ-9 or GAD-7.")
        services.assessment_assign(
            actor=request.user, chart=chart, access=access, kind=form.cleaned_data["kind"], context=context_of(request)
        )
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, "Assigned; the client will see it in their portal.")
    return redirect("records:chart", chart.pk)


def _local_line() -> tuple[str, str] | None:
    name, number = settings.CRISIS_LOCAL_LINE_NAME, settings.CRISIS_LOCAL_LINE_NUMBER
    return (name or "Local crisis line", number) if number else None


def _back_to(request: AuthedRequest) -> str:
    """Back to the intake packet the questionnaire was answered from, or to the record."""
    packet = as_uuid(request.GET.get("packet"))
    return f"/intake/{packet}/#steps" if packet else reverse("records:portal")


@role_required(Role.CLIENT)
@require_http_methods(["GET", "POST"])
def assessment_view(request: AuthedRequest, assessment_id: str) -> HttpResponse:
    assessment, _access = assessment_get_for_user(user=request.user, assessment_id=assessment_id)
    if assessment.chart.client_id != request.user.pk:  # the client answers their own questionnaire
        raise NotVisible("records.assessment", assessment_id)
    if assessment.completed_at is not None:
        messages.info(request, "You have completed this questionnaire. Thank you.")
        return redirect("records:portal")
    form = AssessmentForm(request.POST or None, kind=assessment.kind)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = services.assessment_submit(
                    actor=request.user, assessment=assessment, answers=form.answers(), context=context_of(request)
                )
            except ServiceError as error:
                form.add_error(None, error_text(request, error))
                status = 400
            else:
                if result.self_harm_alert:
                    # Said at once, on this page: help now, whatever the hour.
                    return render(request, "records/crisis.html", {"local_line": _local_line()})
                messages.success(request, "Thank you. Your therapist will go through it with you.")
                return redirect(_back_to(request))
        else:
            status = 400
    context = {"assessment": assessment, "form": form, "title": assessment.get_kind_display()}
    return render(request, "records/assessment.html", context, status=status)
