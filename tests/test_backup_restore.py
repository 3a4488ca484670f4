"""The restore drill, through the commands an operator runs: seed a practice, back it up, drop the
databases, restore, and find every record readable, the audit trail intact and the witness still
extended. And backups that were changed, cut off or sealed with another key, refused whole."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from teletherapy.dbroles import migration_settings, runtime_role
from tests.conftest import require_infrastructure
from tests.witness import collector, rsyslog_available

ROOT = Path(__file__).resolve().parent.parent

SEED = r"""
import json, django
django.setup()
from django.core.management import call_command
from accounts.models import User
from audit.checkpoints import checkpoints_create
from audit.models import AuditEvent
from audit.witness import witness_ship
from records.models import ClientChart, ProgressNote
from records.selectors import Need, chart_get_for_user
from records.services import note_create, psychotherapy_note_write

call_command("seed_demo", verbosity=0)
therapist = User.objects.get(email="therapist@riverside.example")
written = {"notes": {}, "psychotherapy": {}}
for chart in ClientChart.objects.filter(care_team=therapist).order_by("pk"):
    chart, access = chart_get_for_user(user=therapist, chart_id=chart.pk, need=Need.CLINICAL)
    for n in range(3):
        note = note_create(actor=therapist, chart=chart, access=access, template="soap",
                           sections={"subjective": f"Session {n}: sleeping better, naps less ({chart.pk}).",
                                     "plan": "Keep the diary."}, context=None)
        written["notes"][str(note.pk)] = note.body
    private = psychotherapy_note_write(actor=therapist, chart=chart, access=access,
                                       body=f"My impressions of {chart.pk}: guarded, then open.", context=None)
    written["psychotherapy"][str(private.pk)] = private.body
from django.core.files.uploadedfile import SimpleUploadedFile
from records.services import document_upload
written["documents"] = {}
for n, chart in enumerate(ClientChart.objects.filter(care_team=therapist).order_by("pk")):
    chart, access = chart_get_for_user(user=therapist, chart_id=chart.pk, need=Need.CLINICAL)
    for k in range(2):
        body = b"%PDF-1.4\n% prior record " + f"{n}-{k}".encode() + b"\n"
        body += bytes(range(256)) * (300 + 900 * k) + b"\n%%EOF\n"
        upload = SimpleUploadedFile(f"prior-{n}-{k}.pdf", body, content_type="application/pdf")
        document = document_upload(actor=therapist, chart=chart, access=access, context=None, upload=upload)
        written["documents"][str(document.pk)] = __import__("hashlib").sha256(body).hexdigest()
# And a message's attachment, kept with the chart's documents.
from messaging.selectors import Reach
from messaging.services import conversation_start, message_send
sam = User.objects.get(email="sam@riverside.example")
talk = conversation_start(actor=therapist, clients=[sam], context=None)
worksheet = b"%PDF-1.4\n% a worksheet for the week\n" + bytes(range(256)) * 200 + b"\n%%EOF\n"
sent = message_send(actor=therapist, conversation=talk, reach=Reach.THERAPIST, body="This week's sheet.",
                    upload=SimpleUploadedFile("week.pdf", worksheet, content_type="application/pdf"), context=None)
written["documents"][str(sent.attachment_id)] = __import__("hashlib").sha256(worksheet).hexdigest()
checkpoints_create()
shipped = witness_ship()  # delivers when a witness is configured
assert shipped.delivered, shipped.error
written["events"] = AuditEvent.objects.count()
print(json.dumps(written))
"""

READ_BACK = r"""
import json, django
django.setup()
from audit.models import AuditEvent
from records.models import ClientChart, ProgressNote, PsychotherapyNote
found = {
    "notes": {str(n.pk): n.body for n in ProgressNote.objects.all()},
    "psychotherapy": {str(n.pk): n.body for n in PsychotherapyNote.objects.all()},
    "charts": ClientChart.objects.count(),
    "events": AuditEvent.objects.count(),
}
import hashlib
from records.files import open_document
from records.models import ChartDocument
found["documents"] = {
    str(d.pk): hashlib.sha256(b"".join(open_document(d))).hexdigest() for d in ChartDocument.objects.all()
}
print(json.dumps(found))
"""


def _owner_sql(*statements: str) -> None:
    owner = migration_settings("default")
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=owner["USER"], password=owner.get("PASSWORD") or None,
        dbname="postgres", autocommit=True,
    ) as raw:  # fmt: skip
        for statement in statements:
            raw.execute(statement)


def _tables(name: str) -> int:
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=migration_settings("default")["USER"], dbname=name
    ) as raw:
        return raw.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]


class Drill:
    def __init__(self, tmp: Path, witness) -> None:
        self.name = f"drill_{secrets.token_hex(4)}"
        self.databases = (self.name, f"{self.name}_psychotherapy")
        self.documents = tmp / "data" / "documents"
        settings = connection.settings_dict
        where = f"{settings['HOST']}:{settings['PORT']}"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL", "DJANGO_"))
        }
        self.env.update(
            DATABASE_URL=f"postgres://{runtime_role('default')}@{where}/{self.name}",
            MIGRATION_DATABASE_URL=f"postgres://{migration_settings('default')['USER']}@{where}/{self.name}",
            DATA_DIR=str(tmp / "data"),
            DJANGO_SETTINGS_MODULE="teletherapy.settings",
            AUDIT_WITNESS_URL=witness.url,
            AUDIT_WITNESS_CA_FILE=str(witness.certificates["ca"]),
            PYTHONPATH=str(ROOT),
        )

    def create_empty(self) -> None:
        _owner_sql(*(f"CREATE DATABASE {name}" for name in self.databases))

    def drop(self) -> None:
        """Both databases and the document folder gone, as after a loss."""
        _owner_sql(*(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in self.databases))
        shutil.rmtree(self.documents, ignore_errors=True)

    def manage(self, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env or self.env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def python(self, script: str) -> dict:
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def witness(tmp_path_factory):
    require_infrastructure("rsyslog with its TLS driver (rsyslog, rsyslog-gnutls)", rsyslog_available())
    with collector(tmp_path_factory.mktemp("drill-witness")) as running:
        yield running


@pytest.fixture(scope="module")
def drill(tmp_path_factory, witness, django_db_setup, django_db_blocker):
    """Seeded and backed up once for the module: the expensive part."""
    require_infrastructure("PostgreSQL", connection.vendor == "postgresql")
    require_infrastructure("an owner role (MIGRATION_DATABASE_URL)", bool(migration_settings("default")))
    tmp = tmp_path_factory.mktemp("drill")
    run = Drill(tmp, witness)
    run.drop()
    run.create_empty()
    try:
        run.manage("migrate", "--noinput")
        run.manage("migrate", "--database", "psychotherapy", "--noinput")
        run.written = run.python(SEED)
        run.backup = tmp / "backup"
        run.backed_up = run.manage("backup", str(run.backup)).stdout
        yield run
    finally:
        run.drop()


def test_a_backup_restores_whole_after_the_databases_are_gone(drill, witness):
    assert "Backed up to" in drill.backed_up and "sealed with key" in drill.backed_up
    manifest = json.loads((drill.backup / "manifest.json").read_text())
    assert set(manifest["files"]) == {"default", "psychotherapy"} and manifest["events"] == drill.written["events"]
    assert manifest["documents"]["count"] == 9 and "9 documents" in drill.backed_up
    # The sealed files hold nothing readable.
    sealed = (drill.backup / "psychotherapy.sealed").read_bytes()
    assert b"impressions" not in sealed and b"guarded" not in sealed

    drill.drop()
    drill.create_empty()
    restored = drill.manage("restore", str(drill.backup))
    seconds = float(re.search(r"Restored [\d.,]+ MB in ([\d.]+) s", restored.stdout).group(1))
    print(f"restore drill: restored in {seconds:.1f} s")
    assert "the audit trail is intact" in restored.stdout and "heads match the manifest" in restored.stdout
    assert "restoring default" in restored.stdout  # progress on the terminal

    assert "documents open and match their charts" in restored.stdout
    found = drill.python(READ_BACK)
    assert found["documents"] == drill.written["documents"] and len(found["documents"]) == 9
    assert found["notes"] == drill.written["notes"] and len(found["notes"]) >= 9
    assert found["psychotherapy"] == drill.written["psychotherapy"] and len(found["psychotherapy"]) >= 3
    assert found["events"] >= drill.written["events"] and found["charts"] == 6
    assert "intact" in drill.manage("audit_verify", "--full").stdout
    witnessed = drill.manage("audit_verify", "--witness", str(witness.received))
    assert "intact" in witnessed.stdout
    # The runtime role is granted its rights again, and owns nothing.
    assert "owns nothing" in drill.manage("db_grants", "--check").stdout
    # And into a database that is not empty, nothing is restored.
    again = drill.manage("restore", str(drill.backup), check=False)
    assert again.returncode != 0 and "is not empty" in again.stderr


SCHEDULED = r"""
import json, django
django.setup()
from audit.models import AuditFlag
from operations import tasks
from operations.models import OperationRun
said = [tasks.backup_make.apply().get() for _ in range(int(__import__("sys").argv[1]))]
said.append(tasks.backup_drill.apply().get())
print(json.dumps({
    "said": said,
    "runs": list(OperationRun.objects.order_by("pk").values(
        "kind", "outcome", "documents", "events", "problem", "name")),
    "flags": sorted(AuditFlag.objects.filter(rule="drill_failed").values_list("practice_id", flat=True)),
    "practices": sorted(__import__("accounts.models").models.Practice.objects.values_list("pk", flat=True)),
}))
"""


def test_the_scheduled_backup_and_its_drill_run_as_beat_runs_them(drill, tmp_path):
    """On PostgreSQL: the beat tasks make a backup into the destination and restore it into
    scratch databases of their own; a flipped byte makes the next drill fail loudly."""
    drill.drop()
    drill.create_empty()
    drill.manage("restore", str(drill.backup))
    env = dict(drill.env, BACKUP_DIR=str(tmp_path / "backups"))

    def scheduled(backups: int) -> tuple[dict, str]:
        result = subprocess.run(
            [sys.executable, "-c", SCHEDULED, str(backups)], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr

    first, _ = scheduled(1)
    assert first["said"] == ["ok", "ok"], first
    backup, drilled = first["runs"][-2:]
    assert backup["kind"] == "backup" and backup["documents"] == 9
    assert drilled["kind"] == "drill" and drilled["documents"] == 9 and drilled["events"] >= drill.written["events"]
    assert drilled["name"] == backup["name"] and not drilled["problem"]
    # The scratch databases are gone.
    with psycopg.connect(host=connection.settings_dict["HOST"], port=connection.settings_dict["PORT"],
                         user=migration_settings("default")["USER"], dbname="postgres") as raw:  # fmt: skip
        left = raw.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'drill\\_%\\_main\\_%'").fetchone()[0]
    assert left == 0

    _flip(tmp_path / "backups" / backup["name"] / "documents.sealed", 3000)
    second, stderr = scheduled(0)
    assert second["said"] == ["failed"]
    failed = second["runs"][-1]
    assert failed["outcome"] == "failed" and "does not match its SHA-256 digest" in failed["problem"]
    assert str(tmp_path) not in failed["problem"]  # the folder's name, never where it is
    assert second["flags"] == second["practices"]  # every practice's admins, once
    assert "ALERT: The restore drill" in stderr


def _damaged(drill, tmp_path, damage) -> Path:
    copy = tmp_path / "damaged"
    shutil.copytree(drill.backup, copy)
    damage(copy)
    return copy


def _flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda folder: _flip(folder / "default.sealed", 5000), "does not match its SHA-256 digest"),
        (
            lambda folder: (folder / "default.sealed").write_bytes((folder / "default.sealed").read_bytes()[:-100]),
            "it was cut off or changed",
        ),
        (
            lambda folder: (folder / "manifest.json").write_text(
                (folder / "manifest.json").read_text().replace('"events": ', '"events": 1')
            ),
            "the manifest was changed",
        ),
        (lambda folder: (folder / "psychotherapy.sealed").unlink(), "psychotherapy.sealed is missing"),
        (lambda folder: _flip(folder / "documents.sealed", 3000), "does not match its SHA-256 digest"),
        (lambda folder: (folder / "documents.sealed").unlink(), "documents.sealed is missing"),
    ],
    ids=["flipped-bit", "truncated", "manifest-changed", "file-missing", "documents-flipped", "documents-missing"],
)
def test_a_damaged_backup_is_refused_and_nothing_is_written(drill, tmp_path, damage, says):
    damaged = _damaged(drill, tmp_path, damage)
    drill.drop()
    drill.create_empty()
    refused = drill.manage("restore", str(damaged), check=False)
    assert refused.returncode != 0 and "Nothing restored" in refused.stderr and says in refused.stderr
    assert _tables(drill.databases[0]) == 0 and _tables(drill.databases[1]) == 0
    assert not drill.documents.exists() or not any(drill.documents.iterdir())


def test_a_backup_made_with_another_key_is_refused(drill, tmp_path):
    drill.drop()
    drill.create_empty()
    other = dict(drill.env, DATA_DIR=str(tmp_path / "other-keys"))  # a key ring of its own
    refused = drill.manage("restore", str(drill.backup), check=False, env=other)
    assert refused.returncode != 0 and "different backup key" in refused.stderr
    assert _tables(drill.databases[0]) == 0


@pytest.mark.embedded
def test_the_embedded_store_backs_up_online_and_restores(tmp_path):
    """SQLite: the online backup API, while the files are in use; restored files replace none."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MIGRATION_", "REDIS_URL", "DJANGO_"))
    }
    env.update(DATA_DIR=str(tmp_path / "data"), DJANGO_SETTINGS_MODULE="teletherapy.settings", PYTHONPATH=str(ROOT))

    def run(*command: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert not check or result.returncode == 0, result.stdout + result.stderr
        return result

    run(sys.executable, "manage.py", "migrate", "--noinput")
    run(sys.executable, "manage.py", "migrate", "--database", "psychotherapy", "--noinput")
    written = json.loads(run(sys.executable, "-c", SEED).stdout.strip().splitlines()[-1])
    run(sys.executable, "manage.py", "backup", str(tmp_path / "backup"))
    for stored in (tmp_path / "data").glob("*.sqlite3*"):
        stored.unlink()
    shutil.rmtree(tmp_path / "data" / "documents")
    restored = run(sys.executable, "manage.py", "restore", str(tmp_path / "backup"))
    assert "heads match the manifest" in restored.stdout and "9 documents open" in restored.stdout
    found = json.loads(run(sys.executable, "-c", READ_BACK).stdout.strip().splitlines()[-1])
    assert found["notes"] == written["notes"] and found["psychotherapy"] == written["psychotherapy"]
    assert found["documents"] == written["documents"]
    again = run(sys.executable, "manage.py", "restore", str(tmp_path / "backup"), check=False)
    assert again.returncode != 0 and "is not empty" in again.stderr

    # Beat's backup and its drill, on the embedded store: the drill restores into SQLite files of
    # its own; a flipped byte makes the next one fail and alert.
    env["BACKUP_DIR"] = str(tmp_path / "scheduled")
    first = json.loads(run(sys.executable, "-c", SCHEDULED, "1").stdout.strip().splitlines()[-1])
    assert first["said"] == ["ok", "ok"] and first["runs"][-1]["documents"] == 9, first
    _flip(tmp_path / "scheduled" / first["runs"][-1]["name"] / "default.sealed", 4000)
    second = json.loads(run(sys.executable, "-c", SCHEDULED, "0").stdout.strip().splitlines()[-1])
    assert second["said"] == ["failed"] and second["flags"] == second["practices"]
