"""The public privacy and security fact sheet: a page per practice (with a print view), readable
before anyone signs up; and its admins' listing and re-consent actions."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Practice, Role
from accounts.rules import is_mfa_verified, mfa_required
from accounts.types import AuthedRequest
from audit.models import Action
from audit.services import audit_record
from compliance.services.fact_reconsent import fact_change_reconsent
from compliance.services.factsheet import sheet_of
from teletherapy.context import context_of
from teletherapy.errors import NotVisible, ServiceError, error_text
from teletherapy.markers import mfa_exempt


@mfa_exempt
@require_GET
def index_view(request: HttpRequest) -> HttpResponse:
    """Which practice's sheet: the only one, or a list to choose from."""
    # Only the practices that chose to be listed: a practice's sheet is public at its own address,
    # but that it uses this server is its own to say.
    practices = list(Practice.objects.filter(listed_publicly=True).order_by("name").only("name", "slug"))
    if len(practices) == 1:
        return redirect("privacy:sheet", slug=practices[0].slug)
    return render(request, "privacy/index.html", {"practices": practices})


@mfa_exempt
@require_GET
def sheet_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = get_object_or_404(Practice, slug=slug)
    context = sheet_of(practice)
    context["print_view"] = request.GET.get("print") == "1"
    user = request.user
    context["manages"] = (
        is_mfa_verified(request) and user.has_role(Role.ADMIN) and user.practice_id == practice.pk  # type: ignore[union-attr]
    )
    return render(request, "privacy/sheet.html", context)


@mfa_required
@require_POST
def listing_view(request: AuthedRequest, slug: str) -> HttpResponse:
    """An admin chooses whether the server's public index names the practice (audited)."""
    user = request.user
    if user.practice.slug != slug or not user.has_role(Role.ADMIN):
        raise NotVisible("accounts.practice", slug)
    listed = request.POST.get("listed") == "1"
    Practice.objects.filter(pk=user.practice_id).update(listed_publicly=listed)
    audit_record(
        action=Action.PRACTICE_SETTINGS_CHANGE, actor=user, context=context_of(request), target=user.practice,
        details={"listed_publicly": listed},
    )  # fmt: skip
    messages.success(
        request, "The practice is listed on this server's index." if listed else "The practice is no longer listed."
    )
    return redirect("privacy:sheet", slug=slug)


@mfa_required
@require_POST
def reconsent_view(request: AuthedRequest, slug: str, change_id: int) -> HttpResponse:
    """An admin asks the practice's clients to consent again because of this change."""
    if request.user.practice.slug != slug:
        raise NotVisible("review.factchange", change_id)
    try:
        asked = fact_change_reconsent(
            actor=request.user,
            change_id=change_id,
            site=(settings.SITE_URL or "").rstrip("/"),
            context=context_of(request),
        )
    except ServiceError as error:
        if isinstance(error, NotVisible):
            raise
        messages.error(request, error_text(request, error))
    else:
        messages.success(
            request,
            f"Published version {asked.version_number} of the privacy notice; clients will be asked to sign it.",
        )
    return redirect("privacy:sheet", slug=slug)
