"""The OpenAPI schema says what can go wrong: every operation declares the error responses the
API's one exception handler gives (teletherapy.api), with the stable error body, and every list
declares how it pages."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: invalid, parse_error, not_found, not_allowed, …")
    detail = serializers.CharField(help_text="A sentence a person can read.")

    def get_fields(self) -> dict[str, serializers.Field]:
        # "fields" is also the name of a serializer's own attribute, so it is added here.
        declared = super().get_fields()
        declared["fields"] = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="For invalid input: what is wrong with each field.",
        )
        return declared


ERRORS = {
    "400": "The request or one of its fields is not valid (see fields), or the body is not bounded JSON.",
    "403": "Not signed in with a second factor, or not allowed to do this.",
    "404": "There is no such thing for you (refusals that must not reveal existence look the same).",
    "409": "The record has moved on (a stale edit, already signed, already withdrawn).",
}


class ErrorAwareSchema(AutoSchema):
    def _is_list(self) -> bool:
        serializer = self.get_response_serializers()
        return self.method == "GET" and isinstance(serializer, serializers.ListSerializer)

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._is_list():
            parameters += [
                OpenApiParameter("cursor", str, description="Where the page starts: X-Next-Cursor of the page before."),
                OpenApiParameter("limit", int, description="Rows per page, 1 to 200 (default 50)."),
            ]
        return parameters

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)  # type: ignore[arg-type]
        if self._is_list() and "200" in responses:
            responses["200"]["headers"] = {
                "X-Next-Cursor": {"schema": {"type": "string"}, "description": "Present when there is a next page."},
                "Link": {"schema": {"type": "string"}, "description": 'The next page, as <url>; rel="next".'},
            }
        codes = ["403"]
        if self.method in WRITES or self._is_list():
            codes.append("400")
        # Any operation may name something (in its path, query or body) that is not there for you.
        codes.append("404")
        if self.method in WRITES:
            codes.append("409")
        for code in sorted(codes):
            if code not in responses:
                body = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                body["description"] = ERRORS[code]
                responses[code] = body
        return responses
