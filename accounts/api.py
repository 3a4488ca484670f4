"""JSON API for account operations, under /api/v1/accounts/."""

from __future__ import annotations

import uuid
from typing import Any, cast

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.models import Invitation, Role, User, UserSession
from accounts.permissions import roles_permission
from accounts.selectors import invitation_get_for_user, invitations_visible_to, sessions_of
from accounts.types import AuthedRequest
from teletherapy.context import context_of
from teletherapy.pagination import paginate


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    practice = serializers.CharField(source="practice.name")

    class Meta:
        model = User
        fields = ["id", "email", "full_name", "practice", "roles"]

    def get_roles(self, user: User) -> list[str]:
        return user.role_names()


class SessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = UserSession
        fields = ["id", "created_at", "last_seen_at", "ip_address", "user_agent", "current"]

    def get_current(self, obj: UserSession) -> bool:
        return obj.session_key == self.context["current_key"]


class PracticeClientField(serializers.PrimaryKeyRelatedField):
    """A client of the requesting user's own practice; anyone else is "does not exist"."""

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        if request is None:
            return User.objects.none()
        return User.objects.filter(practice_id=request.user.practice_id, role_grants__role=Role.CLIENT)


class InvitationSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    guardian_for = PracticeClientField(required=False, allow_null=True)

    class Meta:
        model = Invitation
        fields = ["id", "email", "full_name", "role", "guardian_for", "status", "created_at", "expires_at"]
        read_only_fields = ["id", "status", "created_at", "expires_at"]


class VerifiedAPIView(APIView):
    """Behind MFAVerified (the default permission), the user is always a signed-in User."""

    @staticmethod
    def actor(request: Request) -> User:
        return cast(User, request.user)

    @staticmethod
    def django_request(request: Request) -> AuthedRequest:
        return cast(AuthedRequest, request._request)


class MeView(VerifiedAPIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class SessionListView(VerifiedAPIView):
    @extend_schema(responses=SessionSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = paginate(request, sessions_of(user=self.actor(request)), key="-last_seen_at")
        data = SessionSerializer(page.items, many=True, context={"current_key": request.session.session_key}).data
        return page.response(data)


class SessionRevokeOthersView(VerifiedAPIView):
    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request) -> Response:
        count = services.sessions_revoke_others(request=self.django_request(request))
        return Response({"ended": count})


class InvitationListView(VerifiedAPIView):
    permission_classes = [roles_permission(Role.ADMIN, Role.THERAPIST)]

    @extend_schema(responses=InvitationSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = paginate(request, invitations_visible_to(user=self.actor(request)), key="-created_at")
        return page.response(InvitationSerializer(page.items, many=True).data)

    @extend_schema(request=InvitationSerializer, responses={201: InvitationSerializer})
    def post(self, request: Request) -> Response:
        serializer = InvitationSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        invitation, _token = services.invitation_send(
            actor=self.actor(request),
            context=context_of(self.django_request(request)),
            email=serializer.validated_data["email"],
            role=serializer.validated_data["role"],
            full_name=serializer.validated_data.get("full_name", ""),
            guardian_for=serializer.validated_data.get("guardian_for"),
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationRevokeView(VerifiedAPIView):
    permission_classes = [roles_permission(Role.ADMIN, Role.THERAPIST)]

    @extend_schema(request=None, responses=InvitationSerializer)
    def post(self, request: Request, invitation_id: uuid.UUID) -> Response:
        invitation = invitation_get_for_user(user=self.actor(request), invitation_id=invitation_id)
        invitation = services.invitation_revoke(
            actor=self.actor(request), context=context_of(self.django_request(request)), invitation=invitation
        )
        return Response(InvitationSerializer(invitation).data)
