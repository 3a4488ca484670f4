"""PHQ-9 and GAD-7 questionnaires: assigning, listing and the client's answers."""

from __future__ import annotations

import json
import uuid
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import Action
from records import services
from records.api.base import RecordsView, valid_input
from records.models import Assessment
from records.selectors import (
    Need,
    assessment_get_for_user,
)
from teletherapy.context import context_of
from teletherapy.pagination import paginate


class AssessmentSerializer(serializers.ModelSerializer):
    result = serializers.SerializerMethodField()

    class Meta:
        model = Assessment
        fields = ["id", "chart", "kind", "assigned_at", "completed_at", "result"]

    def get_result(self, assessment: Assessment) -> dict[str, Any] | None:
        return json.loads(assessment.result) if assessment.result else None


class KindInput(serializers.Serializer):
    kind = serializers.CharField(max_length=8)


class AnswersInput(serializers.Serializer):
    answers = serializers.ListField(child=serializers.IntegerField(), max_length=20)


class AssessmentListView(RecordsView):
    @extend_schema(responses=AssessmentSerializer(many=True))
    def get(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.CLINICAL)
        page = paginate(request, chart.assessments.all(), key="-assigned_at")
        self.read(request, Action.ASSESSMENT_VIEW, chart, chart, access, count=len(page.items))
        return page.response(AssessmentSerializer(page.items, many=True).data)

    @extend_schema(request=KindInput, responses={201: AssessmentSerializer})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.CLINICAL)
        kind = valid_input(KindInput, request)["kind"]
        assessment = services.assessment_assign(
            actor=self.actor(request),
            chart=chart,
            access=access,
            kind=kind,
            context=context_of(self.django_request(request)),
        )
        return Response(AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)


class AssessmentSubmitView(RecordsView):
    @extend_schema(request=AnswersInput, responses=AssessmentSerializer)
    def post(self, request: Request, assessment_id: uuid.UUID) -> Response:
        found = assessment_get_for_user(user=self.actor(request), assessment_id=assessment_id)
        answers = valid_input(AnswersInput, request)["answers"]
        services.assessment_submit(
            actor=self.actor(request),
            assessment=found[0],
            answers=answers,
            context=context_of(self.django_request(request)),
        )
        found[0].refresh_from_db()
        return Response(AssessmentSerializer(found[0]).data)
