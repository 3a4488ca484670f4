"""Billing records of a chart and their status."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import Action
from records import services
from records.api.base import RecordsView, valid_input
from records.models import BillingRecord
from records.selectors import (
    Need,
    billing_get_for_user,
    billing_visible,
)
from teletherapy.context import context_of
from teletherapy.pagination import paginate


class BillingSerializer(serializers.ModelSerializer):
    diagnosis_codes = serializers.SerializerMethodField()

    class Meta:
        model = BillingRecord
        fields = ["id", "chart", "service_date", "cpt_code", "diagnosis_codes", "fee", "status"]

    def get_diagnosis_codes(self, record: BillingRecord) -> list[str]:
        return record.diagnosis_codes.split(",")


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


class StatusInput(serializers.Serializer):
    status = serializers.CharField(max_length=16)


class BillingDetailView(RecordsView):
    @extend_schema(request=StatusInput, responses=BillingSerializer)
    def patch(self, request: Request, billing_id: uuid.UUID) -> Response:
        found = billing_get_for_user(user=self.actor(request), billing_id=billing_id)
        new_status = valid_input(StatusInput, request)["status"]
        record = services.billing_set_status(
            actor=self.actor(request),
            record=found[0],
            access=found[1],
            status=new_status,
            context=context_of(self.django_request(request)),
        )
        return Response(BillingSerializer(record).data)
