"""Billing records of a chart and their status."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import VerifiedAPIView
from audit.models import Action
from records import diagnoses, services
from records.api.base import RecordsView, valid_input
from records.models import BillingRecord, ChartDiagnosis
from records.selectors import (
    Need,
    billing_get_for_user,
    billing_visible,
)
from records.services.diagnoses import diagnoses_of, diagnosis_add
from teletherapy.context import context_of
from teletherapy.pagination import paginate


class BillingSerializer(serializers.ModelSerializer):
    diagnosis_codes = serializers.SerializerMethodField()

    class Meta:
        model = BillingRecord
        fields = [
            "id", "chart", "service_date", "cpt_code", "modifier", "place_of_service", "units", "minutes",
            "appointment_id", "diagnosis_codes", "fee", "status",
        ]  # fmt: skip

    def get_diagnosis_codes(self, record: BillingRecord) -> list[str]:
        return [code for code in record.diagnosis_codes.split(",") if code]


class BillingInput(serializers.Serializer):
    service_date = serializers.CharField(max_length=10)
    cpt_code = serializers.CharField(max_length=5)
    diagnosis_codes = serializers.ListField(child=serializers.CharField(max_length=10), max_length=12)
    fee = serializers.CharField(max_length=12)


class BillingListView(RecordsView):
    @extend_schema(responses=BillingSerializer(many=True))
    def get(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.BILLING)
        page = paginate(request, billing_visible(chart=chart, access=access), key="-service_date")
        self.read(request, Action.BILLING_VIEW, chart, chart, access, count=len(page.items))
        return page.response(BillingSerializer(page.items, many=True).data)

    @extend_schema(request=BillingInput, responses={201: BillingSerializer})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.BILLING)
        data = valid_input(BillingInput, request)
        record = services.billing_create(
            actor=self.actor(request),
            chart=chart,
            access=access,
            context=context_of(self.django_request(request)),
            **data,
        )
        return Response(BillingSerializer(record).data, status=status.HTTP_201_CREATED)


class ChangeInput(serializers.Serializer):
    """A draft is adjusted (any of the fields) and may be confirmed in the same request (status)."""

    status = serializers.CharField(max_length=16, required=False)
    cpt_code = serializers.CharField(max_length=5, required=False)
    modifier = serializers.CharField(max_length=2, required=False, allow_blank=True)
    place_of_service = serializers.CharField(max_length=2, required=False, allow_blank=True)
    units = serializers.IntegerField(required=False)
    fee = serializers.CharField(max_length=12, required=False)
    diagnosis_codes = serializers.ListField(child=serializers.CharField(max_length=10), max_length=12, required=False)


class BillingDetailView(RecordsView):
    @extend_schema(request=ChangeInput, responses=BillingSerializer)
    def patch(self, request: Request, billing_id: uuid.UUID) -> Response:
        record, access = billing_get_for_user(user=self.actor(request), billing_id=billing_id)
        data = valid_input(ChangeInput, request)
        context = context_of(self.django_request(request))
        new_status = data.pop("status", None)
        if data:
            record = services.billing_adjust(
                actor=self.actor(request), record=record, access=access, changes=data, context=context
            )
        if new_status is not None:
            record = services.billing_set_status(
                actor=self.actor(request), record=record, access=access, status=new_status, context=context
            )
        return Response(BillingSerializer(record).data)


# Diagnoses ----------------------------------------------------------------------------------------


class DiagnosisSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    code = serializers.CharField()
    description = serializers.SerializerMethodField()
    primary = serializers.SerializerMethodField()
    noted_on = serializers.DateField()
    resolved_on = serializers.DateField(allow_null=True)

    def get_description(self, diagnosis: ChartDiagnosis) -> str:
        return diagnoses.description(diagnosis.code)

    def get_primary(self, diagnosis: ChartDiagnosis) -> bool:
        return bool(self.context.get("primary") == diagnosis.pk)


class DiagnosisInput(serializers.Serializer):
    code = serializers.CharField(max_length=10)
    noted_on = serializers.DateField(required=False)


class DiagnosisListView(RecordsView):
    @extend_schema(responses=DiagnosisSerializer(many=True))
    def get(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.BILLING)
        found = list(diagnoses_of(chart))
        self.read(request, Action.DIAGNOSIS_VIEW, chart, chart, access, count=len(found))
        current = [d for d in found if d.resolved_on is None]
        primary = current[0].pk if current else None
        return Response(DiagnosisSerializer(found, many=True, context={"primary": primary}).data)

    @extend_schema(request=DiagnosisInput, responses={201: DiagnosisSerializer})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.BILLING)
        data = valid_input(DiagnosisInput, request)
        made = diagnosis_add(
            actor=self.actor(request), chart=chart, access=access, code=data["code"], noted_on=data.get("noted_on"),
            context=context_of(self.django_request(request)),
        )  # fmt: skip
        return Response(DiagnosisSerializer(made).data, status=status.HTTP_201_CREATED)


class CodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    description = serializers.CharField()


class CodesSerializer(serializers.Serializer):
    codes = CodeSerializer(many=True, help_text="At most 20, best first.")


class IcdSearchView(VerifiedAPIView):
    """GET /api/v1/records/icd10/?q=: billable ICD-10-CM codes by code or words (the public code set)."""

    @extend_schema(parameters=[OpenApiParameter("q", str, description="A code's start, or words.")],
                   responses={200: CodesSerializer})  # fmt: skip
    def get(self, request: Request) -> Response:
        found = diagnoses.search(request.query_params.get("q", ""))
        return Response({"codes": [{"code": code, "description": text} for code, text in found]})
