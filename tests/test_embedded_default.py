"""The embedded default: what a newcomer gets with nothing configured."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.test.utils import isolate_apps

from tests.browser import ROOT, embedded_env

pytestmark = pytest.mark.embedded

PROBE = """
import json, django
django.setup()
from django.conf import settings
from teletherapy.celery import app
print(json.dumps({
    "db": settings.DATABASES["default"]["ENGINE"],
    "psy": str(settings.DATABASES["psychotherapy"]["NAME"]),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "eager": app.conf.task_always_eager,
    "email": settings.EMAIL_BACKEND,
    "sessions": settings.SESSION_ENGINE,
    "debug": settings.DEBUG,
}))
"""


def test_with_nothing_set_it_runs_on_sqlite_memory_and_eager_tasks(tmp_path):
    env = embedded_env(tmp_path, DJANGO_SETTINGS_MODULE="teletherapy.settings")
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "db": "django.db.backends.sqlite3",
        "psy": str(tmp_path / "psychotherapy.sqlite3"),
        "layer": "channels.layers.InMemoryChannelLayer",
        "eager": True,
        "email": "django.core.mail.backends.console.EmailBackend",
        "sessions": "django.contrib.sessions.backends.db",
        "debug": False,
    }
    assert "Generated a local key file" in result.stderr
    assert oct((tmp_path / "keyring.json").stat().st_mode & 0o777) == "0o600"


def shell(env: dict[str, str], code: str) -> str:
    """What ``manage.py shell -c`` prints last, run in the given environment."""
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_the_seed_command_prints_every_login_and_can_run_twice(tmp_path):
    env = embedded_env(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    first = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    people = ("admin@", "director@", "therapist@", "therapist2@", "sam@", "alex@", "jordan@", "casey@", "morgan@")
    details = tmp_path / "demo-accounts.txt"
    for email in (*people, "parent@", "riley@"):
        assert f"{email}riverside.example" in first.stdout and f"{email}riverside.example" in details.read_text()
    # The terminal's block is short; the keys are in the file, which only its owner reads.
    assert "otpauth://" not in first.stdout and first.stdout.count("\n") < 25
    assert details.read_text().count("otpauth://totp/") == 11 and oct(details.stat().st_mode & 0o777) == "0o600"
    # Two accounts show a new person's first sign-in; the others have a demo authenticator.
    assert first.stdout.count("set up its second factor at") == 2
    assert "Subject:" not in first.stdout  # the demo sends nobody e-mail
    second = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    assert "already loaded" in second.stdout
    # Morgan's session open to join now is there once, not once per run.
    count = (
        "from sessions.models import Appointment; "
        "print(Appointment.objects.filter(participants__client__email='morgan@riverside.example').count())"
    )
    assert shell(env, count) == "1"
    assert details.read_text().count("otpauth://totp/") == 11
    # Dr. Okafor's sessions fall in working hours of the practice's zone.
    hours = (
        "import zoneinfo; from sessions.models import Appointment; "
        "zone = zoneinfo.ZoneInfo('America/New_York'); "
        "print(sorted(a.starts_at.astimezone(zone).hour for a in "
        "Appointment.objects.filter(therapist__email='therapist@riverside.example')))"
    )
    assert shell(env, hours) == "[10, 13, 15]"


@isolate_apps("records")
def test_psychotherapy_models_are_routed_to_their_own_database():
    from django.db import models

    from teletherapy.routers import PsychotherapyRouter

    class Apart(models.Model):  # noqa: DJ008
        stored_apart = "psychotherapy"

        class Meta:
            app_label = "records"

    class Main(models.Model):  # noqa: DJ008
        class Meta:
            app_label = "records"

    router = PsychotherapyRouter()
    assert router.db_for_write(Apart) == "psychotherapy" and router.db_for_read(Apart) == "psychotherapy"
    assert router.db_for_write(Main) == "default"
    assert router.allow_relation(Apart(), Main()) is False


def logs(data_dir) -> str:
    return "\n".join(
        (data_dir / name).read_text(errors="replace")
        for name in ("run.log", "worker.log", "beat.log", "access.log")
        if (data_dir / name).is_file()
    )


def group_members(group: int) -> list[str]:
    return subprocess.run(["ps", "-o", "pid=", "-g", str(group)], capture_output=True, text=True).stdout.split()


def test_the_run_command_runs_the_schedule_on_a_real_worker_and_beat_and_ctrl_c_stops_all(tmp_path):
    """`make run` runs the periodic work production runs on beat, on a real Celery worker through
    a broker that is a folder (not tasks run in the request), and Ctrl-C stops all of it."""
    import os
    import re
    import signal
    import time

    from tests.browser import free_port, wait_healthy

    port = free_port()
    env = embedded_env(tmp_path, PORT=str(port), SITE_URL=f"http://localhost:{port}", AUDIT_WITNESS_SECONDS="1")
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_healthy(f"http://localhost:{port}", process, seconds=300, log_path=log_path)
            deadline = time.monotonic() + 60
            done = r"Task audit\.tasks\.audit_witness_ship\[[^\]]+\] succeeded"
            while not re.search(done, logs(tmp_path)):
                assert time.monotonic() < deadline, logs(tmp_path)[-3000:]
                time.sleep(0.5)
            text = logs(tmp_path)
            assert "beat: Starting" in text and "Sending due task audit-witness" in text
            assert "celery@" in text and "Traceback" not in text
            # The terminal: the logins last, once the server answers; the workers' banners and
            # every request in the logs under data/ instead.
            terminal = log_path.read_text(errors="replace")
            assert "celery@" not in terminal and "GET /healthz" not in terminal
            tail = terminal[terminal.index("Riverside Counselling (demo)") :]
            assert tail.rstrip().endswith("(Ctrl-C to stop)") and tail.count("\n") < 25
            assert "make codes" in tail and "private window" in tail and f"http://localhost:{port}/" in tail
            assert (tmp_path / "broker" / "queue").is_dir()  # the broker is a folder of the data directory
            assert len(group_members(process.pid)) >= 4  # the script, daphne, the worker and beat
        finally:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal reaches the whole group
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                survivors = subprocess.run(
                    ["ps", "-o", "pid=,args=", "-g", str(process.pid)], capture_output=True, text=True
                ).stdout
                os.killpg(process.pid, signal.SIGKILL)
                raise AssertionError(
                    f"Ctrl-C did not stop the run command in 30 s; still running:\n{survivors}\n"
                    + log_path.read_text(errors="replace")[-3000:]
                ) from None
        deadline = time.monotonic() + 15
        while subprocess.run(
            ["ps", "-o", "pid=", "-g", str(process.pid)], capture_output=True, text=True
        ).stdout.strip():
            assert time.monotonic() < deadline, "a process of the platform outlived Ctrl-C"
            time.sleep(0.3)
