"""JSON endpoints for the call page, and the session list and scheduling for API clients."""

from __future__ import annotations

import json
import logging

from asgiref.sync import sync_to_async
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import VerifiedAPIView
from accounts.models import Role
from accounts.rules import is_mfa_verified
from audit.models import Action
from audit.services import audit_record
from consent.selectors import consent_missing_for
from sessions import services
from sessions.echo import EchoBusy, echo_answer
from sessions.gate import Refusal, appointment_for_participant, entry_decision
from sessions.ice import ice_config
from sessions.models import Appointment
from sessions.protocol import ProtocolError, check_sdp
from sessions.realtime import CloseCode
from sessions.regions import REGION_NAMES
from sessions.selectors import appointment_get_for_user, appointments_listed, appointments_schedule_for, caseload_of
from sessions.services.scheduling import CLIENTS_PER_KIND, MAX_MINUTES, MIN_MINUTES
from teletherapy.context import context_of
from teletherapy.errors import NotAllowed, NotVisible, ServiceError, error_response
from teletherapy.pagination import paginate

logger = logging.getLogger(__name__)


class CheckInSerializer(serializers.Serializer):
    location = serializers.ChoiceField(choices=sorted(REGION_NAMES))
    private_device = serializers.BooleanField(default=False)
    private_network = serializers.BooleanField(default=False)
    private_space = serializers.BooleanField(default=False)
    at_home = serializers.BooleanField(default=True, help_text="At home (place of service 10) or elsewhere (02).")


class CheckInView(VerifiedAPIView):
    @extend_schema(request=CheckInSerializer, responses={201: None})
    def post(self, request: Request, appointment_id: str) -> Response:
        found = appointment_for_participant(self.actor(request), appointment_id)
        if found is None:
            raise NotVisible("video.appointment", appointment_id, "There is no such session for you.")
        appointment, _role = found
        serializer = CheckInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check_in = services.check_in_record(
            user=self.actor(request),
            appointment=appointment,
            context=context_of(self.django_request(request)),
            **serializer.validated_data,
        )
        licensed = services.licensed_in(appointment.therapist_id, check_in.location)
        return Response({"id": str(check_in.pk), "licensed": licensed}, status=status.HTTP_201_CREATED)


class IceServersView(VerifiedAPIView):
    @extend_schema(responses={200: None})
    def get(self, request: Request, appointment_id: str) -> Response:
        decision = entry_decision(
            user=self.actor(request), session=request.session, appointment_id=appointment_id, check_in_required=False
        )
        if isinstance(decision, Refusal):
            if decision.code == CloseCode.NOT_FOUND:
                raise NotVisible("video.appointment", appointment_id, decision.detail)
            raise NotAllowed(
                decision.detail, code=decision.reason, target_type="video.appointment", target_id=appointment_id
            )
        return Response(ice_config(appointment=decision.appointment, policy=decision.policy))


class AppointmentSerializer(serializers.ModelSerializer):
    clients = serializers.SerializerMethodField()
    therapist = serializers.CharField(source="therapist.full_name", read_only=True)

    class Meta:
        model = Appointment
        fields = ["id", "kind", "starts_at", "ends_at", "status", "therapist", "clients"]

    def get_clients(self, appointment: Appointment) -> list[str]:
        return [p.client.full_name for p in appointment.participants.all()]


class ScheduleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(CLIENTS_PER_KIND))
    clients = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=3)
    starts_at = serializers.DateTimeField()
    minutes = serializers.IntegerField(min_value=MIN_MINUTES, max_value=MAX_MINUTES, default=50)


class AppointmentListView(VerifiedAPIView):
    @extend_schema(responses=AppointmentSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = paginate(request, appointments_schedule_for(user=self.actor(request)), key="starts_at")
        appointments_listed(
            user=self.actor(request),
            context=context_of(self.django_request(request)),
            appointments=page.items,
            where="api",
        )
        return page.response(AppointmentSerializer(page.items, many=True).data)

    @extend_schema(request=ScheduleSerializer, responses={201: AppointmentSerializer})
    def post(self, request: Request) -> Response:
        actor = self.actor(request)
        if not actor.has_role(Role.THERAPIST):
            raise NotAllowed("Only therapists schedule sessions.", target_type="video.appointment")
        serializer = ScheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        clients = list(caseload_of(actor).filter(pk__in=data["clients"]))
        if len(clients) != len(set(data["clients"])):
            raise ServiceError("You can schedule only clients on your caseload.", field="clients")
        appointment = services.appointment_schedule(
            therapist=actor,
            clients=clients,
            kind=data["kind"],
            starts_at=data["starts_at"],
            minutes=data["minutes"],
            context=context_of(self.django_request(request)),
        )
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


# The connection test runs in the server's event loop, where the aiortc peer lives on after the
# answer is sent; so it is a plain async view rather than a DRF one.

MAX_OFFER_BYTES = 64 * 1024


def _audit_test(request: HttpRequest, outcome: str) -> None:
    with transaction.atomic():
        audit_record(
            action=Action.VIDEO_CONNECTION_TEST,
            actor=request.user,
            context=context_of(request),
            details={"result": outcome},
        )


@require_POST
async def connection_test_view(request: HttpRequest) -> HttpResponse:
    if not await sync_to_async(is_mfa_verified)(request):
        return error_response(
            request, status=403, code="mfa_required", detail="Complete the second sign-in step first."
        )
    if len(request.body) > MAX_OFFER_BYTES:
        return error_response(request, status=413, code="too_large", detail="The offer is too large.")
    try:
        body = json.loads(request.body)
        if not isinstance(body, dict) or body.get("type") != "offer":
            raise ValueError
        sdp = body.get("sdp")
        check_sdp(sdp)
    except ProtocolError as exc:
        return error_response(request, status=400, code=exc.code, detail=exc.detail)
    except ValueError:
        return error_response(request, status=400, code="bad_offer", detail='Send {"type": "offer", "sdp": "..."}.')
    try:
        answer = await echo_answer(str(sdp))
    except EchoBusy:
        return error_response(
            request, status=503, code="busy", detail="The connection test is busy. Try again in a minute."
        )
    except Exception:
        logger.warning("Connection test offer refused", exc_info=True)
        return error_response(request, status=400, code="bad_offer", detail="That offer could not be answered.")
    await sync_to_async(_audit_test)(request, "answered")
    return JsonResponse({"type": "answer", "sdp": answer})


class ConsentGateView(VerifiedAPIView):
    """/api/v1/consent/gate/?appointment=<id>: what stops this appointment going ahead (routed by
    teletherapy.urls under consent's path; it lives here because it reads appointments)."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        appointment = appointment_get_for_user(
            user=self.actor(request), appointment_id=request.query_params.get("appointment", "")
        )
        result = consent_missing_for(appointment, self.actor(request))
        return Response(
            {
                "appointment": str(appointment.pk),
                "ready": result.ready,
                "missing": [
                    {
                        "client": m.client.pk,
                        "client_name": m.client.full_name,
                        "kind": m.kind,
                        "version": str(m.version.pk) if m.version else None,
                        "you_can_sign": m.can_sign,
                    }
                    for m in result.missing
                ],
            }
        )
