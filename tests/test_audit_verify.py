"""An attacker with database rights lifts the triggers and tampers; audit_verify names the event and the kind."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import Action, AuditEvent, chain_of
from audit.services import audit_record
from tests.conftest import tamper_as_owner

# Transactional: the tampering runs on the owner's own connection, as an attacker's would.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


@pytest.fixture
def chain(therapist) -> int:
    for _ in range(10):
        audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=1)
    return chain_of(therapist.practice_id)


def tamper(*statements: tuple[str, list]) -> None:
    tamper_as_owner(*statements)


def run_verify(chain: int) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("audit_verify", chain=chain, stdout=out)
    except CommandError:
        return 1, out.getvalue()
    return 0, out.getvalue()


def test_a_clean_log_passes_and_says_how_many_and_how_fast(chain):
    code, output = run_verify(chain)
    assert code == 0
    assert f"chain {chain}: 10 events intact" in output and "events/s" in output


def test_an_edited_field_is_named_as_modified(chain):
    tamper(("UPDATE audit_auditevent SET actor_id = 999 WHERE chain = %s AND seq = 4", [chain]))
    code, output = run_verify(chain)
    assert code == 1 and f"chain {chain}: modified at #4" in output


def test_a_deleted_middle_event_is_named(chain):
    tamper(("DELETE FROM audit_auditevent WHERE chain = %s AND seq = 6", [chain]))
    code, output = run_verify(chain)
    assert code == 1 and "deleted at #6" in output


def test_two_swapped_events_are_named_as_reordered(chain):
    tamper(
        ("UPDATE audit_auditevent SET seq = -5 WHERE chain = %s AND seq = 5", [chain]),
        ("UPDATE audit_auditevent SET seq = 5 WHERE chain = %s AND seq = 6", [chain]),
        ("UPDATE audit_auditevent SET seq = 6 WHERE chain = %s AND seq = -5", [chain]),
    )
    code, output = run_verify(chain)
    assert code == 1 and "reordered at #5" in output and "written as #6" in output


def test_a_forged_event_is_named_as_inserted(chain):
    forged = AuditEvent.objects.filter(chain=chain, seq=10).values().get()
    tamper(("UPDATE audit_auditchainhead SET seq = 11 WHERE chain = %s", [chain]))
    forged.update({"id": None, "seq": 11, "prev_mac": forged["mac"], "mac": "f" * 64, "actor_id": 424242})
    AuditEvent(**forged).save()
    code, output = run_verify(chain)
    # Without the audit key the forger cannot make a valid MAC; the event is flagged either way.
    assert code == 1 and ("modified at #11" in output or "inserted at #11" in output)


def test_a_truncated_tail_is_named(chain):
    tamper(("DELETE FROM audit_auditevent WHERE chain = %s AND seq > 7", [chain]))
    code, output = run_verify(chain)
    assert code == 1 and "truncated at #8" in output and "#8-#10" in output


def test_since_starts_from_the_middle(chain):
    out = io.StringIO()
    call_command("audit_verify", chain=chain, since=6, stdout=out)
    assert "5 events intact" in out.getvalue()


def test_a_rewritten_and_truncated_tail_is_caught_by_the_signed_checkpoint(chain):
    """An attacker who holds the MAC key cuts the tail, recomputes the head: the chain itself
    verifies, but the signed checkpoint still vouches for the events that are gone."""
    from audit.checkpoints import checkpoints_create
    from audit.models import AuditChainHead

    checkpoints_create()
    last_kept = AuditEvent.objects.get(chain=chain, seq=7)
    tamper(
        ("DELETE FROM audit_auditevent WHERE chain = %s AND seq > 7", [chain]),
        ("UPDATE audit_auditchainhead SET seq = 7, mac = %s WHERE chain = %s", [last_kept.mac, chain]),
    )
    assert AuditChainHead.objects.get(chain=chain).seq == 7
    code, output = run_verify(chain)
    assert code == 1 and "truncated at #8" in output and "checkpoint vouches for #10" in output


def test_a_forged_checkpoint_is_refused(chain):
    from audit.checkpoints import checkpoint_verify, checkpoints_create
    from audit.models import AuditCheckpoint

    checkpoint = checkpoints_create()[0]
    assert checkpoint_verify(checkpoint)
    forged = AuditCheckpoint.objects.get(pk=checkpoint.pk)
    forged.seq = 9
    assert not checkpoint_verify(forged)


def test_checkpoints_are_append_only(chain):
    from django.db import DatabaseError, transaction

    from audit.checkpoints import checkpoints_create

    checkpoints_create()
    for statement in ("UPDATE audit_auditcheckpoint SET seq = 1", "DELETE FROM audit_auditcheckpoint"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)


def test_the_beat_task_alerts_admins_when_verification_fails(chain, admin):
    from django.core import mail

    from oversight.tasks import audit_verify_all

    tamper(("UPDATE audit_auditevent SET outcome = 'denied' WHERE chain = %s AND seq = 3", [chain]))
    assert audit_verify_all() == 1
    assert mail.outbox[-1].to == [admin.email] and "modified at event #3" in mail.outbox[-1].body


def test_the_public_key_is_printed(chain):
    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    assert f"chain {chain}: signed #10" in out.getvalue() and "BEGIN PUBLIC KEY" in out.getvalue()


STANDALONE = __import__("pathlib").Path(__file__).resolve().parent.parent / "audit" / "standalone_verify.py"


def export_and_verify_offline(tmp_path, chain: int) -> tuple[int, str]:
    """Export as an operator would, then run the standalone verifier as a separate program."""
    import subprocess
    import sys

    folder = tmp_path / f"export-{len(list(tmp_path.iterdir()))}"
    call_command("audit_export", str(folder), chain=chain, stdout=io.StringIO())
    result = subprocess.run(
        [sys.executable, str(STANDALONE), "--public-key", str(folder / "public_key.pem"),
         "--checkpoints", str(folder / "checkpoints.json"), "--events", str(folder / "events.jsonl")],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return result.returncode, result.stdout + result.stderr


def test_the_standalone_verifier_agrees_on_a_clean_log(tmp_path, chain):
    from audit.checkpoints import checkpoints_create

    checkpoints_create()
    code, output = export_and_verify_offline(tmp_path, chain)
    assert code == 0, output
    assert "OK: 10 events and 1 signed checkpoints verified" in output


@pytest.mark.parametrize(
    ("attack", "expected"),
    [
        ("edit", "modified at or before #10"),
        ("delete", "deleted at #6"),
        ("swap", "inserted or reordered at #5"),
        ("truncate", "truncated at #8"),
    ],
)
def test_the_standalone_verifier_catches_each_attack(tmp_path, chain, attack, expected):
    from audit.checkpoints import checkpoints_create

    checkpoints_create()
    if attack == "edit":
        tamper(("UPDATE audit_auditevent SET actor_id = 999 WHERE chain = %s AND seq = 4", [chain]))
    elif attack == "delete":
        tamper(("DELETE FROM audit_auditevent WHERE chain = %s AND seq = 6", [chain]))
    elif attack == "swap":
        tamper(
            ("UPDATE audit_auditevent SET seq = -5 WHERE chain = %s AND seq = 5", [chain]),
            ("UPDATE audit_auditevent SET seq = 5 WHERE chain = %s AND seq = 6", [chain]),
            ("UPDATE audit_auditevent SET seq = 6 WHERE chain = %s AND seq = -5", [chain]),
        )
    else:
        tamper(("DELETE FROM audit_auditevent WHERE chain = %s AND seq > 7", [chain]))
    code, output = export_and_verify_offline(tmp_path, chain)
    assert code == 1 and expected in output, output


def test_the_standalone_verifier_refuses_a_forged_checkpoint(tmp_path, chain):
    import json as json_module

    from audit.checkpoints import checkpoints_create

    checkpoints_create()
    folder = tmp_path / "forged"
    call_command("audit_export", str(folder), chain=chain, stdout=io.StringIO())
    data = json_module.loads((folder / "checkpoints.json").read_text())
    data[0]["seq"] = 5
    (folder / "checkpoints.json").write_text(json_module.dumps(data))
    from audit.standalone_verify import main

    assert main(["--public-key", str(folder / "public_key.pem"), "--checkpoints", str(folder / "checkpoints.json"),
                 "--events", str(folder / "events.jsonl")]) == 1  # fmt: skip


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attack", [None, "edit", "delete_at_boundary"])
def test_parallel_verification_on_postgresql_agrees(postgres, therapist, monkeypatch, attack):
    from audit import verify

    for _ in range(40):
        audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=1)
    chain = chain_of(therapist.practice_id)
    monkeypatch.setattr(verify, "PARALLEL_FROM", 0)
    if attack == "edit":
        tamper(("UPDATE audit_auditevent SET actor_id = 7 WHERE chain = %s AND seq = 33", [chain]))
    elif attack == "delete_at_boundary":
        tamper(("DELETE FROM audit_auditevent WHERE chain = %s AND seq = 11", [chain]))
    report = verify.verify_chain(chain=chain, workers=4)
    if attack is None:
        assert report.intact and report.events == 40
    elif attack == "edit":
        assert (report.problem.kind, report.problem.seq) == ("modified", 33)
    else:
        assert (report.problem.kind, report.problem.seq) == ("deleted", 11)


def test_a_practice_is_verified_across_its_lanes(chain, therapist):
    out = io.StringIO()
    call_command("audit_verify", practice=therapist.practice_id, stdout=out)
    assert (
        f"chain {chain}: 10 events intact" in out.getvalue()
        and "All 8 chain(s) intact (7 with nothing new)" in out.getvalue()
    )


def test_a_change_to_an_old_event_is_found_within_a_day(chain, admin, settings):
    """Changed with the owner's credentials before the newest signed checkpoint, an old event
    passes the routine run (it checks only what is new); the full run finds it, and beat runs it
    every day by default."""
    from audit.tasks import audit_checkpoints_create
    from oversight.tasks import audit_verify_all

    assert audit_checkpoints_create() >= 1
    for _ in range(3):
        audit_record(action=Action.CHART_VIEW, actor=admin, subject_client_id=1)
    tamper(("UPDATE audit_auditevent SET outcome = 'denied' WHERE chain = %s AND seq = 2", [chain]))
    full = settings.CELERY_BEAT_SCHEDULE["audit-verify-full"]
    assert full["schedule"] <= 24 * 60 * 60
    assert audit_verify_all(**full["kwargs"]) == 1


def test_a_client_taken_off_an_event_about_several_is_found(chain, therapist):
    """An event about several clients names them outside its MAC (so each finds it under "who
    opened my record") and keeps a digest of them inside it: removing one is found."""
    from audit.models import AuditSubject

    audit_record(action=Action.CHART_LIST, actor=therapist, subjects=[101, 102, 103])
    assert run_verify(chain)[0] == 0
    event = AuditSubject.objects.get(client_id=102).event
    tamper(("DELETE FROM audit_auditsubject WHERE client_id = %s", [102]))
    code, output = run_verify(chain)
    assert code == 1 and f"the clients event #{event.seq} names were changed" in output
