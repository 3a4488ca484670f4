"""Metrics and logs without patient data: a real Prometheus (Debian's) scrapes a process's listener
and finds the series an operator alerts on; every label value it holds is walked for anything
that looks like an id, an e-mail or a token; the shipped alert rules pass promtool. The request
log is one line per request carrying the audit event's request id, with secrets redacted, and an
expected refusal prints no traceback."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re
import secrets
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from prometheus_client import REGISTRY

from audit.models import AuditEvent
from operations.models import OperationRun, Outcome, RunKind
from teletherapy import metrics
from teletherapy.log_format import logging_config
from tests.conftest import require_infrastructure
from tests.servers import free_port, wait_for_port
from tests.signaling import admitted_pair, open_socket, receive_type, send
from tests.test_signaling import OFFER_SDP

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy" / "prometheus"

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[a-z]{2,}", re.I)
TOKEN = re.compile(r"(?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{16,}")
NUMBER = re.compile(r"^\d{4,}$")


def personal(value: str, label: str) -> str | None:
    """What in a label value could name a person or open something; None when nothing does."""
    if UUID.search(value):
        return "an id"
    if EMAIL.search(value):
        return "an e-mail"
    if TOKEN.search(value.replace("teletherapy_", "")):
        return "a token"
    if label not in ("le", "quantile", "status") and NUMBER.match(value):
        return "a number"
    return None


def test_the_label_walk_finds_what_it_looks_for():
    assert personal("charts/3f1e2d4c-1b2a-4c3d-8e9f-0a1b2c3d4e5f/", "route") == "an id"
    assert personal("jane@riverside.example", "route") == "an e-mail"
    assert personal("invite/Zk3qLm9XwT2vB8nR4yUc/", "route") == "a token"
    assert personal("100234", "chain") == "a number"
    for fine in ("charts/<uuid:chart_id>/", "unmatched", "200", "0.005", "presence", "backups", "+Inf"):
        assert personal(fine, "route") is None, fine


def _get(port: int, path: str, **query: str) -> dict:
    url = f"http://127.0.0.1:{port}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _query(port: int, expression: str) -> list[dict]:
    return _get(port, "/api/v1/query", query=expression)["data"]["result"]


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_real_prometheus_scrapes_the_metrics_and_no_label_names_anyone(
    tmp_path, client, login_as, therapist, chart, client_user, admin
):
    require_infrastructure("Prometheus (Debian: prometheus)", bool(shutil.which("prometheus")))
    # Traffic that could leak if a label were careless: a chart's page, a token in a path, an
    # e-mail address in a path that matches nothing.
    staff = login_as(therapist)
    assert staff.get(f"/records/charts/{chart.pk}/").status_code == 200
    token = secrets.token_urlsafe(24)
    client.get(f"/invite/{token}/")
    client.get(f"/nothing/here/{client_user.email}/")
    login_as(admin).get("/")
    at = timezone.now() - timedelta(hours=2)
    OperationRun.objects.create(
        kind=RunKind.BACKUP, outcome=Outcome.OK, started_at=at, finished_at=at, documents=3, bytes=1000
    )
    OperationRun.objects.create(
        kind=RunKind.DRILL, outcome=Outcome.OK, started_at=at, finished_at=at + timedelta(minutes=5), seconds=12
    )

    listener = metrics.serve("127.0.0.1:0")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    shutil.copy(RULES / "alerts.yml", tmp_path / "alerts.yml")
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "rule_files: [alerts.yml]\n"
        "scrape_configs:\n"
        f"  - job_name: teletherapy\n    static_configs: [{{targets: ['127.0.0.1:{listener}']}}]\n"
    )
    server = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=30)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                if _query(port, 'teletherapy_backup_age_seconds{job="teletherapy"}') and _query(
                    port, "teletherapy_http_requests_total"
                ):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert _query(port, 'up{job="teletherapy"}')[0]["value"][1] == "1"
        routes = {r["metric"]["route"] for r in _query(port, "teletherapy_http_requests_total")}
        assert "records/charts/<uuid:chart_id>/" in routes and "unmatched" in routes, routes
        age = float(_query(port, "teletherapy_backup_age_seconds")[0]["value"][1])
        assert 7000 < age < 7400
        assert _query(port, "teletherapy_drill_last_ok")[0]["value"][1] == "1"
        assert float(_query(port, "sum(teletherapy_audit_appends_total)")[0]["value"][1]) > 0
        assert _query(port, "teletherapy_ready")[0]["value"][1] == "1"
        queues = {r["metric"]["queue"] for r in _query(port, "teletherapy_queue_length")}
        assert queues == {"celery", "backups"}
        buckets = "sum by (le) (teletherapy_http_request_duration_seconds_bucket)"
        latency = _query(port, f"histogram_quantile(0.99, {buckets})")
        assert latency  # the histogram is usable as Prometheus reads it
        rules = _get(port, "/api/v1/rules")["data"]["groups"][0]["rules"]
        assert {"BackupTooOld", "RestoreDrillFailed", "AuditWitnessUnreachable", "NotReady"} <= {
            r["name"] for r in rules
        }

        # The walk: every label name and every value Prometheus holds.
        found = []
        for label in _get(port, "/api/v1/labels")["data"]:
            for value in _get(port, f"/api/v1/label/{label}/values")["data"]:
                if why := personal(value, label):
                    found.append((label, value, why))
        assert not found, found
        with urllib.request.urlopen(f"http://127.0.0.1:{listener}/metrics", timeout=5) as response:
            exposition = response.read().decode()
        for secret in (token, client_user.email, str(chart.pk), therapist.email, client_user.full_name):
            assert secret not in exposition
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_shipped_alert_rules_pass_promtool():
    require_infrastructure("promtool (Debian: prometheus)", bool(shutil.which("promtool")))
    checked = subprocess.run(["promtool", "check", "rules", "alerts.yml"], cwd=RULES, capture_output=True, text=True)
    assert checked.returncode == 0 and "SUCCESS: 7 rules found" in checked.stdout, checked.stdout + checked.stderr
    tested = subprocess.run(["promtool", "test", "rules", "alerts_test.yml"], cwd=RULES, capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    config = subprocess.run(
        ["promtool", "check", "config", "prometheus.yml"], cwd=RULES, capture_output=True, text=True
    )
    assert config.returncode == 0, config.stdout + config.stderr


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_open_sockets_and_relayed_messages_are_counted_by_kind(room, therapist, client_user, login_as):
    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = value("teletherapy_sockets_open", kind="signaling")
    offers = value("teletherapy_relay_messages_total", kind="offer")
    host, host_welcome, guest, _, _ = await admitted_pair(room, therapist, client_user, login_as)
    assert value("teletherapy_sockets_open", kind="signaling") == before + 2
    await send(guest, "offer", to=host_welcome["peer"], sdp=OFFER_SDP)
    await receive_type(host, "offer")
    assert value("teletherapy_relay_messages_total", kind="offer") == offers + 1
    await host.disconnect()
    await guest.disconnect()
    assert value("teletherapy_sockets_open", kind="signaling") == before
    presence = await open_socket(None, await sync_to_async(login_as)(therapist), path="/ws/presence/")
    assert value("teletherapy_sockets_open", kind="presence") >= 1
    await presence.disconnect()


# Logs ----------------------------------------------------------------------------------------


@pytest.fixture
def request_log(settings):
    """The request log as production writes it (JSON), captured from the configured handler."""
    settings.LOG_REQUESTS = True
    stream = io.StringIO()
    config = logging_config("json", "WARNING")
    config["handlers"]["console"]["stream"] = "ext://sys.stdout"
    logging.config.dictConfig(config)
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    yield stream
    logging.config.dictConfig(settings.LOGGING)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.django_db(databases="__all__")
def test_one_json_line_per_request_with_the_request_id_the_audit_event_carries(request_log, login_as, therapist, chart):
    staff = login_as(therapist)
    response = staff.get(f"/records/charts/{chart.pk}/")
    assert response.status_code == 200
    lines = [line for line in _lines(request_log) if line["logger"] == "teletherapy.requests"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == response["X-Request-ID"] and line["status"] == 200
    assert line["route"] == "records/charts/<uuid:chart_id>/" and line["method"] == "GET" and line["ms"] >= 0
    event = AuditEvent.objects.filter(request_id=line["request_id"]).first()
    assert event is not None and event.target_id == str(chart.pk)


def test_a_token_in_a_path_is_redacted_and_an_expected_refusal_prints_no_traceback(
    request_log, client, login_as, make_user, chart
):
    token = secrets.token_urlsafe(24)
    client.get(f"/invite/{token}/")
    # A client asking for another's chart through the API: refused, as expected.
    other = login_as(make_user("client"))
    assert other.get(f"/api/v1/records/charts/{chart.pk}/notes/").status_code in (403, 404)
    assert other.get("/consent/manage/").status_code == 403  # an admin's page: PermissionDenied
    text = request_log.getvalue()
    assert token not in text and "/invite/[redacted]" in text
    assert "Traceback" not in text and "PermissionDenied" not in text
    assert all(line.get("logger") != "django.request" for line in _lines(request_log))
