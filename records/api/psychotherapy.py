"""Psychotherapy notes: their author's alone, stored in their own database."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import Action
from audit.services import audit_record
from records import services
from records.api.base import RecordsView, TextInput, valid_input
from records.models import (
    ClientChart,
    PsychotherapyNote,
)
from records.selectors import (
    PSYCHOTHERAPY_WRITERS,
    Access,
    Need,
    psychotherapy_note_get_for_author,
    psychotherapy_notes_of_author,
)
from teletherapy.context import context_of
from teletherapy.pagination import paginate


class PsychotherapyNoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = PsychotherapyNote
        fields = ["id", "chart_id", "body", "created_at", "updated_at"]


class PsychotherapyNoteListView(RecordsView):
    @extend_schema(responses=PsychotherapyNoteSerializer(many=True))
    def get(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.CLINICAL)
        if access not in PSYCHOTHERAPY_WRITERS:
            return Response([])
        page = paginate(
            request, psychotherapy_notes_of_author(user=self.actor(request), chart=chart), key="-created_at"
        )
        notes = page.items
        if notes:
            audit_record(
                action=Action.PSYCHOTHERAPY_NOTE_VIEW,
                actor=self.actor(request),
                context=context_of(self.django_request(request)),
                target=chart,
                subject_client_id=chart.client_id,
                details={"count": len(notes)},
            )
        return page.response(PsychotherapyNoteSerializer(notes, many=True).data)

    @extend_schema(request=TextInput, responses={201: PsychotherapyNoteSerializer})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.CLINICAL)
        body = valid_input(TextInput, request)["body"]
        note = services.psychotherapy_note_write(
            actor=self.actor(request),
            chart=chart,
            access=access,
            body=body,
            context=context_of(self.django_request(request)),
        )
        return Response(PsychotherapyNoteSerializer(note).data, status=status.HTTP_201_CREATED)


class PsychotherapyNoteDetailView(RecordsView):
    def _note(self, request: Request, note_id: uuid.UUID) -> tuple[PsychotherapyNote, ClientChart, Access]:
        note, chart = psychotherapy_note_get_for_author(user=self.actor(request), note_id=note_id)
        return note, chart, Access.CARE_TEAM

    @extend_schema(responses=PsychotherapyNoteSerializer)
    def get(self, request: Request, note_id: uuid.UUID) -> Response:
        note, chart, _access = self._note(request, note_id)
        audit_record(
            action=Action.PSYCHOTHERAPY_NOTE_VIEW,
            actor=self.actor(request),
            context=context_of(self.django_request(request)),
            target_type="records.psychotherapynote",
            target_id=str(note.pk),
            subject_client_id=chart.client_id,
        )
        return Response(PsychotherapyNoteSerializer(note).data)

    @extend_schema(request=TextInput, responses=PsychotherapyNoteSerializer)
    def patch(self, request: Request, note_id: uuid.UUID) -> Response:
        note, chart, access = self._note(request, note_id)
        body = valid_input(TextInput, request)["body"]
        note = services.psychotherapy_note_write(
            actor=self.actor(request),
            chart=chart,
            access=access,
            body=body,
            context=context_of(self.django_request(request)),
            note=note,
        )
        return Response(PsychotherapyNoteSerializer(note).data)
