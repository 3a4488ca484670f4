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


def test_the_seed_command_prints_every_login_and_can_run_twice(tmp_path):
    env = embedded_env(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    first = subprocess.run(
        [sys.executable, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    for email in ("admin@", "therapist@", "therapist2@", "sam@", "alex@", "jordan@", "casey@", "morgan@", "parent@"):
        assert f"{email}riverside.example" in first.stdout
    assert first.stdout.count("otpauth://totp/") == 9
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
    sessions = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", count],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    assert sessions.stdout.strip().splitlines()[-1] == "1"
    assert second.stdout.count("otpauth://totp/") == 9


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
