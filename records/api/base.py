"""What every records endpoint shares: the chart door, read events, input validation."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from accounts.api import VerifiedAPIView
from audit.models import Action
from records.models import ClientChart
from records.reads import reading, record_read
from records.selectors import (
    Access,
    Need,
    chart_get_for_user,
)
from teletherapy.context import context_of


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
        return chart_get_for_user(user=self.actor(request), chart_id=chart_id, need=need)

    def read(
        self, request: Request, action: Action, target: Any, chart: ClientChart, access: Access, **details: Any
    ) -> None:
        record_read(**self._event(request, action, target, chart, access), **details)

    def reading(
        self, request: Request, action: Action, target: Any, chart: ClientChart, access: Access, **details: Any
    ) -> AbstractContextManager[Any]:
        return reading(**self._event(request, action, target, chart, access), **details)

    def _event(
        self, request: Request, action: Action, target: Any, chart: ClientChart, access: Access
    ) -> dict[str, Any]:
        return {
            "actor": self.actor(request),
            "context": context_of(self.django_request(request)),
            "action": action,
            "target": target,
            "chart": chart,
            "access": access,
        }
