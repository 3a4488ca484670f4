"""Charts: the list, one chart's summary and its update, and emergency access to it."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Role
from audit.models import Action
from audit.services import audit_record
from records import services
from records.api.base import ReasonInput, RecordsView, valid_input
from records.models import ClientChart
from records.selectors import (
    Need,
    charts_for_therapist,
)
from teletherapy.context import context_of
from teletherapy.errors import NotVisible
from teletherapy.pagination import paginate


class ChartSerializer(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.full_name")

    class Meta:
        model = ClientChart
        fields = ["id", "client", "client_name", "is_minor", "guardian_sees_notes", "updated_at"]


class ChartDetailSerializer(ChartSerializer):
    class Meta(ChartSerializer.Meta):
        fields = [*ChartSerializer.Meta.fields, "date_of_birth", "phone", "address", "emergency_contact"]


class ChartListView(RecordsView):
    @extend_schema(responses=ChartSerializer(many=True))
    def get(self, request: Request) -> Response:
        user = self.actor(request)
        if user.has_role(Role.ADMIN):
            charts = ClientChart.objects.filter(practice_id=user.practice_id).select_related("client")
        elif user.has_role(Role.THERAPIST):
            charts = charts_for_therapist(user=user)
        else:
            charts = ClientChart.objects.filter(client=user).select_related("client")
        page = paginate(request, charts, key="-updated_at")
        audit_record(
            action=Action.CHART_LIST,
            actor=user,
            context=context_of(self.django_request(request)),
            details={"count": len(page.items)},
            subjects=[chart.client_id for chart in page.items],
        )
        return page.response(ChartSerializer(page.items, many=True).data)


class ChartDetailView(RecordsView):
    @extend_schema(responses=ChartDetailSerializer)
    def get(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.SUMMARY)
        self.read(request, Action.CHART_VIEW, chart, chart, access, sections="summary")
        return Response(ChartDetailSerializer(chart).data)

    @extend_schema(request=ChartDetailSerializer, responses=ChartDetailSerializer)
    def patch(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.SUMMARY)
        data = request.data if isinstance(request.data, dict) else {}
        chart = services.chart_update(
            actor=self.actor(request),
            chart=chart,
            access=access,
            data=dict(data),
            context=context_of(self.django_request(request)),
        )
        return Response(ChartDetailSerializer(chart).data)


class EmergencyAccessView(RecordsView):
    @extend_schema(request=ReasonInput, responses={201: dict})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        user = self.actor(request)
        chart = ClientChart.objects.filter(pk=chart_id, practice_id=user.practice_id).first()
        if chart is None:
            raise NotVisible("records.clientchart", chart_id)
        reason = valid_input(ReasonInput, request)["reason"]
        access = services.emergency_access_start(
            actor=user, chart=chart, reason=reason, context=context_of(self.django_request(request))
        )
        return Response({"id": str(access.pk), "expires_at": access.expires_at}, status=status.HTTP_201_CREATED)
