"""Privacy incidents through the API: report and follow (anyone), triage, affected people,
notices and closing (admins). The same door and services as the pages."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import VerifiedAPIView
from accounts.models import Role
from compliance import incident_rules as rules
from compliance import selectors
from compliance.models import Incident
from compliance.services import incident_notices as notices
from compliance.services import incident_people as people
from compliance.services import incidents
from teletherapy.context import context_of
from teletherapy.pagination import paginate
from teletherapy.parsers import BoundedJSONParser
from teletherapy.schema import ErrorSerializer


def _text() -> serializers.CharField:
    return serializers.CharField(max_length=rules.LIMIT, required=False, allow_blank=True)


class IncidentMessageSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    sender = serializers.ChoiceField(choices=["reporter", "practice"], source="from")
    text = serializers.CharField()


class IncidentSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(source="incident.pk")
    number = serializers.IntegerField(source="incident.number")
    reported_at = serializers.DateTimeField(source="incident.reported_at")
    happened_on = serializers.DateField(source="incident.happened_on", allow_null=True)
    status = serializers.CharField()
    status_label = serializers.CharField(source="reporter_status")


class IncidentReportSerializer(IncidentSummarySerializer):
    """What a reporter sees of their own report."""

    summary = serializers.CharField(source="incident.summary")
    messages = IncidentMessageSerializer(many=True)


class IncidentPersonSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.CharField()
    residence = serializers.CharField()
    method = serializers.CharField()
    found_by = serializers.CharField()
    notified_at = serializers.DateTimeField(allow_null=True)


class IncidentDeadlineSerializer(serializers.Serializer):
    audience = serializers.CharField()
    title = serializers.CharField(source="label")
    due = serializers.DateField()
    done_on = serializers.DateField(allow_null=True)
    state = serializers.CharField()
    note = serializers.CharField()


class IncidentTriageSerializer(serializers.Serializer):
    discovered_on = serializers.DateField()
    breach_on = serializers.DateField(allow_null=True)
    breach_ended_on = serializers.DateField(allow_null=True)
    exclusion = serializers.CharField()
    data_sealed = serializers.BooleanField()
    keys_exposed = serializers.BooleanField()
    unsecured = serializers.BooleanField()
    breach_type = serializers.CharField()
    location = serializers.CharField()
    outcome = serializers.CharField()
    factors = serializers.DictField(child=serializers.CharField())
    reasons = serializers.CharField()


class IncidentNoticeSerializer(serializers.Serializer):
    audience = serializers.CharField()
    method = serializers.CharField()
    at = serializers.DateTimeField()
    person_id = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField()
    reference = serializers.CharField()


class IncidentAdminSerializer(IncidentReportSerializer):
    """What an admin sees: everything."""

    origin = serializers.CharField(source="incident.source")
    reporter_id = serializers.IntegerField(source="incident.reporter_id", allow_null=True)
    triage = IncidentTriageSerializer(allow_null=True)
    people = IncidentPersonSerializer(many=True, source="people_list")
    deadlines = IncidentDeadlineSerializer(many=True, source="deadline_list")
    notices = IncidentNoticeSerializer(many=True)
    letter = serializers.DictField(child=serializers.CharField())
    letter_missing = serializers.ListField(child=serializers.CharField(), source="missing")
    keep_until = serializers.DateField()


class IncidentReportInput(serializers.Serializer):
    summary = serializers.CharField(max_length=rules.LIMIT)
    happened_on = serializers.DateField(required=False, allow_null=True)


class LostDeviceInput(serializers.Serializer):
    description = serializers.CharField(max_length=1000)
    lost_on = serializers.DateField()


class LostDeviceResult(serializers.Serializer):
    incident = IncidentSummarySerializer()
    sessions_ended = serializers.IntegerField()


class IncidentMessageInput(serializers.Serializer):
    text = serializers.CharField(max_length=rules.LIMIT)


class IncidentTriageInput(serializers.Serializer):
    discovered_on = serializers.DateField()
    breach_on = serializers.DateField(required=False, allow_null=True)
    breach_ended_on = serializers.DateField(required=False, allow_null=True)
    exclusion = serializers.ChoiceField(choices=list(rules.EXCLUSIONS), required=False, allow_blank=True)
    data_sealed = serializers.BooleanField(required=False, default=False)
    keys_exposed = serializers.BooleanField(required=False, default=False)
    unsecured = serializers.BooleanField(required=False)
    breach_type = serializers.ChoiceField(choices=list(rules.BREACH_TYPES), required=False)
    location = serializers.ChoiceField(choices=list(rules.LOCATIONS), required=False)
    outcome = serializers.ChoiceField(choices=list(rules.OUTCOMES))
    nature = _text()
    recipient = _text()
    acquired = _text()
    mitigation = _text()
    reasons = _text()
    change_reason = _text()


class AffectedFindInput(serializers.Serializer):
    how = serializers.ChoiceField(choices=["account", "vendor", "person"])
    account_id = serializers.IntegerField(required=False)
    vendor_id = serializers.UUIDField(required=False)
    person_id = serializers.IntegerField(required=False)
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)


class AffectedFindResult(serializers.Serializer):
    added = serializers.IntegerField()
    people = IncidentPersonSerializer(many=True)


class AffectedSetInput(serializers.Serializer):
    person_id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=list(rules.PERSON_STATES), required=False)
    residence = serializers.CharField(max_length=16, required=False, allow_blank=True)
    method = serializers.ChoiceField(choices=list(rules.METHODS), required=False)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class LetterInput(serializers.Serializer):
    what_happened = _text()
    information = _text()
    steps = _text()
    our_response = _text()
    contact = _text()


class LetterResult(serializers.Serializer):
    letter = serializers.DictField(child=serializers.CharField())
    missing = serializers.ListField(child=serializers.CharField())


class DelayInput(serializers.Serializer):
    start = serializers.DateField()
    until = serializers.DateField()
    written = serializers.BooleanField(required=False, default=False)
    agency = serializers.CharField(max_length=300)


class NoticeInput(serializers.Serializer):
    audience = serializers.ChoiceField(choices=["individual", "hhs", "media"])
    method = serializers.ChoiceField(choices=list(rules.METHODS), required=False)
    person_ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=100000)
    reference = serializers.CharField(max_length=500, required=False)
    sent_on = serializers.DateField(required=False)


class NoticeResult(serializers.Serializer):
    sent = serializers.IntegerField()


class StatusInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=["close", "reopen"])
    reason = serializers.CharField(max_length=rules.LIMIT)


class YearlyLogSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))


def _shown(state: rules.IncidentState, *, admin: bool) -> dict[str, Any]:
    """The fields the serializers read, worked out once."""
    today = timezone.localdate()
    shown: dict[str, Any] = {
        "incident": state.incident,
        "status": state.status,
        "reporter_status": state.reporter_status,
        "messages": incidents.reporter_messages(state),
    }
    if admin:
        triage = state.triage
        shown.update(
            triage=None if triage is None else {**triage.__dict__, "factors": triage.factors},
            people_list=[p.__dict__ for p in state.people.values()],
            deadline_list=[{**d.__dict__, "state": d.state(today)} for d in state.deadlines()],
            notices=[n.__dict__ for n in state.notices],
            letter=state.letter,
            missing=state.missing_letter_elements(),
            keep_until=state.keep_until,
        )
    return shown


def _detail(state: rules.IncidentState, *, admin: bool) -> dict[str, Any]:
    shown = _shown(state, admin=admin)
    return dict((IncidentAdminSerializer if admin else IncidentReportSerializer)(shown).data)


class _IncidentView(VerifiedAPIView):
    parser_classes = [BoundedJSONParser]

    def admin_incident(self, request: Request, incident_id: str) -> Incident:
        return selectors.incident_get_for_admin(user=self.actor(request), incident_id=incident_id)

    def answer(self, request: Request, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        state = rules.incident_state(incident)
        return Response(_detail(state, admin=self.actor(request).has_role(Role.ADMIN)), status=code)

    def valid(self, serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
        data = serializer(data=request.data)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)

    def act(
        self, request: Request, incident_id: str, serializer: type[serializers.Serializer], service: Any
    ) -> tuple[Incident, Any]:
        """An admin's step: the door, the input checked, then ``service(actor, incident, fields, context)``."""
        incident = self.admin_incident(request, incident_id)
        fields = self.valid(serializer, request)
        done = service(
            actor=self.actor(request),
            incident=incident,
            fields=fields,
            context=context_of(self.django_request(request)),
        )
        return incident, done


class IncidentListView(_IncidentView):
    @extend_schema(responses=IncidentSummarySerializer(many=True))
    def get(self, request: Request) -> Response:
        page = paginate(request, selectors.incidents_visible_to(self.actor(request)), key="-reported_at")
        states = [_shown(rules.incident_state(i), admin=False) for i in page.items]
        return page.response(IncidentSummarySerializer(states, many=True).data)

    @extend_schema(request=IncidentReportInput, responses={201: IncidentReportSerializer})
    def post(self, request: Request) -> Response:
        """Report a privacy concern. The reporter is sent an acknowledgement and can follow it."""
        data = self.valid(IncidentReportInput, request)
        incident = incidents.incident_report(
            actor=self.actor(request), summary=data["summary"], happened_on=data.get("happened_on"),
            context=context_of(self.django_request(request)),
        )  # fmt: skip
        return Response(_detail(rules.incident_state(incident), admin=False), status=status.HTTP_201_CREATED)


class LostDeviceView(_IncidentView):
    @extend_schema(request=LostDeviceInput, responses={201: LostDeviceResult})
    def post(self, request: Request) -> Response:
        """Report a lost or stolen device: every other signed-in session ends and an incident opens."""
        data = self.valid(LostDeviceInput, request)
        page_request = self.django_request(request)
        incident, ended = people.device_lost(
            actor=self.actor(request),
            context=context_of(page_request),
            keep_session_key=page_request.session.session_key or "",
            description=data["description"],
            lost_on=data["lost_on"],
        )
        shown = _shown(rules.incident_state(incident), admin=False)
        return Response(
            LostDeviceResult({"incident": shown, "sessions_ended": ended}).data, status=status.HTTP_201_CREATED
        )


class YearlyLogView(_IncidentView):
    @extend_schema(
        parameters=[OpenApiParameter("year", int, description="The calendar year of discovery.")],
        responses={200: YearlyLogSerializer, 400: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        """The breaches of a year that affected fewer than 500 people: the yearly log for HHS."""
        year = request.query_params.get("year") or str(timezone.localdate().year - 1)
        rows = notices.yearly_log(
            actor=self.actor(request), year=year, context=context_of(self.django_request(request))
        )
        return Response(YearlyLogSerializer({"year": int(year), "columns": rules.LOG_COLUMNS, "rows": rows}).data)


# What an incident's detail is: an admin's whole view, or the reporter's own report.
INCIDENT_DETAIL = PolymorphicProxySerializer(
    component_name="IncidentDetail",
    serializers=[IncidentAdminSerializer, IncidentReportSerializer],
    resource_type_field_name=None,
)


class IncidentDetailView(_IncidentView):
    @extend_schema(responses=INCIDENT_DETAIL)
    def get(self, request: Request, incident_id: str) -> Response:
        """An incident: the reporter sees their report and its messages; an admin sees it all."""
        user = self.actor(request)
        incident = selectors.incident_get_for_user(user=user, incident_id=incident_id)
        state = incidents.incident_read(user=user, incident=incident, context=context_of(self.django_request(request)))
        return Response(_detail(state, admin=user.has_role(Role.ADMIN)))


class IncidentMessageView(_IncidentView):
    @extend_schema(request=IncidentMessageInput, responses={201: IncidentReportSerializer})
    def post(self, request: Request, incident_id: str) -> Response:
        """A message between the reporter and the practice's admins."""
        user = self.actor(request)
        incident = selectors.incident_get_for_user(user=user, incident_id=incident_id)
        data = self.valid(IncidentMessageInput, request)
        incidents.incident_message(
            actor=user, incident=incident, text=data["text"], context=context_of(self.django_request(request))
        )
        return self.answer(request, incident, status.HTTP_201_CREATED)


class IncidentTriageView(_IncidentView):
    @extend_schema(request=IncidentTriageInput, responses=IncidentAdminSerializer)
    def post(self, request: Request, incident_id: str) -> Response:
        incident, _triage = self.act(request, incident_id, IncidentTriageInput, incidents.incident_triage)
        return self.answer(request, incident)


class IncidentAffectedView(_IncidentView):
    @extend_schema(request=AffectedFindInput, responses=AffectedFindResult)
    def post(self, request: Request, incident_id: str) -> Response:
        """Add people from the audit log (by account, by vendor) or one client by hand."""
        incident, added = self.act(request, incident_id, AffectedFindInput, people.affected_find)
        listed = [p.__dict__ for p in rules.incident_state(incident).people.values()]
        return Response(AffectedFindResult({"added": added, "people": listed}).data)

    @extend_schema(request=AffectedSetInput, responses=IncidentPersonSerializer)
    def put(self, request: Request, incident_id: str) -> Response:
        """Change one person on the list: off it (with the reason) or back, residence, notice method."""
        _incident, person = self.act(request, incident_id, AffectedSetInput, people.affected_set)
        return Response(IncidentPersonSerializer(person.__dict__).data)


class IncidentLetterView(_IncidentView):
    @extend_schema(request=LetterInput, responses=LetterResult)
    def put(self, request: Request, incident_id: str) -> Response:
        """The notice letter's elements (164.404(c)); what is still missing is listed."""
        incident, _letter = self.act(request, incident_id, LetterInput, incidents.incident_letter)
        state = rules.incident_state(incident)
        return Response(LetterResult({"letter": state.letter, "missing": state.missing_letter_elements()}).data)


class IncidentDelayView(_IncidentView):
    @extend_schema(request=DelayInput, responses=IncidentAdminSerializer)
    def post(self, request: Request, incident_id: str) -> Response:
        """A law-enforcement delay (164.412): the deadlines move by the days it covers."""
        incident, _delay = self.act(request, incident_id, DelayInput, incidents.incident_delay)
        return self.answer(request, incident)


class IncidentNoticeView(_IncidentView):
    @extend_schema(request=NoticeInput, responses=NoticeResult)
    def post(self, request: Request, incident_id: str) -> Response:
        """Send the notices to the people not yet notified (by e-mail, or record letters posted),
        or record the notice to HHS or the media."""
        incident = self.admin_incident(request, incident_id)
        data = self.valid(NoticeInput, request)
        context = context_of(self.django_request(request))
        if data["audience"] == "individual":
            sent = notices.notices_send(
                actor=self.actor(request), incident=incident, method=data.get("method", "email"),
                person_ids=data.get("person_ids"), context=context,
            )  # fmt: skip
        else:
            notices.notice_record(actor=self.actor(request), incident=incident, fields=data, context=context)
            sent = 1
        return Response(NoticeResult({"sent": sent}).data)


class IncidentStatusView(_IncidentView):
    @extend_schema(request=StatusInput, responses=IncidentAdminSerializer)
    def post(self, request: Request, incident_id: str) -> Response:
        """Close it, or reopen a closed one: an entry each time, never an edit."""
        incident, _state = self.act(request, incident_id, StatusInput, incidents.incident_status)
        return self.answer(request, incident)
