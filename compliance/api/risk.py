"""The security risk analysis through the API (admins): its versions, and one with its assets,
register and report fingerprint; a threat added or changed while it is in progress."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import VerifiedAPIView
from accounts.models import Role
from compliance.models import RiskAssessment, RiskAsset, RiskItem
from compliance.services import risk
from teletherapy.context import context_of
from teletherapy.errors import NotVisible


class RiskItemSerializer(serializers.ModelSerializer):
    score = serializers.IntegerField(read_only=True)
    level = serializers.CharField(read_only=True)

    class Meta:
        model = RiskItem
        fields = ["id", "threat", "description", "likelihood", "impact", "score", "level", "owner_id", "plan", "due_on"]
        read_only_fields = fields


class RiskAssetSerializer(serializers.ModelSerializer):
    class Meta:
        model = RiskAsset
        fields = ["name", "kind", "location", "from_configuration"]
        read_only_fields = fields


class RiskAnalysisSerializer(serializers.ModelSerializer):
    final = serializers.BooleanField(read_only=True)

    class Meta:
        model = RiskAssessment
        fields = ["id", "number", "started_at", "final", "finalized_at", "report_sha256"]
        read_only_fields = fields


class RiskAnalysisDetailSerializer(RiskAnalysisSerializer):
    assets = RiskAssetSerializer(many=True, read_only=True)
    risks = RiskItemSerializer(many=True, read_only=True)

    class Meta(RiskAnalysisSerializer.Meta):
        fields = [*RiskAnalysisSerializer.Meta.fields, "assets", "risks"]
        read_only_fields = fields


class RiskInput(serializers.Serializer):
    threat = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    likelihood = serializers.IntegerField(min_value=1, max_value=5, required=False)
    impact = serializers.IntegerField(min_value=1, max_value=5, required=False)
    owner_id = serializers.IntegerField(required=False, allow_null=True)
    plan = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    due_on = serializers.DateField(required=False, allow_null=True)


class RiskAnalysisListView(VerifiedAPIView):
    @extend_schema(responses=RiskAnalysisSerializer(many=True))
    def get(self, request: Request) -> Response:
        user = self.actor(request)
        if not user.has_role(Role.ADMIN):
            raise NotVisible("review.riskassessment", "")
        return Response(
            RiskAnalysisSerializer(RiskAssessment.objects.filter(practice_id=user.practice_id), many=True).data
        )


class RiskAnalysisDetailView(VerifiedAPIView):
    @extend_schema(responses=RiskAnalysisDetailSerializer)
    def get(self, request: Request, analysis_id: str) -> Response:
        assessment = risk.assessment_get_for_admin(user=self.actor(request), assessment_id=analysis_id)
        return Response(RiskAnalysisDetailSerializer(assessment).data)

    @extend_schema(request=RiskInput, responses={201: RiskItemSerializer})
    def post(self, request: Request, analysis_id: str) -> Response:
        """Add a threat to the register of an analysis in progress."""
        assessment = risk.assessment_get_for_admin(user=self.actor(request), assessment_id=analysis_id)
        data = RiskInput(data=request.data)
        data.is_valid(raise_exception=True)
        item = risk.risk_save(
            actor=self.actor(request), assessment=assessment, fields=dict(data.validated_data),
            context=context_of(self.django_request(request)),
        )  # fmt: skip
        return Response(RiskItemSerializer(item).data, status=status.HTTP_201_CREATED)
