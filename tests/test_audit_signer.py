"""The checkpoint signing key kept out of the web and worker processes: they verify checkpoints
with its public half and cannot make one; the signer, alone holding the key, signs."""

from __future__ import annotations

import io
import select
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from audit.checkpoints import checkpoint_verify, checkpoints_create
from audit.models import Action, AuditCheckpoint
from audit.services import audit_record
from audit.tasks import audit_checkpoints_create
from teletherapy.keyring import keyring, parse_key_list, reset_keyring_cache
from tests.browser import ROOT, embedded_env

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def test_without_the_signing_key_a_process_verifies_checkpoints_but_cannot_sign(therapist):
    audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=1)
    checkpoint = checkpoints_create()[0]
    out = io.StringIO()
    call_command("audit_checkpoint", "--public-key", "--raw", stdout=out)
    public = out.getvalue().strip()
    assert public.startswith(f"{checkpoint.key_id}:")
    web = {**settings.KEYRING, "signing": [], "signing_public": parse_key_list(public)}
    with override_settings(KEYRING=web):
        reset_keyring_cache()
        try:
            assert not keyring().has("signing")
            assert checkpoint_verify(AuditCheckpoint.objects.get(pk=checkpoint.pk))
            audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=1)
            assert audit_checkpoints_create() == 0  # beat leaves it to the signer
            with pytest.raises(CommandError, match="holds no signing key"):
                call_command("audit_checkpoint", stdout=io.StringIO())
            verified = io.StringIO()
            call_command("audit_verify", stdout=verified)
            assert "intact" in verified.getvalue()
        finally:
            reset_keyring_cache()


def test_the_signer_keeps_signing_until_told_to_stop(tmp_path):
    env = embedded_env(tmp_path, DJANGO_SETTINGS_MODULE="teletherapy.settings", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from audit.services import audit_record; "
         "from audit.models import Action; audit_record(action=Action.LOGIN_FAILURE, actor=None)"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    signer = subprocess.Popen(
        [sys.executable, "manage.py", "audit_checkpoint", "--every", "1"],
        cwd=ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # Told to stop once it has signed (a loaded machine may take seconds to start it: a signal
    # before its handler is in place would only say how fast the start was).
    seen, deadline = "", time.monotonic() + 90
    while "signed #1" not in seen and time.monotonic() < deadline and signer.poll() is None:
        if select.select([signer.stdout], [], [], 1)[0]:
            seen += signer.stdout.readline()
    signer.send_signal(signal.SIGTERM)
    out, err = signer.communicate(timeout=20)
    out = seen + out
    assert signer.returncode == 0, err
    assert "Signing audit checkpoints every 1 s" in out and "chain 0: signed #1" in out
