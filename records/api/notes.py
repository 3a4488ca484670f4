"""Progress notes: the paged list, one note, editing, signing, sharing and addenda."""

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
from records.api.base import RecordsView, TextInput, valid_input
from records.models import (
    ProgressNote,
)
from records.reads import addenda_by_note, notes_listed
from records.selectors import (
    Access,
    Need,
    note_get_for_user,
)
from teletherapy.context import context_of
from teletherapy.errors import ServiceError
from teletherapy.pagination import paginate


class NoteSerializer(serializers.ModelSerializer):
    chart = serializers.UUIDField(source="chart_id", read_only=True)
    author = serializers.IntegerField(source="author_id", read_only=True)
    session = serializers.UUIDField(source="session_id", read_only=True, allow_null=True)
    sections = serializers.SerializerMethodField()
    addenda = serializers.SerializerMethodField()

    class Meta:
        model = ProgressNote
        fields = [
            "id",
            "chart",
            "author",
            "template",
            "service_date",
            "session",
            "minutes",
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


class NoteInput(serializers.Serializer):
    template = serializers.CharField(max_length=8, required=False)
    sections = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=20_000))
    version = serializers.IntegerField(required=False, min_value=0)
    session = serializers.UUIDField(required=False, allow_null=True)
    service_date = serializers.DateField(required=False, allow_null=True)
    minutes = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=600)


def _service(data: dict[str, Any], note: ProgressNote | None = None) -> dict[str, object]:
    """The note's session, date of service and length from the input; on an edit, what is not
    sent stays as it was."""
    keep: dict[str, object] = (
        {"session": note.session_id, "service_date": note.service_date, "minutes": note.minutes} if note else {}
    )
    return {
        "session_id": data.get("session", keep.get("session")),
        "service_date": data.get("service_date", keep.get("service_date")),
        "minutes": data.get("minutes", keep.get("minutes")),
    }


class NoteListView(RecordsView):
    @extend_schema(responses=NoteSerializer(many=True))
    def get(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.CLINICAL)
        # Only what the list shows (not when a draft was last saved).
        page = paginate(request, notes_listed(chart=chart, access=access), key="-created_at")
        notes = page.items
        addenda = addenda_by_note(chart=chart, access=access, notes=notes)
        # Everything is fetched: the event is written while the notes are opened and serialized.
        with self.reading(request, Action.NOTE_LIST, chart, chart, access, count=len(notes)):
            data = NoteSerializer(notes, many=True, context={"addenda": addenda}).data
        return page.response(data)

    @extend_schema(request=NoteInput, responses={201: NoteSerializer})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.CLINICAL)
        data = valid_input(NoteInput, request)
        note = services.note_create(
            actor=self.actor(request),
            chart=chart,
            access=access,
            template=data.get("template", ""),
            sections=data["sections"],
            context=context_of(self.django_request(request)),
            **_service(data),
        )
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class NoteDetailView(RecordsView):
    def note(self, request: Request, note_id: uuid.UUID, *, write: bool = False) -> tuple[ProgressNote, Access]:
        return note_get_for_user(user=self.actor(request), note_id=note_id, write=write)

    @extend_schema(responses=NoteSerializer)
    def get(self, request: Request, note_id: uuid.UUID) -> Response:
        note, access = self.note(request, note_id)
        self.read(request, Action.NOTE_VIEW, note, note.chart, access)
        return Response(NoteSerializer(note).data)

    @extend_schema(request=NoteInput, responses=NoteSerializer)
    def patch(self, request: Request, note_id: uuid.UUID) -> Response:
        note, _access = self.note(request, note_id, write=True)
        data = valid_input(NoteInput, request)
        if "version" not in data:
            raise ServiceError("Send the version you edited.", field="version")
        note = services.note_update(
            actor=self.actor(request),
            note=note,
            sections=data["sections"],
            expected_version=data["version"],
            context=context_of(self.django_request(request)),
            **_service(data, note),
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
            note = services.note_sign(actor=actor, note=note, context=context_of(django_request))
        elif self.action_name == "share":
            note = services.note_share(actor=actor, note=note, context=context_of(django_request))
        else:
            body = valid_input(TextInput, request)["body"]
            services.note_addendum(actor=actor, note=note, body=body, context=context_of(django_request))
            note.refresh_from_db()
        return Response(NoteSerializer(note).data)
