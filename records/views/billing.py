"""Billing on the chart: adding a charge, adjusting and confirming a draft, the chart's
diagnoses (ICD-10-CM), and the practice's services and fees."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role, User
from accounts.rules import mfa_required, role_required
from accounts.types import AuthedRequest
from audit.models import Action
from records import diagnoses, services
from records.billing_codes import BY_CODE
from records.forms import BillingForm
from records.reads import record_read
from records.selectors import Access, Need, billing_get_for_user, chart_get_for_user
from records.services.diagnoses import diagnoses_of, diagnosis_add, diagnosis_make_primary, diagnosis_resolve
from records.services.fees import fees_set, identity_of, identity_set, service_codes_of
from records.superbill import superbill_of, superbill_pdf
from teletherapy.context import context_of
from teletherapy.errors import NotAllowed, ServiceError, error_text


@role_required(Role.THERAPIST, Role.ADMIN)
@require_POST
def billing_add_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = chart_get_for_user(user=request.user, chart_id=chart_id, need=Need.BILLING)
    form = BillingForm(request.POST)
    try:
        if not form.is_valid():
            raise ServiceError("Fill in the date, CPT code, diagnosis codes and fee.")
        services.billing_create(
            actor=request.user, chart=chart, access=access, context=context_of(request), **form.cleaned_data
        )
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, "Billing record added.")
    return redirect("records:chart", chart.pk)


@role_required(Role.THERAPIST, Role.ADMIN)
@require_POST
def billing_change_view(request: AuthedRequest, billing_id: str) -> HttpResponse:
    """Adjust a draft charge (one drafted from a session, say), and confirm it if asked."""
    record, access = billing_get_for_user(user=request.user, billing_id=billing_id)
    fields = ("cpt_code", "modifier", "place_of_service", "units", "fee", "diagnosis_codes")
    changes: dict[str, object] = {name: request.POST[name] for name in fields if name in request.POST}
    try:
        if changes:
            record = services.billing_adjust(
                actor=request.user, record=record, access=access, changes=changes, context=context_of(request)
            )
        if request.POST.get("action") == "confirm":
            services.billing_set_status(actor=request.user, record=record, access=access, status="submitted",
                                        context=context_of(request))  # fmt: skip
            messages.success(request, "Charge confirmed. The client now sees it.")
        else:
            messages.success(request, "Charge saved as a draft.")
    except ServiceError as error:
        if error.is_refusal:
            raise
        messages.error(request, error_text(request, error))
    return redirect(f"{reverse('records:chart', args=[record.chart_id])}#bill-h")


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def services_view(request: AuthedRequest) -> HttpResponse:
    """The practice's services and fees (what a charge drafted from a session costs) and the
    identifiers a superbill and a claim carry, the practice's and each therapist's."""
    actor = request.user
    services_list = list(service_codes_of(actor.practice_id))
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "identity":
                fields = {k: request.POST.get(k, "") for k in ("npi", "taxonomy", "tax_id", "licence", "address")}
                identity_set(actor=actor, therapist_id=request.POST.get("therapist"), context=context_of(request),
                             **fields)  # fmt: skip
                done = "Identifiers saved."
            else:
                wanted = {s.code: request.POST.get(f"fee_{s.code}", str(s.fee)) for s in services_list}
                done = f"Fees saved ({fees_set(actor=actor, fees=wanted, context=context_of(request))} changed)."
        except ServiceError as error:
            if error.is_refusal:
                raise
            messages.error(request, error_text(request, error))
            status = 400
        else:
            messages.success(request, done)
            return redirect("records:services")
    rows = [(s, BY_CODE[s.code]) for s in services_list if s.code in BY_CODE]
    therapists = User.objects.filter(practice_id=actor.practice_id, role_grants__role=Role.THERAPIST).distinct()
    identities = [
        (None, "The practice", identity_of(practice_id=actor.practice_id)),
        *[(t.pk, t.full_name, identity_of(practice_id=actor.practice_id, therapist=t))
          for t in therapists.order_by("full_name")],
    ]  # fmt: skip
    return render(request, "records/services.html", {"rows": rows, "identities": identities}, status=status)


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def diagnoses_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    """The care team's list of a chart's diagnoses: find a code by its start or words, add it,
    put one first, resolve one."""
    chart, access = chart_get_for_user(user=request.user, chart_id=chart_id, need=Need.BILLING)
    if access is not Access.CARE_TEAM:
        raise NotAllowed("Only the care team records diagnoses.", target_type=chart._meta.label_lower,
                         target_id=chart.pk)  # fmt: skip
    if request.method == "POST":
        action, context = request.POST.get("action"), context_of(request)
        try:
            if action == "add":
                made = diagnosis_add(actor=request.user, chart=chart, access=access, code=request.POST.get("code"),
                                     noted_on=request.POST.get("noted_on"), context=context)  # fmt: skip
                messages.success(request, f"Added {made.code}.")
            elif action == "primary":
                diagnosis_make_primary(actor=request.user, chart=chart, access=access,
                                       diagnosis_id=request.POST.get("diagnosis"), context=context)  # fmt: skip
                messages.success(request, "Primary diagnosis changed.")
            elif action == "resolve":
                diagnosis_resolve(actor=request.user, chart=chart, access=access,
                                  diagnosis_id=request.POST.get("diagnosis"),
                                  resolved_on=request.POST.get("resolved_on"), context=context)  # fmt: skip
                messages.success(request, "Marked resolved.")
            else:
                raise ServiceError("Choose what to do.")
        except ServiceError as error:
            if error.is_refusal:
                raise
            messages.error(request, error_text(request, error))
        return redirect("records:diagnoses", chart.pk)
    query = request.GET.get("q", "")[:80]
    listed = [(d, diagnoses.description(d.code)) for d in diagnoses_of(chart)]
    record_read(actor=request.user, context=context_of(request), action=Action.DIAGNOSIS_VIEW, target=chart,
                chart=chart, access=access, count=len(listed))  # fmt: skip
    return render(request, "records/diagnoses.html", {
        "chart": chart, "current": [x for x in listed if x[0].resolved_on is None],
        "resolved": [x for x in listed if x[0].resolved_on is not None],
        "query": query, "found": diagnoses.search(query) if query else [],
    })  # fmt: skip


@mfa_required
@require_GET
def superbill_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    """A client's superbill for one month (``?month=YYYY-MM``), as a PDF: by the chart's billing
    rule (the care team, admins, the client, a minor's guardian), each read audited."""
    chart, access = chart_get_for_user(user=request.user, chart_id=chart_id, need=Need.BILLING)
    try:
        month = date.fromisoformat(f"{request.GET.get('month', '')[:7]}-01")
    except ValueError:
        raise ServiceError("Choose the month as YYYY-MM.", field="month") from None
    record_read(actor=request.user, context=context_of(request), action=Action.BILLING_VIEW, target=chart,
                chart=chart, access=access, superbill=f"{month:%Y-%m}")  # fmt: skip
    pdf = superbill_pdf(superbill_of(chart=chart, month=month))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="superbill-{month:%Y-%m}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
