"""Insurance on a client's account: their coverage, claims of their charges, each claim's state
as the payer answers, and its two forms (the CMS-1500 PDF and the 837P file)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from accounts.rules import role_required
from accounts.types import AuthedRequest
from billing.claimdata import claim_data
from billing.pdfs import cms1500_pdf
from billing.selectors import claim_get_for_user
from billing.services.claims import claim_make, claim_move, coverage_set
from billing.views.accounts import keeper_post, pdf_response, read_audited
from billing.x12 import claim_837p
from teletherapy.context import context_of
from teletherapy.errors import ServiceError, error_text


@role_required(Role.THERAPIST, Role.ADMIN)
@require_POST
def coverage_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    post = request.POST
    return keeper_post(request, chart_id, lambda chart, access: coverage_set(
        actor=request.user, chart=chart, access=access, payer_name=post.get("payer_name"),
        payer_id=post.get("payer_id"), member_id=post.get("member_id"), group_number=post.get("group_number", ""),
        sex=post.get("sex", "U"), context=context_of(request),
    ), "Insurance saved.")  # fmt: skip


@role_required(Role.THERAPIST, Role.ADMIN)
@require_POST
def claim_make_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    return keeper_post(request, chart_id, lambda chart, access: claim_make(
        actor=request.user, chart=chart, access=access, charge_ids=request.POST.getlist("charges"),
        context=context_of(request),
    ), "Claim made, as a draft.")  # fmt: skip


@role_required(Role.THERAPIST, Role.ADMIN)
@require_POST
def claim_status_view(request: AuthedRequest, claim_id: str) -> HttpResponse:
    claim, access = claim_get_for_user(user=request.user, claim_id=claim_id)
    post = request.POST
    try:
        claim_move(actor=request.user, claim=claim, access=access, status=post.get("status"), on=post.get("on"),
                   paid_amount=post.get("paid_amount"), payer_reference=post.get("payer_reference", ""),
                   note=post.get("note", ""), context=context_of(request))  # fmt: skip
    except ServiceError as error:
        if error.is_refusal:
            raise
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, "Claim updated.")
    return redirect("billing:account", claim.chart_id)


@role_required(Role.THERAPIST, Role.ADMIN)
@require_GET
def claim_form_view(request: AuthedRequest, claim_id: str, form: str) -> HttpResponse:
    """The claim as a CMS-1500 PDF (``cms1500``) or an 837P file (``837p``); a claim missing what a
    payer needs says what, on the account page."""
    claim, access = claim_get_for_user(user=request.user, claim_id=claim_id)
    try:
        data = claim_data(claim)
    except ServiceError as error:
        messages.error(request, error_text(request, error))
        return redirect("billing:account", claim.chart_id)
    read_audited(request, claim.chart, access, target=claim, claim_form=form)
    if form == "cms1500":
        return pdf_response(cms1500_pdf(data, currency=claim.practice.currency), f"claim-{claim.number}-cms1500.pdf")
    text = claim_837p(data, at=timezone.now(), interchange=claim.number, contact=request.user.email)
    response = HttpResponse(text, content_type="application/edi-x12")
    response["Content-Disposition"] = f'attachment; filename="claim-{claim.number}.837p.x12"'
    response["Cache-Control"] = "no-store"
    return response
