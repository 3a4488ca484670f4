"""The public privacy and security fact sheet as JSON: the same facts as the page, readable before
anyone signs up."""

from __future__ import annotations

from django.http import Http404
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Practice
from compliance.services.factsheet import sheet_of
from teletherapy.markers import mfa_exempt


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
        sheet = sheet_of(practice)
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
