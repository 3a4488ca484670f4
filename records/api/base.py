"""What every records endpoint shares: the chart door, read events, input validation."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from accounts.api import VerifiedAPIView
from audit.models import Action
from audit.services import audit_record, audited
from records.models import ClientChart
from records.selectors import (
    Access,
    Need,
    chart_get_for_user,
)
from teletherapy.errors import NotVisible


class TextInput(serializers.Serializer):
    body = serializers.CharField(max_length=50_000)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


def valid_input(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
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
