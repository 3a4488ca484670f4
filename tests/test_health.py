"""Liveness touches nothing; readiness asks every part the process needs and says which failed,
and nothing more: no host, no version, no error text."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from audit.models import WitnessOutage

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def ready(client: Client) -> tuple[int, dict]:
    response = client.get("/healthz/ready")
    assert response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"]
    return response.status_code, json.loads(response.content)


def test_liveness_answers_without_asking_anything(client, django_assert_num_queries):
    for path in ("/healthz", "/healthz/live"):
        with django_assert_num_queries(0):
            response = client.get(path)
        assert response.status_code == 200 and response.content == b"ok"


def test_readiness_asks_each_part_and_says_how_each_answered(client, settings):
    status, body = ready(client)
    assert status == 200 and body["status"] == "ready", body
    expected = {"database", "psychotherapy_database"} | ({"redis"} if settings.REDIS_URL else set())
    assert expected <= set(body["checks"]), body
    for name, check in body["checks"].items():
        assert check["state"] == "ok" and isinstance(check["ms"], int | float), name
    # Nobody needs to be signed in, and nobody learns more than the parts' states.
    assert set(body) == {"status", "checks"}
    assert all(set(check) == {"state", "ms"} for check in body["checks"].values())


def test_a_part_that_does_not_answer_makes_the_process_unready_and_names_only_the_part(client, settings, tmp_path):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CLAMD_SOCKET = str(tmp_path / "nobody-listens.sock")
    status, body = ready(client)
    assert status == 503 and body["status"] == "not ready"
    assert body["checks"]["redis"]["state"] == "failing"
    assert body["checks"]["clamd"]["state"] == "failing"
    assert body["checks"]["database"]["state"] == "ok"
    text = json.dumps(body)
    assert "127.0.0.1" not in text and "nobody-listens" not in text and "refused" not in text.lower()


def test_a_clamd_that_answers_is_ready(client, settings, clamd):
    settings.CLAMD_SOCKET = clamd
    status, body = ready(client)
    assert status == 200 and body["checks"]["clamd"]["state"] == "ok", body


def test_the_witness_away_is_reported_but_never_makes_the_process_unready(client, settings):
    settings.AUDIT_WITNESS_URL = "syslog+tls://witness.invalid:6514"
    status, body = ready(client)
    assert status == 200 and body["checks"]["witness"]["state"] == "ok", body
    WitnessOutage.objects.create(started_at="2026-12-06T10:00:00Z", last_error="unreachable")
    status, body = ready(client)
    assert status == 200 and body["status"] == "ready"
    assert body["checks"]["witness"]["state"] == "behind"
