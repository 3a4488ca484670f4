"""Faults survived, each against a real service this test starts for itself (tests/servers.py):

- PostgreSQL restarted under a running daphne: requests during the restart fail cleanly with
  503, none answers without its audit event, and afterwards everything works without restarting
  daphne;
- the Celery broker down: no checkpoint or reminder is lost; the periodic tasks make them once
  the broker is back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.browser import free_port
from tests.conftest import PASSWORD, require_infrastructure, totp_code
from tests.servers import PostgresCluster, RedisServer, can_run_own_servers, private_folder, wait_for_port

ROOT = Path(__file__).resolve().parent.parent

SEED = r"""
import base64, json, secrets, django
django.setup()
from django.utils import timezone
from accounts.models import Practice, RoleGrant, TOTPDevice, User
from records.selectors import Need, chart_get_for_user
from records.services import chart_create, note_create
practice = Practice.objects.create(name="Fault practice", slug="faults")
therapist = User.objects.create_user("therapist@faults.example", %(password)r, practice=practice, full_name="T")
RoleGrant.objects.create(user=therapist, role="therapist")
secret = base64.b32encode(secrets.token_bytes(20)).decode()
TOTPDevice(user=therapist, name="app", confirmed=True, confirmed_at=timezone.now(), secret=secret).save()
client = User.objects.create_user("client@faults.example", %(password)r, practice=practice, full_name="C")
RoleGrant.objects.create(user=client, role="client")
chart = chart_create(actor=None, client=client, therapists=[therapist])
chart, access = chart_get_for_user(user=therapist, chart_id=chart.pk, need=Need.CLINICAL)
for n in range(3):
    note_create(actor=therapist, chart=chart, access=access, template="soap",
                sections={"subjective": f"Note {n}"}, context=None)
print(json.dumps({"secret": secret, "chart": str(chart.pk)}))
"""


class Visitor:
    """A person's browser, as far as cookies, CSRF and redirects go."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name.endswith("csrftoken"))

    def get(self, path: str) -> tuple[int, dict, bytes]:
        """Status, headers (names in lower case) and body."""
        try:
            with self.opener.open(self.base + path, timeout=20) as response:
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()

    def post(self, path: str, fields: dict[str, str]) -> int:
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self._csrf()}).encode()
        request = urllib.request.Request(  # noqa: S310 - our own http:// test server
            self.base + path, data=data, headers={"Referer": self.base + path}
        )
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def sign_in(self, email: str, secret: str) -> None:
        self.get("/login/")
        self.post("/login/", {"email": email, "password": PASSWORD})
        self.post("/mfa/", {"code": totp_code(secret)})


def _env(**values: str) -> dict[str, str]:
    ours = ("DATABASE_URL", "MIGRATION_", "PSYCHOTHERAPY_", "REDIS", "DJANGO_", "CELERY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(DJANGO_SETTINGS_MODULE="teletherapy.settings", PYTHONPATH=str(ROOT), **values)
    return env


def _run(env: dict[str, str], *command: str) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def own_postgres():
    require_infrastructure("initdb, runuser and redis-server (to run servers of the test's own)", can_run_own_servers())
    cluster = PostgresCluster(private_folder("fault-pg-"))
    cluster.init()
    cluster.start()
    try:
        cluster.sql(
            "CREATE ROLE teletherapy_owner LOGIN CREATEDB",
            "CREATE ROLE teletherapy_app LOGIN",
            "CREATE DATABASE teletherapy OWNER teletherapy_owner",
            "CREATE DATABASE teletherapy_psychotherapy OWNER teletherapy_owner",
        )
        env = _env(
            DATABASE_URL=cluster.url("teletherapy_app", "teletherapy"),
            MIGRATION_DATABASE_URL=cluster.url("teletherapy_owner", "teletherapy"),
            DATA_DIR=str(cluster.folder / "data"),
            DB_CONN_MAX_AGE="60",  # persistent connections: the restart breaks them under daphne
        )
        _run(env, sys.executable, "manage.py", "migrate", "--noinput")
        _run(env, sys.executable, "manage.py", "migrate", "--database", "psychotherapy", "--noinput")
        seeded = json.loads(_run(env, sys.executable, "-c", SEED % {"password": PASSWORD}).strip().splitlines()[-1])
        yield cluster, env, seeded
    finally:
        cluster.close()


def test_postgres_restarted_under_daphne_gives_clean_503s_and_recovers_without_a_restart(own_postgres, tmp_path):
    cluster, env, seeded = own_postgres
    port = free_port()
    log = open(tmp_path / "daphne.log", "wb")  # noqa: SIM115 - kept open by the process
    daphne = subprocess.Popen(
        [str(ROOT / ".venv/bin/daphne"), "-b", "127.0.0.1", "-p", str(port), "teletherapy.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port)
        visitor = Visitor(f"http://127.0.0.1:{port}")
        visitor.sign_in("therapist@faults.example", seeded["secret"])
        notes = f"/api/v1/records/charts/{seeded['chart']}/notes/"
        status, _, body = visitor.get(notes)
        assert status == 200 and len(json.loads(body)) == 3

        answers: list[tuple[int, dict, bytes]] = []
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                status, headers, body = visitor.get(notes)
                answers.append((status, headers, body))
                time.sleep(0.01)

        worker = threading.Thread(target=hammer)
        worker.start()
        time.sleep(1.0)
        cluster.restart()
        time.sleep(1.5)
        cluster.stop()  # and a longer outage: every request meanwhile must fail cleanly
        time.sleep(1.0)
        cluster.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (answers and answers[-1][0] == 200):
            time.sleep(0.2)
        time.sleep(0.5)
        stop.set()
        worker.join(timeout=30)

        statuses = [status for status, _, _ in answers]
        assert set(statuses) <= {200, 503}, sorted(set(statuses))
        assert 503 in statuses and statuses[-1] == 200
        for status, headers, body in answers:
            if status == 503:
                answer = json.loads(body)
                assert answer["code"] == "database_unavailable" and "Note " not in body.decode()
                assert headers["retry-after"] == "5"
        assert daphne.poll() is None  # the same process, never restarted
        # Every note list that was answered has its audit event.
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="teletherapy") as raw:
            audited = {
                row[0]
                for row in raw.execute(
                    "SELECT request_id FROM audit_auditevent WHERE action = 'records.note_list'"
                ).fetchall()
            }
        answered = [headers.get("x-request-id", "") for status, headers, _ in answers if status == 200]
        assert answered and all(answered) and set(answered) <= audited
        verified = _run(env, sys.executable, "manage.py", "audit_verify", "--full")
        assert "intact" in verified
    finally:
        daphne.terminate()
        daphne.wait(timeout=20)
        log.close()


APPOINTMENT = r"""
import django, json
django.setup()
from datetime import timedelta
from django.utils import timezone
from accounts.models import User
from sessions.services import appointment_schedule
appointment = appointment_schedule(
    therapist=User.objects.get(email="therapist@faults.example"),
    clients=[User.objects.get(email="client@faults.example")],
    kind="individual", starts_at=timezone.now() + timedelta(hours=2), notify=False,
)
print(json.dumps({"appointment": str(appointment.pk)}))
"""

SEND = (
    "import django; django.setup()\n"
    "from audit.tasks import audit_checkpoints_create\n"
    "from sessions.tasks import reminders_send_due\n"
    "audit_checkpoints_create.apply_async(retry=False); reminders_send_due.apply_async(retry=False)\n"
    "print('sent')\n"
)


def test_with_the_broker_down_no_checkpoint_or_reminder_is_lost(own_postgres):
    """The periodic tasks look at the state, not at a message: a send beat could not make while
    the broker was down fails loudly, and the next one (or the queued one, once a worker runs)
    makes the checkpoint and sends the reminder that fell due meanwhile. Redis is run as the
    deployment runs it, keeping nothing on disk."""
    cluster, env, _ = own_postgres
    appointment = json.loads(_run(env, sys.executable, "-c", APPOINTMENT).strip().splitlines()[-1])["appointment"]
    broker = RedisServer(private_folder("fault-redis-"))
    celery_env = dict(env, REDIS_URL=f"redis://127.0.0.1:{broker.port}/0", CELERY_TASK_ALWAYS_EAGER="false")
    broker.start()
    try:
        broker.stop()
        refused = subprocess.run(
            [sys.executable, "-c", SEND], cwd=ROOT, env=celery_env, capture_output=True, text=True, timeout=120
        )
        assert refused.returncode != 0 and "sent" not in refused.stdout  # an error, not a silent loss
        assert _reminded(cluster, appointment) is False

        broker.start()  # back, empty
        assert "sent" in _run(celery_env, sys.executable, "-c", SEND)  # queued: no worker runs yet
        checkpoints_before = _count(cluster, "audit_auditcheckpoint")
        worker = subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "teletherapy", "worker", "--pool", "solo", "--loglevel", "INFO"],
            cwd=ROOT, env=celery_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not (
                _reminded(cluster, appointment) and _count(cluster, "audit_auditcheckpoint") > checkpoints_before
            ):
                time.sleep(0.5)
        finally:
            worker.terminate()
            output = worker.communicate(timeout=30)[0]
        assert _reminded(cluster, appointment), output[-3000:]
        assert _count(cluster, "audit_auditcheckpoint") > checkpoints_before, output[-3000:]
        assert "audit.tasks.audit_checkpoints_create" in output and "sessions.tasks.reminders_send_due" in output
    finally:
        broker.stop()


def _reminded(cluster: PostgresCluster, appointment: str) -> bool:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="teletherapy") as raw:
        row = raw.execute("SELECT reminder_sent_at FROM video_appointment WHERE id = %s", [appointment]).fetchone()
    return row is not None and row[0] is not None


def _count(cluster: PostgresCluster, table: str) -> int:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="teletherapy") as raw:
        return raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
