"""Booking online through the API: the session types a client may book and their open times, a
booking, moving or cancelling a session, the waitlist and its offers, and requests for a first
session (asked on a public endpoint, answered by the admins). The same services as the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils.decorators import method_decorator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import VerifiedAPIView
from accounts.login_session import practice_zone
from accounts.models import Role, User
from accounts.services.password_reset import ResetRefused
from sessions import services
from sessions.models import Appointment, SessionType, WaitlistEntry, WaitlistOffer
from sessions.services import booking, requests, waitlist
from teletherapy.context import context_of
from teletherapy.errors import NotAllowed, ServiceError
from teletherapy.ids import as_uuid
from teletherapy.markers import mfa_exempt
from teletherapy.pagination import paginate
from teletherapy.schema import ErrorSerializer


def _client_only(user: User) -> None:
    if not user.has_role(Role.CLIENT):
        raise NotAllowed("Booking online is for clients; therapists schedule on the Sessions page.",
                         target_type="video.sessiontype", target_id="")  # fmt: skip


class SessionTypeSerializer(serializers.ModelSerializer):
    therapist = serializers.CharField(source="therapist.full_name", read_only=True)

    class Meta:
        model = SessionType
        fields = ["id", "name", "minutes", "mode", "fee", "therapist"]


class BookedSerializer(serializers.ModelSerializer):
    changeable_until = serializers.SerializerMethodField(help_text="Until when it can be moved or cancelled online.")

    class Meta:
        model = Appointment
        fields = ["id", "starts_at", "ends_at", "status", "changeable_until"]

    def get_changeable_until(self, appointment: Appointment) -> datetime:
        return booking.changeable_until(appointment)


class TimesSerializer(serializers.Serializer):
    times = serializers.ListField(child=serializers.DateTimeField(), help_text="In the viewer's time zone.")


class BookSerializer(serializers.Serializer):
    type = serializers.IntegerField(help_text="A session type from /booking/types/.")
    starts_at = serializers.DateTimeField(help_text="One of its open times.")


class MoveSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField(help_text="An open time of the session's type (moving=<id>).")


class TypesView(VerifiedAPIView):
    @extend_schema(responses=SessionTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        actor = self.actor(request)
        _client_only(actor)
        page = paginate(request, booking.bookable_types_for(client=actor), key="minutes")
        return page.response(SessionTypeSerializer(page.items, many=True).data)


class TimesView(VerifiedAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("day", date, description="Only this day (in the therapist's time zone)."),
            OpenApiParameter("moving", str, description="A session of yours being moved: its own time counts as free."),
        ],
        responses=TimesSerializer,
    )
    def get(self, request: Request, type_id: int) -> Response:
        actor = self.actor(request)
        _client_only(actor)
        kind = booking.type_for_client(client=actor, type_id=type_id)
        day = None
        if request.query_params.get("day"):
            try:
                day = date.fromisoformat(request.query_params["day"])
            except ValueError:
                raise ServiceError("Give the day as YYYY-MM-DD.", field="day") from None
        moving = None
        if request.query_params.get("moving"):
            moving = booking.own_booked(client=actor, appointment_id=request.query_params["moving"])
        zone = practice_zone(actor.zone_name)
        found = booking.open_times(session_type=kind, on=day, moving=moving)
        return Response({"times": [t.astimezone(zone).isoformat() for t in found]})


class BookView(VerifiedAPIView):
    @extend_schema(request=BookSerializer, responses={201: BookedSerializer})
    def post(self, request: Request) -> Response:
        actor = self.actor(request)
        _client_only(actor)
        data = _valid(BookSerializer, request)
        kind = booking.type_for_client(client=actor, type_id=data["type"])
        made = booking.client_book(
            client=actor,
            session_type=kind,
            starts_at=data["starts_at"],
            context=context_of(self.django_request(request)),
        )
        return Response(BookedSerializer(made).data, status=status.HTTP_201_CREATED)


class MoveView(VerifiedAPIView):
    @extend_schema(request=MoveSerializer, responses=BookedSerializer)
    def post(self, request: Request, appointment_id: str) -> Response:
        actor = self.actor(request)
        data = _valid(MoveSerializer, request)
        moved = booking.client_move(
            client=actor, appointment_id=appointment_id, starts_at=data["starts_at"],
            context=context_of(self.django_request(request)),
        )  # fmt: skip
        return Response(BookedSerializer(moved).data)


class CancelView(VerifiedAPIView):
    """The session's therapist cancels it at any time; a client of it, online within the policy."""

    @extend_schema(request=None, responses=BookedSerializer)
    def post(self, request: Request, appointment_id: str) -> Response:
        actor = self.actor(request)
        context = context_of(self.django_request(request))
        key = as_uuid(appointment_id)
        mine = (
            Appointment.objects.filter(pk=key, therapist=actor, practice_id=actor.practice_id).first() if key else None
        )
        if mine is not None:
            done = services.appointment_cancel(therapist=actor, appointment=mine, context=context)
        else:
            done = booking.client_cancel(client=actor, appointment_id=appointment_id, context=context)
        return Response(BookedSerializer(done).data)


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# The waitlist -------------------------------------------------------------------------------------------


class WaitlistEntrySerializer(serializers.ModelSerializer):
    type = serializers.IntegerField(source="session_type_id", read_only=True)
    appointment = serializers.UUIDField(source="appointment_id", read_only=True, allow_null=True)

    class Meta:
        model = WaitlistEntry
        fields = ["id", "type", "appointment", "created_at"]


class JoinSerializer(serializers.Serializer):
    type = serializers.IntegerField()
    appointment = serializers.UUIDField(required=False, allow_null=True, help_text="A session to replace.")


class OfferSerializer(serializers.ModelSerializer):
    starts_at = serializers.DateTimeField(source="freed.starts_at", read_only=True)
    minutes = serializers.IntegerField(source="entry.session_type.minutes", read_only=True)
    therapist = serializers.CharField(source="freed.therapist.full_name", read_only=True)

    class Meta:
        model = WaitlistOffer
        fields = ["id", "starts_at", "minutes", "therapist", "outcome"]


class WaitlistView(VerifiedAPIView):
    @extend_schema(responses=WaitlistEntrySerializer(many=True))
    def get(self, request: Request) -> Response:
        actor = self.actor(request)
        _client_only(actor)
        page = paginate(request, waitlist.waiting_of(actor), key="created_at")
        return page.response(WaitlistEntrySerializer(page.items, many=True).data)

    @extend_schema(request=JoinSerializer, responses={201: WaitlistEntrySerializer})
    def post(self, request: Request) -> Response:
        actor = self.actor(request)
        _client_only(actor)
        data = _valid(JoinSerializer, request)
        entry = waitlist.waitlist_join(
            client=actor, type_id=data["type"], appointment_id=data.get("appointment"),
            context=context_of(self.django_request(request)),
        )  # fmt: skip
        return Response(WaitlistEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class WaitlistEntryView(VerifiedAPIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, entry_id: int) -> Response:
        waitlist.waitlist_leave(client=self.actor(request), entry_id=entry_id,
                                context=context_of(self.django_request(request)))  # fmt: skip
        return Response(status=status.HTTP_204_NO_CONTENT)


class OfferView(VerifiedAPIView):
    @extend_schema(responses=OfferSerializer)
    def get(self, request: Request, offer_id: str) -> Response:
        return Response(OfferSerializer(waitlist.offer_for(client=self.actor(request), offer_id=offer_id)).data)


class OfferAcceptView(VerifiedAPIView):
    @extend_schema(request=None, responses={201: BookedSerializer})
    def post(self, request: Request, offer_id: str) -> Response:
        taken = waitlist.offer_accept(
            client=self.actor(request), offer_id=offer_id, context=context_of(self.django_request(request))
        )
        return Response(BookedSerializer(taken).data, status=status.HTTP_201_CREATED)


# Requests for a first session ------------------------------------------------------------------------------


class FirstRequestSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    times = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(requests.TIMES)), required=False, default=list, max_length=4
    )


class ReceivedSerializer(serializers.Serializer):
    detail = serializers.CharField()


@method_decorator(mfa_exempt, name="dispatch")
class FirstRequestPublicView(APIView):
    """POST /api/v1/first-sessions/<slug>/: ask a practice that takes requests for a first session.
    Public; limited per client address."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(request=FirstRequestSerializer, responses={202: ReceivedSerializer, 429: ErrorSerializer})
    def post(self, request: Request, slug: str) -> Response:
        practice = requests.practice_taking_requests(slug)
        data = _valid(FirstRequestSerializer, request)
        django_request = request._request
        try:
            requests.request_make(
                practice=practice, context=context_of(django_request), full_name=data["full_name"], email=data["email"],
                phone=data["phone"], times=data["times"],
            )  # fmt: skip
        except ResetRefused as refused:
            return Response({"code": "too_many", "detail": refused.message}, status=429)
        return Response({"detail": RECEIVED}, status=status.HTTP_202_ACCEPTED)


RECEIVED = "Thank you. The practice will write to you at the address you gave, usually within two working days."


class FirstRequestSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    full_name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    preferred_times = serializers.CharField()
    created_at = serializers.DateTimeField()


class AnswerSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=["invite", "decline"])
    therapist = serializers.IntegerField(required=False, help_text="For an invitation: who will see them.")


class FirstRequestListView(VerifiedAPIView):
    @extend_schema(responses=FirstRequestSummarySerializer(many=True))
    def get(self, request: Request) -> Response:
        page = paginate(request, requests.requests_open(actor=self.actor(request)), key="-created_at")
        return page.response(FirstRequestSummarySerializer(page.items, many=True).data)


class FirstRequestAnswerView(VerifiedAPIView):
    @extend_schema(request=AnswerSerializer, responses={200: None})
    def post(self, request: Request, request_id: str) -> Response:
        data = _valid(AnswerSerializer, request)
        context = context_of(self.django_request(request))
        if data["answer"] == "invite":
            requests.request_invite(actor=self.actor(request), request_id=request_id,
                                    therapist_id=data.get("therapist"), context=context)  # fmt: skip
        else:
            requests.request_decline(actor=self.actor(request), request_id=request_id, context=context)
        return Response({"answer": data["answer"]})
