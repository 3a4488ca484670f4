"""One shape for errors: JSON ``{"code", "detail"}`` for the API, a plain page for people."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def error_response(request: HttpRequest, *, status: int, code: str, detail: str) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"code": code, "detail": detail}, status=status)
    response = TemplateResponse(
        request, "error.html", {"status": status, "code": code, "detail": detail}, status=status
    )
    return response.render()
