"""Therapist pages for charts and notes, and the client's portal."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from accounts.rules import mfa_required, role_required
from accounts.selectors import people_acted_for
from accounts.types import AuthedRequest
from audit.models import Action
from audit.services import audit_denied, audit_record
from records import services
from records.forms import (
    AddendumForm,
    AssessmentForm,
    AssignForm,
    BillingForm,
    ChartForm,
    EmergencyForm,
    NewNoteForm,
    NoteForm,
    PsychotherapyNoteForm,
)
from records.models import ClientChart, ExportStatus, NoteTemplate, ProgressNote
from records.selectors import (
    Access,
    Need,
    assessment_get_for_user,
    chart_for_client,
    chart_get_for_user,
    charts_for_therapist,
    charts_outside_care_team,
    export_get_for_user,
    note_get_for_user,
    notes_visible,
    psychotherapy_note_get_for_author,
    psychotherapy_notes_of_author,
)
from teletherapy.errors import Conflict, NotAllowed, NotVisible, error_text


def _denied(request: AuthedRequest, target_type: str, target_id: object) -> Http404:
    audit_denied(request=request, target_type=target_type, target_id=str(target_id)[:64], reason="not_found")
    return Http404()


def _chart(request: AuthedRequest, chart_id: object, need: Need) -> tuple[ClientChart, Access]:
    found = chart_get_for_user(user=request.user, chart_id=chart_id, need=need)
    if found is None:
        raise _denied(request, "records.clientchart", chart_id)
    return found


def _audit_read(
    request: AuthedRequest, action: Action, target: Any, chart: ClientChart, access: Access, **details: Any
) -> None:
    audit_record(
        action=action,
        actor=request.user,
        request=request,
        target=target,
        subject_client_id=chart.client_id,
        flagged=access is Access.EMERGENCY,
        details={"access": access.value, **details},
    )


def _results(assessments: Any) -> list[dict[str, Any]]:
    rows = []
    for assessment in assessments:
        result = json.loads(assessment.result) if assessment.result else None
        rows.append({"assessment": assessment, "result": result})
    return rows


# Therapists --------------------------------------------------------------------------------


@role_required(Role.THERAPIST, Role.ADMIN)
@require_GET
def charts_view(request: AuthedRequest) -> HttpResponse:
    if request.user.has_role(Role.THERAPIST):
        charts = charts_for_therapist(user=request.user).order_by("client__full_name")
        others = charts_outside_care_team(user=request.user)
    else:
        # Admins see chart metadata and billing, never clinical content.
        charts = ClientChart.objects.filter(practice_id=request.user.practice_id).select_related("client")
        others = ClientChart.objects.none()
    audit_record(action=Action.CHART_LIST, actor=request.user, request=request, details={"count": charts.count()})
    return render(request, "records/charts.html", {"charts": charts, "others": others})


@role_required(Role.THERAPIST, Role.ADMIN)
@require_http_methods(["GET", "POST"])
def chart_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    need = Need.CLINICAL if request.user.has_role(Role.THERAPIST) else Need.SUMMARY
    found = chart_get_for_user(user=request.user, chart_id=chart_id, need=need)
    if found is None and need is Need.CLINICAL:
        found = chart_get_for_user(user=request.user, chart_id=chart_id, need=Need.SUMMARY)
    if found is None or found[1] in (Access.CLIENT, Access.GUARDIAN):
        raise _denied(request, "records.clientchart", chart_id)
    chart, access = found
    clinical = access in (Access.CARE_TEAM, Access.EMERGENCY)
    chart_form = ChartForm(
        request.POST or None,
        initial={
            "date_of_birth": chart.date_of_birth or None,
            "phone": chart.phone,
            "address": chart.address,
            "emergency_contact": chart.emergency_contact,
            "is_minor": chart.is_minor,
            "guardian_sees_notes": chart.guardian_sees_notes,
        },
    )
    status = 200
    if request.method == "POST":
        if access is not Access.CARE_TEAM:
            raise _denied(request, "records.clientchart", chart_id)
        if chart_form.is_valid():
            data = dict(chart_form.cleaned_data)
            data["date_of_birth"] = data["date_of_birth"].isoformat() if data["date_of_birth"] else ""
            services.chart_update(actor=request.user, chart=chart, access=access, data=data, request=request)
            messages.success(request, "Chart updated.")
            return redirect("records:chart", chart.pk)
        status = 400
    sections = ["summary", "billing"] + (["notes", "assessments"] if clinical else [])
    _audit_read(request, Action.CHART_VIEW, chart, chart, access, sections=",".join(sections))
    context = {
        "chart": chart,
        "access": access.value,
        "clinical": clinical,
        "care_team": access is Access.CARE_TEAM,
        "chart_form": chart_form,
        "notes": notes_visible(chart=chart, access=access) if clinical else [],
        "assessments": _results(chart.assessments.all()) if clinical else [],
        "billing": chart.billing.all(),
        "psychotherapy_notes": psychotherapy_notes_of_author(user=request.user, chart=chart)
        if access is Access.CARE_TEAM
        else [],
        "new_note_form": NewNoteForm(),
        "assign_form": AssignForm(),
        "billing_form": BillingForm(),
        "psy_form": PsychotherapyNoteForm(),
    }
    return render(request, "records/chart.html", context, status=status)


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def emergency_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart = (
        ClientChart.objects.filter(pk=chart_id, practice_id=request.user.practice_id).select_related("client").first()
    )
    if chart is None:
        raise _denied(request, "records.clientchart", chart_id)
    if request.user.has_role(Role.ADMIN):
        raise NotAllowed(
            "An account that holds the admin role cannot use emergency access.",
            target_type="records.clientchart",
            target_id=chart_id,
        )
    form = EmergencyForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.emergency_access_start(
                actor=request.user, chart=chart, reason=form.cleaned_data["reason"], request=request
            )
        except services.RecordError as error:
            form.add_error("reason" if error.field == "reason" else None, error_text(request, error))
            status = 400
        else:
            messages.warning(
                request, "Emergency access granted for 60 minutes. It is recorded and the admins have been told."
            )
            return redirect("records:chart", chart.pk)
    elif request.method == "POST":
        status = 400
    return render(request, "records/emergency.html", {"chart": chart, "form": form}, status=status)


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def note_new_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = _chart(request, chart_id, Need.CLINICAL)
    if access is not Access.CARE_TEAM:
        raise _denied(request, "records.clientchart", chart_id)
    template = request.GET.get("template") or request.POST.get("template") or NoteTemplate.SOAP
    if template not in NoteTemplate.values:
        template = NoteTemplate.SOAP
    form = NoteForm(request.POST or None, template=template)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            note = services.note_create(
                actor=request.user,
                chart=chart,
                access=access,
                template=template,
                sections=form.sections(),
                request=request,
            )
        except services.RecordError as error:
            form.add_error(None, error_text(request, error))
            status = 400
        else:
            messages.success(request, "Draft saved.")
            return redirect("records:note", note.pk)
    elif request.method == "POST":
        status = 400
    return render(
        request, "records/note_edit.html", {"chart": chart, "form": form, "template": template}, status=status
    )


@role_required(Role.THERAPIST, Role.CLIENT, Role.GUARDIAN)
@require_http_methods(["GET", "POST"])
def note_view(request: AuthedRequest, note_id: str) -> HttpResponse:
    found = note_get_for_user(user=request.user, note_id=note_id)
    if found is None:
        raise _denied(request, "records.progressnote", note_id)
    note, access = found
    chart = note.chart
    editable = access is Access.CARE_TEAM and note.signed_at is None and note.author_id == request.user.pk
    sections = json.loads(note.body)
    form = NoteForm(
        request.POST if request.method == "POST" else None,
        template=note.template,
        initial={**sections, "version": note.version},
    )
    status = 200
    if request.method == "POST":
        if access is Access.CARE_TEAM and note.author_id == request.user.pk and note.signed_at is not None:
            raise Conflict("A signed note is locked. Add an addendum instead.", code="signed")
        if not editable:
            raise _denied(request, "records.progressnote", note_id)
        if form.is_valid():
            try:
                services.note_update(
                    actor=request.user,
                    note=note,
                    sections=form.sections(),
                    expected_version=form.cleaned_data.get("version") or 0,
                    request=request,
                )
            except services.NoteConflict as conflict:
                form.add_error(None, conflict.message)
                status = 409
            except services.RecordError as error:
                form.add_error(None, error_text(request, error))
                status = 400
            else:
                messages.success(request, "Draft saved.")
                return redirect("records:note", note.pk)
        else:
            status = 400
    _audit_read(request, Action.NOTE_VIEW, note, chart, access)
    addenda = list(note.addenda.select_related("author"))
    context = {
        "note": note,
        "chart": chart,
        "sections": sections,
        "editable": editable,
        "form": form,
        "addenda": addenda,
        "addendum_form": AddendumForm(),
        "care_team": access is Access.CARE_TEAM,
        "portal": access in (Access.CLIENT, Access.GUARDIAN),
    }
    return render(request, "records/note.html", context, status=status)


def _note_action(request: AuthedRequest, note_id: str) -> ProgressNote:
    found = note_get_for_user(user=request.user, note_id=note_id, write=True)
    if found is None:
        raise _denied(request, "records.progressnote", note_id)
    return found[0]


def _note_step(request: AuthedRequest, note_id: str, step: Callable[..., object], done: str) -> HttpResponse:
    """Run one signing/sharing step on a note and come back to it with the outcome shown."""
    note = _note_action(request, note_id)
    try:
        step(actor=request.user, note=note, request=request)
    except services.RecordError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, done)
    return redirect("records:note", note.pk)


@role_required(Role.THERAPIST)
@require_POST
def note_sign_view(request: AuthedRequest, note_id: str) -> HttpResponse:
    return _note_step(request, note_id, services.note_sign, "Signed. The note is now locked; changes go in addenda.")


@role_required(Role.THERAPIST)
@require_POST
def note_share_view(request: AuthedRequest, note_id: str) -> HttpResponse:
    return _note_step(request, note_id, services.note_share, "Shared: the client can read this note in their portal.")


@role_required(Role.THERAPIST)
@require_POST
def note_addendum_view(request: AuthedRequest, note_id: str) -> HttpResponse:
    note = _note_action(request, note_id)
    form = AddendumForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write the addendum first.")
        return redirect("records:note", note.pk)
    try:
        services.note_addendum(actor=request.user, note=note, body=form.cleaned_data["body"], request=request)
    except services.RecordError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, "Addendum signed and added.")
    return redirect("records:note", note.pk)


@role_required(Role.THERAPIST)
@require_POST
def assessment_assign_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = _chart(request, chart_id, Need.CLINICAL)
    form = AssignForm(request.POST)
    try:
        if not form.is_valid():
            raise services.RecordError("Choose PHQ-9 or GAD-7.")
        services.assessment_assign(
            actor=request.user, chart=chart, access=access, kind=form.cleaned_data["kind"], request=request
        )
    except services.RecordError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, "Assigned; the client will see it in their portal.")
    return redirect("records:chart", chart.pk)


@role_required(Role.THERAPIST, Role.ADMIN)
@require_POST
def billing_add_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = _chart(request, chart_id, Need.BILLING)
    form = BillingForm(request.POST)
    try:
        if not form.is_valid():
            raise services.RecordError("Fill in the date, CPT code, diagnosis codes and fee.")
        services.billing_create(actor=request.user, chart=chart, access=access, request=request, **form.cleaned_data)
    except services.RecordError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, "Billing record added.")
    return redirect("records:chart", chart.pk)


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def psychotherapy_new_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = _chart(request, chart_id, Need.CLINICAL)
    if access is not Access.CARE_TEAM:
        raise NotVisible("records.clientchart", chart_id)
    form = PsychotherapyNoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            note = services.psychotherapy_note_write(
                actor=request.user, chart=chart, access=access, body=form.cleaned_data["body"], request=request
            )
        except services.RecordError as error:
            messages.error(request, error_text(request, error))
        else:
            return redirect("records:psychotherapy_note", note.pk)
    return redirect("records:chart", chart.pk)


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def psychotherapy_note_view(request: AuthedRequest, note_id: str) -> HttpResponse:
    note = psychotherapy_note_get_for_author(user=request.user, note_id=note_id)
    if note is None:
        raise _denied(request, "records.psychotherapynote", note_id)
    found = chart_get_for_user(user=request.user, chart_id=note.chart_id, need=Need.CLINICAL)
    if found is None or found[1] is not Access.CARE_TEAM:
        raise _denied(request, "records.psychotherapynote", note_id)
    chart, access = found
    form = PsychotherapyNoteForm(request.POST or None, initial={"body": note.body})
    if request.method == "POST" and form.is_valid():
        services.psychotherapy_note_write(
            actor=request.user, chart=chart, access=access, body=form.cleaned_data["body"], request=request, note=note
        )
        messages.success(request, "Saved.")
        return redirect("records:psychotherapy_note", note.pk)
    audit_record(
        action=Action.PSYCHOTHERAPY_NOTE_VIEW,
        actor=request.user,
        request=request,
        target_type="records.psychotherapynote",
        target_id=str(note.pk),
        subject_client_id=chart.client_id,
    )
    return render(request, "records/psychotherapy_note.html", {"note": note, "chart": chart, "form": form})


# Clients and guardians -----------------------------------------------------------------------


@role_required(Role.CLIENT, Role.GUARDIAN)
@require_GET
def portal_view(request: AuthedRequest) -> HttpResponse:
    charts = [c for c in (chart_for_client(client=p) for p in people_acted_for(user=request.user)) if c is not None]
    entries = []
    for chart in charts:
        found = chart_get_for_user(user=request.user, chart_id=chart.pk, need=Need.SUMMARY)
        if found is None:
            continue
        access = found[1]
        clinical = chart_get_for_user(user=request.user, chart_id=chart.pk, need=Need.CLINICAL) is not None
        entries.append(
            {
                "chart": chart,
                "mine": access is Access.CLIENT,
                "clinical": clinical,
                "notes": notes_visible(chart=chart, access=access) if clinical else [],
                "assessments": _results(chart.assessments.all()) if clinical else [],
                "billing": chart.billing.all(),
                "exports": chart.exports.filter(requested_by=request.user)[:3],
            }
        )
        _audit_read(request, Action.CHART_VIEW, chart, chart, access, sections="portal")
    return render(request, "records/portal.html", {"entries": entries})


@role_required(Role.CLIENT)
@require_http_methods(["GET", "POST"])
def assessment_view(request: AuthedRequest, assessment_id: str) -> HttpResponse:
    found = assessment_get_for_user(user=request.user, assessment_id=assessment_id)
    if found is None or found[0].chart.client_id != request.user.pk:
        raise _denied(request, "records.assessment", assessment_id)
    assessment = found[0]
    if assessment.completed_at is not None:
        messages.info(request, "You have completed this questionnaire. Thank you.")
        return redirect("records:portal")
    form = AssessmentForm(request.POST or None, kind=assessment.kind)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.assessment_submit(
                    actor=request.user, assessment=assessment, answers=form.answers(), request=request
                )
            except services.RecordError as error:
                form.add_error(None, error_text(request, error))
                status = 400
            else:
                messages.success(request, "Thank you. Your therapist will go through it with you.")
                return redirect("records:portal")
        else:
            status = 400
    context = {"assessment": assessment, "form": form, "title": assessment.get_kind_display()}
    return render(request, "records/assessment.html", context, status=status)


@role_required(Role.CLIENT, Role.GUARDIAN)
@require_POST
def export_new_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = _chart(request, chart_id, Need.SUMMARY)
    try:
        export = services.export_request(actor=request.user, chart=chart, access=access, request=request)
    except services.RecordError as error:
        messages.error(request, error_text(request, error))
        return redirect("records:portal")
    return redirect("records:export", export.pk)


@mfa_required
@require_GET
def export_view(request: AuthedRequest, export_id: str) -> HttpResponse:
    export = export_get_for_user(user=request.user, export_id=export_id)
    if export is None:
        raise _denied(request, "records.recordexport", export_id)
    wanted = request.GET.get("format")
    if request.headers.get("Accept") == "application/json" and not wanted:
        return JsonResponse({"status": export.status, "progress": export.progress})
    if wanted in ("json", "html") and export.status == ExportStatus.READY:
        audit_record(
            action=Action.RECORD_EXPORT,
            actor=request.user,
            request=request,
            target=export,
            subject_client_id=export.chart.client_id,
            details={"stage": "downloaded", "format": wanted},
        )
        if wanted == "json":
            response = HttpResponse(export.payload, content_type="application/json")
        else:
            response = HttpResponse(_export_html(json.loads(export.payload)), content_type="text/html; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="my-record-{export.created_at:%Y%m%d}.{wanted}"'
        return response
    return render(
        request, "records/export.html", {"export": export, "status_url": reverse("records:export", args=[export.pk])}
    )


def _export_html(data: dict[str, Any]) -> str:
    """A plain, self-contained page of the export, readable in any browser without scripts."""

    def section(title: str, body: str) -> str:
        return f"<h2>{escape(title)}</h2>{body}"

    def rows(items: list[dict[str, Any]]) -> str:
        if not items:
            return "<p>None.</p>"
        parts = []
        for item in items:
            fields = "".join(
                f"<dt>{escape(k)}</dt><dd>{escape(json.dumps(v, indent=1) if isinstance(v, dict | list) else v)}</dd>"
                for k, v in item.items()
            )
            parts.append(f"<dl>{fields}</dl>")
        return "".join(parts)

    body = [
        f"<h1>Record of {escape(data['client']['name'])}</h1>",
        f"<p>Generated {escape(data['generated_at'])}. {escape(data['note'])}</p>",
        section("Details", rows([data["chart"]])),
        section("Progress notes", rows(data["progress_notes"])),
        section("Assessments", rows(data["assessments"])),
        section("Billing", rows(data["billing"])),
        section("Appointments", rows(data["appointments"])),
        section("Consent signatures", rows(data["consent_signatures"])),
    ]
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>My record</title><body>"
        + "".join(body)
        + "</body></html>"
    )
