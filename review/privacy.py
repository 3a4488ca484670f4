"""The public privacy and security fact sheet: a page per practice (with a print view) and the
same facts as JSON, readable before anyone signs up."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Practice, Role
from accounts.rules import is_mfa_verified, mfa_required
from accounts.types import AuthedRequest
from review.fact_reconsent import fact_change_reconsent
from review.factsheet import facts_record, practice_facts, sections_of
from review.models import FactChange
from teletherapy.errors import NotVisible, ServiceError, error_text
from teletherapy.markers import mfa_exempt

CHANGES_SHOWN = 100


def _sheet(practice: Practice) -> dict[str, object]:
    facts = practice_facts(practice)
    facts_record(practice, facts)
    history = FactChange.objects.filter(practice_id=practice.pk)
    published = history.order_by("changed_at").values_list("changed_at", flat=True).first()
    # The first statement of every fact at publication is one line ("first published"); what
    # came after, a new fact included, is listed one by one.
    after = history.exclude(previous="", changed_at=published) if published is not None else history
    changes = list(after.select_related("reconsent").order_by("-changed_at", "-id")[:CHANGES_SHOWN])
    return {
        "practice": practice,
        "facts": facts,
        "sections": sections_of(facts),
        "changes": changes,
        "published": published,
    }


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
    context = _sheet(practice)
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
    from audit.models import Action
    from audit.services import audit_record

    user = request.user
    if user.practice.slug != slug or not user.has_role(Role.ADMIN):
        raise NotVisible("accounts.practice", slug)
    listed = request.POST.get("listed") == "1"
    Practice.objects.filter(pk=user.practice_id).update(listed_publicly=listed)
    audit_record(
        action=Action.PRACTICE_SETTINGS_CHANGE, actor=user, request=request, target=user.practice,
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
            actor=request.user, change_id=change_id, site=(settings.SITE_URL or "").rstrip("/"), request=request
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


class FactSerializer(serializers.Serializer):
    key = serializers.CharField()
    section = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the field "label", not DRF's attribute
    value = serializers.CharField()
    detail = serializers.CharField()


class FactChangeSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # the field "label", not DRF's attribute
    value = serializers.CharField()
    previous = serializers.CharField(help_text="Empty for a fact first stated after publication.")
    changed_at = serializers.DateTimeField()


class FactSheetSerializer(serializers.Serializer):
    practice = serializers.CharField()
    published = serializers.DateTimeField(allow_null=True, help_text="When the sheet first stated its facts.")
    facts = FactSerializer(many=True)
    changes = FactChangeSerializer(many=True, help_text="Newest first; the first publication is not listed.")


@method_decorator(mfa_exempt, name="dispatch")
class FactSheetView(APIView):
    """GET /api/v1/privacy/<slug>/: the practice's fact sheet and what changed when. Public."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(responses=FactSheetSerializer)
    def get(self, request: Request, slug: str) -> Response:
        practice = Practice.objects.filter(slug=slug).first()
        if practice is None:
            raise Http404
        sheet = _sheet(practice)
        return Response(
            FactSheetSerializer(
                {
                    "practice": practice.name,
                    "published": sheet["published"],
                    "facts": sheet["facts"],
                    "changes": sheet["changes"],
                }
            ).data
        )
