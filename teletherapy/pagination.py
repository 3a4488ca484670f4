"""Cursor paging for every list, API and pages.

A list is read in a fixed order (a sort key, then the primary key to break ties) and cut after
``limit`` rows. The response says where the next page starts: the API in a ``Link: <…>;
rel="next"`` header and ``X-Next-Cursor``, a page through its "Older" link. The cursor is signed,
so a tampered one is a clear 400, not a strange page; it holds only the last row's sort value and
key, nothing a person typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.http import urlencode
from rest_framework.request import Request
from rest_framework.response import Response

from teletherapy.errors import ServiceError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_SALT = "teletherapy.pagination"


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    path: str
    limit: int
    query: dict[str, str] = field(default_factory=dict)  # the list's other parameters (filters)

    def next_url(self) -> str | None:
        if self.next_cursor is None:
            return None
        params: dict[str, str] = {**self.query, "cursor": self.next_cursor, "limit": str(self.limit)}
        return f"{self.path}?{urlencode(params)}"

    def response(self, data: Sequence[Any] | Any, status: int = 200) -> Response:
        response = Response(data, status=status)
        if self.next_cursor is not None:
            response["Link"] = f'<{self.next_url()}>; rel="next"'
            response["X-Next-Cursor"] = self.next_cursor
        return response


def _params(request: HttpRequest | Request) -> Any:
    return request.query_params if isinstance(request, Request) else request.GET


def page_limit(request: HttpRequest | Request) -> int:
    raw = _params(request).get("limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not str(raw).isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ServiceError(f"Give a limit from 1 to {MAX_LIMIT}.", field="limit")
    return int(raw)


def _scope(request: HttpRequest | Request) -> str:
    return request.path


def paginate(request: HttpRequest | Request, queryset: QuerySet[Any], *, key: str) -> Page:
    """One page of ``queryset`` ordered by ``key`` (``"-signed_at"``, ``"starts_at"``) and the pk."""
    descending = key.startswith("-")
    field = key.lstrip("-")
    limit = page_limit(request)
    ordered = queryset.order_by(key, "-pk" if descending else "pk")
    raw = _params(request).get("cursor")
    if raw:
        try:
            scope, value, pk = signing.loads(str(raw)[:500], salt=_SALT)
        except (signing.BadSignature, ValueError, TypeError):
            raise ServiceError("This page link is not valid; start from the first page.", field="cursor") from None
        if scope != _scope(request):
            raise ServiceError("This page link belongs to another list.", field="cursor")
        op = "lt" if descending else "gt"
        if value is None:
            after = Q(**{f"{field}__isnull": True, f"pk__{op}": pk})
        else:
            after = Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": pk})
        ordered = ordered.filter(after)
    rows = list(ordered[: limit + 1])
    cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        key_value: Any = last
        for part in field.split("__"):  # a related key: client__full_name
            key_value = getattr(key_value, part)
        cursor = signing.dumps(
            [_scope(request), key_value.isoformat() if hasattr(key_value, "isoformat") else key_value, str(last.pk)],
            salt=_SALT,
            compress=True,
        )
    others = {k: v for k, v in _params(request).items() if k not in ("cursor", "limit")}
    return Page(items=rows, next_cursor=cursor, path=request.path, limit=limit, query=others)
