"""Training through the API: where the signed-in staff member stands, and attesting."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import VerifiedAPIView
from compliance.services import training
from teletherapy.context import context_of
from teletherapy.errors import NotVisible


class StandingSerializer(serializers.Serializer):
    module = serializers.CharField(source="module.title")
    version = serializers.UUIDField(source="version.pk")
    number = serializers.IntegerField(source="version.number")
    state = serializers.ChoiceField(choices=["done", "due", "overdue"])
    due = serializers.DateTimeField()
    attested_at = serializers.DateTimeField(source="attested.attested_at", allow_null=True, default=None)


class AttestInput(serializers.Serializer):
    typed_name = serializers.CharField(max_length=150)


class AttestationSerializer(serializers.Serializer):
    version = serializers.UUIDField(source="version_id")
    attested_at = serializers.DateTimeField()


class TrainingListView(VerifiedAPIView):
    @extend_schema(responses=StandingSerializer(many=True))
    def get(self, request: Request) -> Response:
        user = self.actor(request)
        if not training.is_staff(user):
            raise NotVisible("review.trainingversion", "")
        return Response(StandingSerializer(training.standing_of(user), many=True).data)


class TrainingAttestView(VerifiedAPIView):
    @extend_schema(request=AttestInput, responses={201: AttestationSerializer})
    def post(self, request: Request, training_version_id: str) -> Response:
        user = self.actor(request)
        version = training.version_get_for_staff(user=user, version_id=training_version_id)
        data = AttestInput(data=request.data)
        data.is_valid(raise_exception=True)
        made = training.attest(
            actor=user,
            version=version,
            typed_name=data.validated_data["typed_name"],
            context=context_of(self.django_request(request)),
        )
        return Response(AttestationSerializer(made).data, status=status.HTTP_201_CREATED)
