"""Encryption at rest for records: no plaintext in the raw stores, values bound to row and field,
key rotation, and the blind index for date-of-birth lookups."""

from __future__ import annotations

import base64
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from records.models import ClientChart, ProgressNote, PsychotherapyNote
from records.selectors import Access
from records.services import (
    billing_create,
    chart_update,
    charts_find_by_date_of_birth,
    note_create,
    psychotherapy_note_write,
)
from teletherapy.keyring import CiphertextIntegrityError, keyring, reset_keyring_cache
from tests.browser import ROOT, embedded_env

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

PLANTED = {
    "phone": "+1-555-0199-PLANTPHONE",
    "address": "17 Plantedstreet, Quartzville",
    "emergency_contact": "Zelda Plantedcontact",
    "note": "PLANTED-NOTE-subjective-7731",
    "psy": "PLANTED-PSY-secret-9924",
    "dx": "F43.10",
}


def _fill(chart: ClientChart, therapist) -> None:
    chart_update(
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        data={
            "date_of_birth": "1990-04-12",
            "phone": PLANTED["phone"],
            "address": PLANTED["address"],
            "emergency_contact": PLANTED["emergency_contact"],
            "intake": {"reason": "PLANTED-INTAKE-4410"},
        },
        context=None,
    )
    note_create(
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        template="soap",
        sections={"subjective": PLANTED["note"]},
        context=None,
    )
    psychotherapy_note_write(actor=therapist, chart=chart, access=Access.CARE_TEAM, body=PLANTED["psy"], context=None)
    billing_create(
        actor=therapist,
        chart=chart,
        access=Access.CARE_TEAM,
        service_date="2026-11-03",
        cpt_code="90837",
        diagnosis_codes=[PLANTED["dx"]],
        fee="180",
        context=None,
    )


def _raw_text(alias: str) -> str:
    connection = connections[alias]
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            chunks += [str(v) for row in cursor.fetchall() for v in row if v is not None]
    return "\n".join(chunks)


def test_no_planted_string_appears_in_either_raw_database(therapist, chart):
    _fill(chart, therapist)
    raw = _raw_text("default") + _raw_text("psychotherapy")
    for value in [*PLANTED.values(), "PLANTED-INTAKE-4410", "1990-04-12"]:
        assert value not in raw, value
    assert PLANTED["psy"] not in _raw_text("psychotherapy")


def test_no_planted_string_appears_in_the_sqlite_files(tmp_path):
    """The embedded default on disk: every byte of both database files (and their WAL) is scanned."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0); call_command('migrate', database='psychotherapy', verbosity=0)\n"
        "from accounts.models import Practice, Role, RoleGrant, User\n"
        "from records.services import chart_create\n"
        "from tests.test_records_encryption import _fill\n"
        "p = Practice.objects.create(name='P', slug='p')\n"
        "t = User.objects.create_user('t@example.org', None, practice=p, full_name='T')\n"
        "RoleGrant.objects.create(user=t, role='therapist')\n"
        "c = User.objects.create_user('c@example.org', None, practice=p, full_name='C')\n"
        "RoleGrant.objects.create(user=c, role='client')\n"
        "_fill(chart_create(actor=None, client=c, therapists=[t]), t)\n"
    )
    env = embedded_env(tmp_path, DJANGO_SETTINGS_MODULE="teletherapy.settings", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    files = [p for p in Path(tmp_path).iterdir() if p.name.endswith((".sqlite3", ".sqlite3-wal"))]
    assert {p.name for p in files} >= {"teletherapy.sqlite3", "psychotherapy.sqlite3"}
    data = b"".join(p.read_bytes() for p in files)
    for value in [*PLANTED.values(), "PLANTED-INTAKE-4410"]:
        assert value.encode() not in data, value


def test_a_ciphertext_copied_to_another_row_or_field_fails(therapist, chart, make_user):
    from records.services import chart_create

    _fill(chart, therapist)
    other = chart_create(actor=None, client=make_user("client"), therapists=[therapist])
    sealed_phone = ClientChart.objects.values_list("phone", flat=True).get(pk=chart.pk)
    ClientChart.objects.filter(pk=other.pk).update(phone=sealed_phone)  # another row
    ClientChart.objects.filter(pk=chart.pk).update(address=sealed_phone)  # another field
    with pytest.raises(CiphertextIntegrityError):
        ClientChart.objects.get(pk=other.pk).phone  # noqa: B018
    with pytest.raises(CiphertextIntegrityError):
        ClientChart.objects.get(pk=chart.pk).address  # noqa: B018
    assert ClientChart.objects.get(pk=chart.pk).phone == PLANTED["phone"]


def test_a_moved_ciphertext_gives_a_clean_audited_error_on_the_page(login_as, therapist, chart, make_user):
    from audit.models import Action, AuditEvent

    _fill(chart, therapist)
    note = ProgressNote.objects.get()
    other = note_create(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, template="soap", sections={"plan": "x"}, context=None
    )
    ProgressNote.objects.filter(pk=other.pk).update(
        body=ProgressNote.objects.values_list("body", flat=True).get(pk=note.pk)
    )
    response = login_as(therapist).get(f"/records/notes/{other.pk}/")
    assert response.status_code == 500 and b"integrity check" in response.content
    assert PLANTED["note"].encode() not in response.content
    assert AuditEvent.objects.filter(action=Action.INTEGRITY_FAILURE, target_id=str(other.pk)).exists()


def _new_ring() -> dict[str, list[dict[str, str]]]:
    from django.conf import settings

    fresh = {}
    for purpose, entries in settings.KEYRING.items():
        new = {"id": f"{purpose[:3]}-rotated", "key": base64.b64encode(secrets.token_bytes(32)).decode()}
        fresh[purpose] = [new, *entries]
    return fresh


def test_rotation_keeps_everything_readable_and_leaves_nothing_under_old_keys(therapist, chart, capsys):
    _fill(chart, therapist)
    from teletherapy.rotation import encrypted_models

    with override_settings(KEYRING=_new_ring()):
        reset_keyring_cache()
        try:
            call_command("keyring_rotate", batch_size=2)
            ring = keyring()
            for model, fields in encrypted_models():
                alias = "psychotherapy" if getattr(model, "stored_apart", None) else "default"
                for row in model._base_manager.using(alias).values_list(*[f.attname for f in fields]):
                    for enc_field, token in zip(fields, row, strict=True):
                        if token:
                            assert ring.key_id_of(token) == ring.current(enc_field.purpose).key_id, (
                                model,
                                enc_field.name,
                            )
            chart_now = ClientChart.objects.get(pk=chart.pk)
            assert chart_now.phone == PLANTED["phone"] and chart_now.date_of_birth == "1990-04-12"
            assert chart_now.date_of_birth_index.startswith("ind-rotated:")
            assert PLANTED["note"] in ProgressNote.objects.get().body
            assert PsychotherapyNote.objects.using("psychotherapy").get().body == PLANTED["psy"]
            assert [c.pk for c in charts_find_by_date_of_birth(actor=therapist, date_of_birth="1990-04-12")] == [
                chart.pk
            ]
            capsys.readouterr()
            call_command("keyring_rotate")  # resumable: a second run finds nothing to do
            assert "re-encrypted 0 values" in capsys.readouterr().out
        finally:
            reset_keyring_cache()
    from audit.models import Action, AuditEvent

    assert AuditEvent.objects.filter(action=Action.KEY_ROTATION).count() == 4


def test_the_blind_index_finds_by_date_of_birth_without_storing_it(therapist, chart):
    _fill(chart, therapist)
    assert [c.pk for c in charts_find_by_date_of_birth(actor=therapist, date_of_birth="1990-04-12")] == [chart.pk]
    assert charts_find_by_date_of_birth(actor=therapist, date_of_birth="1990-04-13") == []
    stored = ClientChart.objects.values_list("date_of_birth_index", flat=True).get(pk=chart.pk)
    assert "1990" not in stored


def test_an_old_local_key_file_gains_the_missing_keys(tmp_path):
    import json

    from teletherapy.keyring import complete_local_key_file

    path = tmp_path / "keyring.json"
    old = {
        p: [{"id": f"{p}1", "key": base64.b64encode(secrets.token_bytes(32)).decode()}]
        for p in ("field", "psychotherapy", "audit")
    }
    path.write_text(json.dumps(old))
    data = complete_local_key_file(path)
    assert set(data) == {"field", "psychotherapy", "audit", "index", "signing", "backup"}
    assert data["field"] == old["field"]
    assert json.loads(path.read_text())["index"]
