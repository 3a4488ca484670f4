"""Every API operation answers as its OpenAPI schema says, for good input and bad.

Driven by the schema itself (drf-spectacular's, as /api/v1/schema/ serves it) and the access
matrix's rules, in the access matrix's world: each operation is called by someone it allows, and
what comes back must be a status the schema declares, with a body that validates against the
schema declared for that status. Then every operation that takes a body is sent bodies derived
from its request schema but wrong (no body, the wrong JSON type, each field of the wrong type,
nested where a string belongs, too long, unknown fields): none may answer 500, and each answer
must again be declared and conform (a field error is a list of sentences, as the schema says).
Nothing is kept: each call runs in a transaction that is rolled back.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from jsonschema import Draft4Validator

from tests.access_world import build, signed_in
from tests.test_access_matrix import API, PSYCHOTHERAPY_PATHS, api_operations, fill, formatted, schema

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def as_json_schema(node: Any, components: dict[str, Any], seen: frozenset[str] = frozenset()) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: references resolved, ``nullable`` as a null type."""
    if isinstance(node, list):
        return [as_json_schema(item, components, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "oneOf" in node and "discriminator" not in node:
        # Without a discriminator, one shape and a larger one cannot be told apart (an admin's
        # view of an incident holds every field of its reporter's): the answer matches one of them.
        node = {**{k: v for k, v in node.items() if k != "oneOf"}, "anyOf": node["oneOf"]}
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return {}
        return as_json_schema(components[name], components, seen | {name})
    out = {key: as_json_schema(value, components, seen) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def body_schema(operation: dict[str, Any], status: int, components: dict[str, Any]) -> Any | None:
    response = operation["responses"].get(str(status), {})
    content = response.get("content", {}).get("application/json")
    return as_json_schema(content["schema"], components) if content else None


def request_schema(operation: dict[str, Any], components: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    return as_json_schema(content["schema"], components) if content else None


WRONG = {"string": [17, ["a"], {"nested": {"deeper": "x"}}, "x" * 20000], "integer": ["abc", 1.5, [], {"a": 1}],
         "number": ["abc", []], "boolean": ["perhaps", [], {"a": 1}], "array": ["x", {"a": 1}, [[["deep"]]]],
         "object": ["x", [1, 2]]}  # fmt: skip


def wrong_bodies(request: dict[str, Any], good: dict[str, Any]) -> list[Any]:
    """Bodies that are wrong in one way each, from the operation's request schema."""
    bodies: list[Any] = [[], "text", 7, None, {**good, "unknown_field": "x"}]
    for name, field in request.get("properties", {}).items():
        kinds = field.get("type") or next((s.get("type") for s in field.get("anyOf", []) if s.get("type")), "string")
        for value in WRONG.get(kinds, WRONG["string"]):
            bodies.append({**good, name: value})
        if name in request.get("required", []):
            bodies.append({k: v for k, v in good.items() if k != name})
    return bodies


def call(client: Any, method: str, url: str, body: Any, *, raw: bytes | None = None) -> Any:
    with transaction.atomic(), transaction.atomic(using="psychotherapy"):
        handler = getattr(client, method)
        if method == "get":
            response = handler(url)
        else:
            payload = raw if raw is not None else json.dumps(body)
            response = handler(url, payload, content_type="application/json")
        transaction.set_rollback(True)
        transaction.set_rollback(True, using="psychotherapy")
    return response


def check(where: str, operation: dict[str, Any], response: Any, components: dict[str, Any]) -> list[str]:
    status = response.status_code
    if status >= 500:
        return [f"{where}: {status}"]
    if str(status) not in operation["responses"]:
        return [f"{where}: {status} is not declared"]
    declared = body_schema(operation, status, components)
    if declared is None or status == 204 or not response.content:
        return []
    try:
        body = json.loads(response.content)
    except ValueError:
        return [f"{where}: {status} with a body that is not JSON"]
    errors = sorted(Draft4Validator(declared).iter_errors(body), key=lambda e: list(e.path))
    return [f"{where}: {status}: {'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errors[:3]]


def test_every_operation_answers_as_its_schema_says_for_good_and_bad_input():
    adult, _minor = build()
    spec = schema()
    components = spec["components"]["schemas"]
    operations = {(path, method): operation for path, method, operation in api_operations(spec)}
    clients: dict[str, Any] = {}
    problems: list[str] = []
    fuzzed = 0
    for (path, method), rule in API.items():
        if not rule.allowed:
            continue
        url = fill(path, adult.objects, psychotherapy=path in PSYCHOTHERAPY_PATHS)
        query = {k: formatted(v, adult.objects) for k, v in rule.query}
        if query:
            url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        good = {k: formatted(v, adult.objects) for k, v in rule.body}
        operation = operations[(path, method)]
        # Each person it allows may be answered in a shape of their own: every shape is declared.
        allowed = sorted(rule.allowed & set(adult.people))
        for persona in allowed:
            client = clients.setdefault(persona, signed_in(adult.people[persona]))
            answered = call(client, method, url, good)
            problems += check(f"{method.upper()} {path} as {persona}", operation, answered, components)
        client = clients[allowed[0]]
        request = request_schema(operation, components)
        if method in ("post", "put", "patch") and request is not None:
            for body in wrong_bodies(request, good):
                fuzzed += 1
                response = call(client, method, url, body)
                problems += check(
                    f"{method.upper()} {path} with {json.dumps(body)[:80]}", operation, response, components
                )
            for raw in (b"{", b"\xff\xfe", b'{"a": ' * 200 + b"1" + b"}" * 200):
                fuzzed += 1
                response = call(client, method, url, None, raw=raw)
                problems += check(f"{method.upper()} {path} with {raw[:20]!r}", operation, response, components)
    assert fuzzed > 200, fuzzed
    assert not problems, "\n".join(problems[:60]) + f"\n({len(problems)} problems)"
