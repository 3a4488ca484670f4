"""The right of access: a client's (or a minor's guardian's) copy of the record."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from records import services
from records.api.base import RecordsView
from records.reads import export_download
from records.selectors import Need, export_get_for_user
from teletherapy.context import context_of


class ExportCreateView(RecordsView):
    @extend_schema(request=None, responses={201: dict})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        chart, access = self.chart(request, chart_id, Need.SUMMARY)
        export = services.export_request(
            actor=self.actor(request), chart=chart, access=access, context=context_of(self.django_request(request))
        )
        return Response({"id": str(export.pk), "status": export.status}, status=status.HTTP_201_CREATED)


class ExportDetailView(RecordsView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request, export_id: uuid.UUID) -> Response:
        export = export_get_for_user(user=self.actor(request), export_id=export_id)
        body: dict[str, Any] = {"id": str(export.pk), "status": export.status, "progress": export.progress}
        if export.status == "ready" and request.query_params.get("include") == "record":
            _export, body["record"] = export_download(
                user=self.actor(request),
                export_id=export_id,
                context=context_of(self.django_request(request)),
                format="api",
            )
        return Response(body)
