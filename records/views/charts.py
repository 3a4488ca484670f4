"""Charts: the therapist's list, one chart, its update and emergency access."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Role
from accounts.rules import role_required
from accounts.types import AuthedRequest
from audit.models import Action
from audit.services import audit_record
from records import services
from records.billing_codes import MODIFIERS, PLACES
from records.documented import sessions_to_document
from records.forms import (
    AssignForm,
    BillingForm,
    ChartForm,
    EmergencyForm,
    NewNoteForm,
)
from records.models import ClientChart
from records.panels import chart_panels
from records.reads import chart_header, chart_timeline, notes_listed
from records.selectors import (
    ALLOWED,
    DOCUMENT_UPLOADERS,
    Access,
    Need,
    billing_visible,
    chart_shown,
    charts_for_therapist,
    charts_outside_care_team,
    documents_visible,
    psychotherapy_notes_of_author,
)
from records.services.diagnoses import diagnoses_of
from records.services.fees import service_codes_of
from records.superbill import months_billed
from records.trends import trends_of
from records.views.base import audit_read, results_of, upload_context
from teletherapy.context import context_of
from teletherapy.errors import NotAllowed, NotVisible, ServiceError, error_text
from teletherapy.gates import clinical_refusal
from teletherapy.hooks import chart_filters
from teletherapy.pagination import paginate


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
    # Search by name, and the therapist's filters (their own sessions decide them).
    query = str(request.GET.get("q", "")).strip()[:100]
    if query:
        charts = charts.filter(client__full_name__icontains=query)
        others = others.filter(client__full_name__icontains=query)
    filters = [(key, label) for key, label, _ in chart_filters] if request.user.has_role(Role.THERAPIST) else []
    chosen = str(request.GET.get("show", ""))
    for key, _label, clients in chart_filters:
        if key == chosen and filters:
            charts = charts.filter(client_id__in=clients(request.user))
    if chosen and chosen not in {key for key, _ in filters}:
        chosen = ""
    page = paginate(request, charts, key="client__full_name")
    audit_record(
        action=Action.CHART_LIST, actor=request.user, context=context_of(request), details={"count": len(page.items)},
        subjects=[chart.client_id for chart in page.items],
    )  # fmt: skip
    return render(
        request,
        "records/charts.html",
        {"charts": page.items, "page": page, "others": others, "query": query, "filters": filters, "chosen": chosen},
    )


@role_required(Role.THERAPIST, Role.ADMIN)
@require_http_methods(["GET", "POST"])
def chart_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access, clinical = chart_shown(user=request.user, chart_id=chart_id)
    if access in (Access.CLIENT, Access.GUARDIAN):  # their own record is the portal
        raise NotVisible("records.clientchart", chart_id)
    # The same gate the doors ask (teletherapy/gates.py): kept out, the page shows the summary only.
    held_back = clinical_refusal(request.user) if clinical else None
    clinical = clinical and held_back is None
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
            raise NotVisible("records.clientchart", chart_id)
        if chart_form.is_valid():
            data = dict(chart_form.cleaned_data)
            data["date_of_birth"] = data["date_of_birth"].isoformat() if data["date_of_birth"] else ""
            services.chart_update(
                actor=request.user, chart=chart, access=access, data=data, context=context_of(request)
            )
            messages.success(request, "Chart updated.")
            return redirect("records:chart", chart.pk)
        status = 400
    # Billing by the same rule as the API's (Need.BILLING): not under emergency access.
    shows_billing = access in ALLOWED[Need.BILLING]
    sections = (
        ["summary"]
        + (["billing"] if shows_billing else [])
        + (["notes", "assessments", "documents"] if clinical else [])
    )
    notes_page = paginate(request, notes_listed(chart=chart, access=access), key="-created_at") if clinical else None
    audit_read(request, Action.CHART_VIEW, chart, chart, access, sections=",".join(sections))
    assessments = results_of(chart.assessments.all()) if clinical else []
    documents = list(documents_visible(chart=chart, access=access)) if clinical else []
    # The overview: what this therapist held with the client, beside what is on the page.
    held = sessions_to_document(client=chart.client, therapist=request.user) if access is Access.CARE_TEAM else []
    notes = notes_page.items if notes_page else []
    panels = chart_panels(user=request.user, chart=chart, access=access)
    context = {
        "chart": chart,
        "header": chart_header(chart=chart),
        "access": access.value,
        "clinical": clinical,
        "held_back": held_back,
        "care_team": access is Access.CARE_TEAM,
        "chart_form": chart_form,
        "notes": notes,
        "page": notes_page,
        "assessments": assessments,
        "trends": trends_of(assessments),
        "shows_billing": shows_billing,
        "billing": billing_visible(chart=chart, access=access) if shows_billing else [],
        "documents": documents,
        "timeline": chart_timeline(sessions=held, notes=notes, assessments=assessments, documents=documents)
        if clinical
        else [],
        "can_upload": clinical and access in DOCUMENT_UPLOADERS,
        "upload": upload_context(),
        "psychotherapy_notes": psychotherapy_notes_of_author(user=request.user, chart=chart)
        if access is Access.CARE_TEAM and clinical
        else [],
        # A panel marked "billing" (the account's) shows by the billing rule, in the Billing section;
        # the others are clinical.
        "panels": [p for p in panels if p.get("need") != "billing"] if clinical else [],
        "billing_panels": [p for p in panels if p.get("need") == "billing"] if shows_billing else [],
        "new_note_form": NewNoteForm(),
        "assign_form": AssignForm(),
        "billing_form": BillingForm(),
        "services": service_codes_of(chart.practice_id) if shows_billing else [],
        "superbills": months_billed(billing_visible(chart=chart, access=access)) if shows_billing else [],
        "diagnoses_now": list(diagnoses_of(chart, on=timezone.localdate())) if shows_billing else [],
        "modifiers": MODIFIERS,
        "places": PLACES,
    }
    return render(request, "records/chart.html", context, status=status)


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def emergency_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart = (
        ClientChart.objects.filter(pk=chart_id, practice_id=request.user.practice_id).select_related("client").first()
    )
    if chart is None:
        raise NotVisible("records.clientchart", chart_id)
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
                actor=request.user, chart=chart, reason=form.cleaned_data["reason"], context=context_of(request)
            )
        except ServiceError as error:
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
