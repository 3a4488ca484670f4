"""Bounded JSON, for the API and the signalling socket alike.

``json.loads`` recurses once per level of nesting, so a body of a few kilobytes of ``[`` reaches
Python's recursion limit; and a large enough body ties up a worker. Every JSON body is therefore
held to a size and a depth, checked before the data reaches a serializer, and anything outside
them is a 400 with a readable reason.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


class JSONTooDeep(ValueError):
    pass


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply ``value`` nests lists and objects; stops counting past ``limit``."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return depth
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def loads_bounded(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises ValueError (never RecursionError) for bad or too-deep input."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise JSONTooDeep(f"JSON may nest at most {max_depth} levels.") from None
    if depth_of(data, max_depth) > max_depth:
        raise JSONTooDeep(f"JSON may nest at most {max_depth} levels.")
    return data


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with the body size and nesting depth bounded."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise ParseError(f"The request body may be at most {limit // 1024} KiB.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return loads_bounded(raw.decode(encoding))
        except JSONTooDeep as exc:
            raise ParseError(str(exc)) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from None
