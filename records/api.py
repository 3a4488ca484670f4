"""JSON API for clinical records, under /api/v1/records/. Every read and write is audited."""

from __future__ import annotations

import json
import uuid
from contextlib import AbstractContextManager
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import VerifiedAPIView
from accounts.models import Role
from audit.models import Action
from audit.services import audit_record, audited
from records import services
from records.models import (
    Assessment,
    BillingRecord,
    ClientChart,
    NoteAddendum,
    ProgressNote,
    PsychotherapyNote,
    RecordExport,
)
from records.selectors import (
    Access,
    Need,
    addenda_visible,
    assessment_get_for_user,
    billing_get_for_user,
    chart_get_for_user,
    charts_for_therapist,
    export_get_for_user,
    note_get_for_user,
    notes_visible,
    psychotherapy_note_get_for_author,
    psychotherapy_notes_of_author,
)
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


class NoteSerializer(serializers.ModelSerializer):
    chart = serializers.UUIDField(source="chart_id", read_only=True)
    author = serializers.IntegerField(source="author_id", read_only=True)
    sections = serializers.SerializerMethodField()
    addenda = serializers.SerializerMethodField()

    class Meta:
        model = ProgressNote
        fields = [
            "id",
            "chart",
            "author",
            "template",
            "sections",
            "version",
            "created_at",
            "signed_at",
            "shared_at",
            "addenda",
        ]

    def get_sections(self, note: ProgressNote) -> dict[str, str]:
        return json.loads(note.body)

    def get_addenda(self, note: ProgressNote) -> list[dict[str, Any]]:
        grouped = self.context.get("addenda")
        addenda = grouped.get(note.pk, []) if grouped is not None else note.addenda.all()
        return [{"author": a.author_id, "signed_at": a.signed_at, "body": a.body} for a in addenda]


class AssessmentSerializer(serializers.ModelSerializer):
    result = serializers.SerializerMethodField()

    class Meta:
        model = Assessment
        fields = ["id", "chart", "kind", "assigned_at", "completed_at", "result"]

    def get_result(self, assessment: Assessment) -> dict[str, Any] | None:
        return json.loads(assessment.result) if assessment.result else None


class BillingSerializer(serializers.ModelSerializer):
    diagnosis_codes = serializers.SerializerMethodField()

    class Meta:
        model = BillingRecord
        fields = ["id", "chart", "service_date", "cpt_code", "diagnosis_codes", "fee", "status"]

    def get_diagnosis_codes(self, record: BillingRecord) -> list[str]:
        return record.diagnosis_codes.split(",")


class PsychotherapyNoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = PsychotherapyNote
        fields = ["id", "chart_id", "body", "created_at", "updated_at"]


class NoteInput(serializers.Serializer):
    template = serializers.CharField(max_length=8, required=False)
    sections = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=20_000))
    version = serializers.IntegerField(required=False, min_value=0)


class TextInput(serializers.Serializer):
    body = serializers.CharField(max_length=50_000)


class KindInput(serializers.Serializer):
    kind = serializers.CharField(max_length=8)


class AnswersInput(serializers.Serializer):
    answers = serializers.ListField(child=serializers.IntegerField(), max_length=20)


class BillingInput(serializers.Serializer):
    service_date = serializers.CharField(max_length=10)
    cpt_code = serializers.CharField(max_length=5)
    diagnosis_codes = serializers.ListField(child=serializers.CharField(max_length=10), max_length=12)
    fee = serializers.CharField(max_length=12)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class RecordsView(VerifiedAPIView):
    def chart(self, request: Request, chart_id: uuid.UUID, need: Need) -> tuple[ClientChart, Access]:
        found = chart_get_for_user(user=self.actor(request), chart_id=chart_id, need=need)
        if found is None:
            raise NotVisible("records.clientchart", chart_id)
        return found

    def read(
        self, request: Request, action: Action, target: Any, chart: ClientChart, access: Access, **details: Any
    ) -> None:
        audit_record(**self._read_event(request, action, target, chart, access, details))

    def reading(
        self, request: Request, action: Action, target: Any, chart: ClientChart, access: Access, **details: Any
    ) -> AbstractContextManager[Any]:
        """As read(), for an answer prepared inside the with-block: the event is durably written
        by the block's end (while the block decrypts and serializes), or the block's end raises."""
        return audited(**self._read_event(request, action, target, chart, access, details))

    def _read_event(
        self, request: Request, action: Action, target: Any, chart: ClientChart, access: Access, details: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "action": action,
            "actor": self.actor(request),
            "request": self.django_request(request),
            "target": target,
            "subject_client_id": chart.client_id,
            "flagged": access is Access.EMERGENCY,
            "details": {"access": access.value, **details},
        }


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
            request=self.django_request(request),
            details={"count": len(page.items)},
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
            request=self.django_request(request),
        )
        return Response(ChartDetailSerializer(chart).data)


class NoteListView(RecordsView):
    @extend_schema(responses=NoteSerializer(many=True))
    def get(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.CLINICAL)
        # Only what the list shows (not when a draft was last saved).
        page = paginate(
            request,
            notes_visible(chart=chart, access=access).prefetch_related(None).defer("updated_at"),
            key="-created_at",
        )
        notes = page.items
        # One query for all the addenda, grouped by hand: lighter than the prefetch machinery.
        addenda: dict[Any, list[NoteAddendum]] = {note.pk: [] for note in notes}
        for addendum in addenda_visible(chart=chart, access=access):
            if addendum.note_id in addenda:  # a note on another page is not shown
                addenda[addendum.note_id].append(addendum)
        # Everything is fetched: the event is written while the notes are opened and serialized.
        with self.reading(request, Action.NOTE_LIST, chart, chart, access, count=len(notes)):
            data = NoteSerializer(notes, many=True, context={"addenda": addenda}).data
        return page.response(data)

    @extend_schema(request=NoteInput, responses={201: NoteSerializer})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.CLINICAL)
        data = _valid(NoteInput, request)
        note = services.note_create(
            actor=self.actor(request),
            chart=chart,
            access=access,
            template=data.get("template", ""),
            sections=data["sections"],
            request=self.django_request(request),
        )
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class NoteDetailView(RecordsView):
    def note(self, request: Request, note_id: uuid.UUID, *, write: bool = False) -> tuple[ProgressNote, Access]:
        found = note_get_for_user(user=self.actor(request), note_id=note_id, write=write)
        if found is None:
            raise NotVisible("records.progressnote", note_id)
        return found

    @extend_schema(responses=NoteSerializer)
    def get(self, request: Request, note_id: uuid.UUID) -> Response:
        note, access = self.note(request, note_id)
        self.read(request, Action.NOTE_VIEW, note, note.chart, access)
        return Response(NoteSerializer(note).data)

    @extend_schema(request=NoteInput, responses=NoteSerializer)
    def patch(self, request: Request, note_id: uuid.UUID) -> Response:
        note, _access = self.note(request, note_id, write=True)
        data = _valid(NoteInput, request)
        if "version" not in data:
            return Response(
                {"code": "invalid", "detail": "Send the version you edited.", "fields": {"version": ["Required."]}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        note = services.note_update(
            actor=self.actor(request),
            note=note,
            sections=data["sections"],
            expected_version=data["version"],
            request=self.django_request(request),
        )
        return Response(NoteSerializer(note).data)


class NoteActionView(NoteDetailView):
    """Sign, share or add to a note: POST only (the note itself is read at notes/<id>/)."""

    action_name = ""
    http_method_names = ["post", "options"]

    @extend_schema(request=None, responses=NoteSerializer)
    def post(self, request: Request, note_id: uuid.UUID) -> Response:
        note, _access = self.note(request, note_id, write=True)
        actor, django_request = self.actor(request), self.django_request(request)
        if self.action_name == "sign":
            note = services.note_sign(actor=actor, note=note, request=django_request)
        elif self.action_name == "share":
            note = services.note_share(actor=actor, note=note, request=django_request)
        else:
            body = _valid(TextInput, request)["body"]
            services.note_addendum(actor=actor, note=note, body=body, request=django_request)
            note.refresh_from_db()
        return Response(NoteSerializer(note).data)


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
        kind = _valid(KindInput, request)["kind"]
        assessment = services.assessment_assign(
            actor=self.actor(request), chart=chart, access=access, kind=kind, request=self.django_request(request)
        )
        return Response(AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)


class AssessmentSubmitView(RecordsView):
    @extend_schema(request=AnswersInput, responses=AssessmentSerializer)
    def post(self, request: Request, assessment_id: uuid.UUID) -> Response:
        found = assessment_get_for_user(user=self.actor(request), assessment_id=assessment_id)
        if found is None:
            raise NotVisible("records.assessment", assessment_id)
        answers = _valid(AnswersInput, request)["answers"]
        services.assessment_submit(
            actor=self.actor(request), assessment=found[0], answers=answers, request=self.django_request(request)
        )
        found[0].refresh_from_db()
        return Response(AssessmentSerializer(found[0]).data)


class BillingListView(RecordsView):
    @extend_schema(responses=BillingSerializer(many=True))
    def get(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.BILLING)
        page = paginate(request, chart.billing.all(), key="-service_date")
        self.read(request, Action.BILLING_VIEW, chart, chart, access, count=len(page.items))
        return page.response(BillingSerializer(page.items, many=True).data)

    @extend_schema(request=BillingInput, responses={201: BillingSerializer})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.BILLING)
        data = _valid(BillingInput, request)
        record = services.billing_create(
            actor=self.actor(request), chart=chart, access=access, request=self.django_request(request), **data
        )
        return Response(BillingSerializer(record).data, status=status.HTTP_201_CREATED)


class StatusInput(serializers.Serializer):
    status = serializers.CharField(max_length=16)


class BillingDetailView(RecordsView):
    @extend_schema(request=StatusInput, responses=BillingSerializer)
    def patch(self, request: Request, billing_id: uuid.UUID) -> Response:
        found = billing_get_for_user(user=self.actor(request), billing_id=billing_id)
        if found is None:
            raise NotVisible("records.billingrecord", billing_id)
        new_status = _valid(StatusInput, request)["status"]
        record = services.billing_set_status(
            actor=self.actor(request),
            record=found[0],
            access=found[1],
            status=new_status,
            request=self.django_request(request),
        )
        return Response(BillingSerializer(record).data)


class EmergencyAccessView(RecordsView):
    @extend_schema(request=ReasonInput, responses={201: dict})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        user = self.actor(request)
        chart = ClientChart.objects.filter(pk=chart_id, practice_id=user.practice_id).first()
        if chart is None:
            raise NotVisible("records.clientchart", chart_id)
        reason = _valid(ReasonInput, request)["reason"]
        access = services.emergency_access_start(
            actor=user, chart=chart, reason=reason, request=self.django_request(request)
        )
        return Response({"id": str(access.pk), "expires_at": access.expires_at}, status=status.HTTP_201_CREATED)


class PsychotherapyNoteListView(RecordsView):
    @extend_schema(responses=PsychotherapyNoteSerializer(many=True))
    def get(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.CLINICAL)
        if access is not Access.CARE_TEAM:
            return Response([])
        page = paginate(
            request, psychotherapy_notes_of_author(user=self.actor(request), chart=chart), key="-created_at"
        )
        notes = page.items
        if notes:
            audit_record(
                action=Action.PSYCHOTHERAPY_NOTE_VIEW,
                actor=self.actor(request),
                request=self.django_request(request),
                target=chart,
                subject_client_id=chart.client_id,
                details={"count": len(notes)},
            )
        return page.response(PsychotherapyNoteSerializer(notes, many=True).data)

    @extend_schema(request=TextInput, responses={201: PsychotherapyNoteSerializer})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.CLINICAL)
        body = _valid(TextInput, request)["body"]
        note = services.psychotherapy_note_write(
            actor=self.actor(request), chart=chart, access=access, body=body, request=self.django_request(request)
        )
        return Response(PsychotherapyNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class PsychotherapyNoteDetailView(RecordsView):
    def _note(self, request: Request, note_id: uuid.UUID) -> tuple[PsychotherapyNote, ClientChart, Access]:
        note = psychotherapy_note_get_for_author(user=self.actor(request), note_id=note_id)
        found = (
            chart_get_for_user(user=self.actor(request), chart_id=note.chart_id, need=Need.CLINICAL) if note else None
        )
        if note is None or found is None or found[1] is not Access.CARE_TEAM:
            raise NotVisible("records.psychotherapynote", note_id)
        return note, found[0], found[1]

    @extend_schema(responses=PsychotherapyNoteSerializer)
    def get(self, request: Request, note_id: uuid.UUID) -> Response:
        note, chart, _access = self._note(request, note_id)
        audit_record(
            action=Action.PSYCHOTHERAPY_NOTE_VIEW,
            actor=self.actor(request),
            request=self.django_request(request),
            target_type="records.psychotherapynote",
            target_id=str(note.pk),
            subject_client_id=chart.client_id,
        )
        return Response(PsychotherapyNoteSerializer(note).data)

    @extend_schema(request=TextInput, responses=PsychotherapyNoteSerializer)
    def patch(self, request: Request, note_id: uuid.UUID) -> Response:
        note, chart, access = self._note(request, note_id)
        body = _valid(TextInput, request)["body"]
        note = services.psychotherapy_note_write(
            actor=self.actor(request),
            chart=chart,
            access=access,
            body=body,
            request=self.django_request(request),
            note=note,
        )
        return Response(PsychotherapyNoteSerializer(note).data)


class ExportCreateView(RecordsView):
    @extend_schema(request=None, responses={201: dict})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.SUMMARY)
        export = services.export_request(
            actor=self.actor(request), chart=chart, access=access, request=self.django_request(request)
        )
        return Response({"id": str(export.pk), "status": export.status}, status=status.HTTP_201_CREATED)


class ExportDetailView(RecordsView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request, export_id: uuid.UUID) -> Response:
        export: RecordExport | None = export_get_for_user(user=self.actor(request), export_id=export_id)
        if export is None:
            raise NotVisible("records.recordexport", export_id)
        body: dict[str, Any] = {"id": str(export.pk), "status": export.status, "progress": export.progress}
        if export.status == "ready" and request.query_params.get("include") == "record":
            audit_record(
                action=Action.RECORD_EXPORT,
                actor=self.actor(request),
                request=self.django_request(request),
                target=export,
                subject_client_id=export.chart.client_id,
                details={"stage": "downloaded", "format": "api"},
            )
            body["record"] = json.loads(export.payload)
        return Response(body)
