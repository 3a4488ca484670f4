"""The off-host witness, against a real rsyslog over TLS: a delivered stream, an outage and the
catch-up after it, and the cover-up of someone who controls the database, caught."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from audit.canonical import CONTENT_FIELDS
from audit.models import (
    Action,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    AuditFlag,
    FlagRule,
    WitnessLane,
    WitnessOutage,
    chain_of,
)
from audit.services import audit_record
from audit.tasks import audit_checkpoints_create
from audit.witness import witness_read, witness_ship
from tests.conftest import require_infrastructure, tamper_as_owner
from tests.witness import collector, rsyslog_available

# Transactional: the cover-up runs on the owner's own connection, as an attacker's would.
pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def rsyslog(tmp_path_factory):
    require_infrastructure("rsyslog with its TLS driver (rsyslog, rsyslog-gnutls)", rsyslog_available())
    with collector(tmp_path_factory.mktemp("witness")) as running:
        yield running


@pytest.fixture
def witnessed(rsyslog, settings):
    settings.AUDIT_WITNESS_URL = rsyslog.url
    settings.AUDIT_WITNESS_CA_FILE = str(rsyslog.certificates["ca"])
    settings.AUDIT_WITNESS_ALERT_MINUTES = 15
    if rsyslog.process is None:
        rsyslog.start()
    already = len(rsyslog.wait_for(0, timeout=0))
    return rsyslog, already


def views(therapist, count: int) -> None:
    for _ in range(count):
        audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=1)


def verify(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError as error:
        return 1, out.getvalue() + str(error)
    return 0, out.getvalue()


def test_events_and_checkpoints_are_delivered_as_metadata_only(witnessed, therapist):
    rsyslog, already = witnessed
    chain = chain_of(therapist.practice_id)
    views(therapist, 6)
    assert audit_checkpoints_create() >= 1  # signs, and ships at once
    total = AuditEvent.objects.count() + AuditCheckpoint.objects.count()
    lines = rsyslog.wait_for(already + total)[already:]
    assert len(lines) == total
    bodies = [json.loads(line[line.index("{") :]) for line in lines]
    events = [b for b in bodies if b["kind"] == "event"]
    assert {key for b in events for key in b} == {"kind", "mac", *CONTENT_FIELDS}
    assert all(line.startswith(("<110>1 ", "<109>1 ")) and " teletherapy " in line for line in lines)
    assert [b["seq"] for b in events if b["chain"] == chain] == [1, 2, 3, 4, 5, 6]
    assert WitnessLane.objects.get(chain=chain).event_seq == 6
    assert WitnessLane.objects.get(chain=chain).checkpoint_seq == 6
    # Nothing new: nothing sent again.
    assert witness_ship().events == 0
    record = witness_read(rsyslog.received)
    assert record.newest[chain][0] == 6 and (chain, 6) in record.checkpoints
    code, output = verify("--witness", str(rsyslog.received))
    assert code == 0, output
    assert "intact" in output


def test_an_outage_queues_alerts_and_catches_up(witnessed, therapist, admin, login_as, settings):
    rsyslog, already = witnessed
    chain = chain_of(therapist.practice_id)
    views(therapist, 2)
    assert witness_ship().delivered
    rsyslog.stop()
    settings.AUDIT_WITNESS_ALERT_MINUTES = 0  # alert at the first failed attempt
    views(therapist, 3)
    result = witness_ship()
    assert not result.delivered and "127.0.0.1" in result.error
    outage = WitnessOutage.objects.get(ended_at__isnull=True)
    assert outage.alerted_at is not None
    flag = AuditFlag.objects.get(rule=FlagRule.WITNESS_UNREACHABLE, practice_id=therapist.practice_id)
    assert "unreachable" in flag.summary and "queued" in flag.summary
    alerts = login_as(admin).get("/audit/alerts/").content.decode()
    assert "off-host audit witness" in alerts and "unreachable" in alerts  # on the admins' Alerts page
    assert WitnessLane.objects.get(chain=chain).event_seq == 2  # nothing counted as delivered
    views(therapist, 1)
    assert not witness_ship().delivered
    assert WitnessOutage.objects.get(pk=outage.pk).attempts == 2
    assert AuditFlag.objects.filter(rule=FlagRule.WITNESS_UNREACHABLE).count() == 1  # one alert per outage

    rsyslog.start()
    caught_up = witness_ship()
    assert caught_up.delivered and caught_up.events == 4
    assert WitnessOutage.objects.get(pk=outage.pk).ended_at is not None
    assert WitnessLane.objects.get(chain=chain).event_seq == 6
    rsyslog.wait_for(already + AuditEvent.objects.count())
    seen = [
        json.loads(line[line.index("{") :])["seq"]
        for line in rsyslog.wait_for(0, timeout=0)[already:]
        if f'"chain":{chain},' in line
    ]
    assert seen == [1, 2, 3, 4, 5, 6]


def test_the_owners_cover_up_passes_the_database_alone_and_is_caught_by_the_witness(witnessed, therapist):
    """Triggers disabled by the owner, the tail cut, the head rolled back, the later checkpoints
    deleted: the database agrees with itself, and only the witness still knows."""
    rsyslog, already = witnessed
    chain = chain_of(therapist.practice_id)
    views(therapist, 4)
    audit_checkpoints_create()  # checkpoint at #4
    views(therapist, 4)
    audit_checkpoints_create()  # checkpoint at #8
    rsyslog.wait_for(already + AuditEvent.objects.count() + AuditCheckpoint.objects.count())
    kept = AuditEvent.objects.get(chain=chain, seq=4)
    head = AuditChainHead.objects.get(chain=chain)
    tamper_as_owner(
        ("DELETE FROM audit_auditevent WHERE chain = %s AND seq > 4", [chain]),
        ("UPDATE audit_auditchainhead SET seq = 4, mac = %s, digest = %s WHERE chain = %s", [kept.mac, "", chain]),
        ("DELETE FROM audit_auditcheckpoint WHERE chain = %s AND seq > 4", [chain]),
        ("UPDATE audit_witnesslane SET event_seq = 4, checkpoint_seq = 4 WHERE chain = %s", [chain]),
    )
    assert head.seq == 8 and AuditChainHead.objects.get(chain=chain).seq == 4
    code, output = verify("--full")
    assert code == 0, output  # the database alone is fooled

    code, output = verify("--witness", str(rsyslog.received))
    assert code == 1
    assert f"chain {chain}: deleted at #8 (witness)" in output
    assert f"chain {chain}: rolled back at #5 (witness): the head is at #4; the witness saw #8" in output
    assert f"chain {chain}: truncated at #8 (witness)" in output


def test_a_deleted_or_rewritten_lane_is_caught_by_the_witness(witnessed, therapist, stranger, other_practice):
    rsyslog, already = witnessed
    chain = chain_of(therapist.practice_id)
    other = stranger
    other_chain = chain_of(other_practice.pk)
    views(therapist, 3)
    for _ in range(2):
        audit_record(action=Action.AUDIT_CONSOLE_VIEW, actor=other)
    witness_ship()
    rsyslog.wait_for(already + AuditEvent.objects.count())
    tamper_as_owner(
        ("DELETE FROM audit_auditevent WHERE chain = %s", [other_chain]),
        ("DELETE FROM audit_auditchainhead WHERE chain = %s", [other_chain]),
        ("UPDATE audit_auditevent SET actor_role = 'admin' WHERE chain = %s AND seq = 3", [chain]),
    )
    code, output = verify("--witness", str(rsyslog.received))
    assert code == 1
    assert f"chain {other_chain}: missing at #2 (witness): the witness saw #2; the database has no such lane" in output
    assert f"chain {chain}: modified at #3" in output
    # Without the witness, the practice that is still there misses its lane too.
    code, output = verify()
    assert code == 1 and f"chain {other_chain}: missing" in output


def test_a_psychotherapy_note_reaches_the_witness_without_whose_or_which(
    witnessed, therapist, client_user, chart, login_as
):
    """The witness learns that a note was written and read, and by whom; never the client or the
    note. Its MAC still covers the whole event, so the check against the witness holds."""
    from records.models import PsychotherapyNote

    rsyslog, already = witnessed
    team = login_as(therapist)
    team.post(f"/records/charts/{chart.pk}/psychotherapy-notes/", {"body": "Only mine."})
    note = PsychotherapyNote.objects.using("psychotherapy").get()
    team.get(f"/records/psychotherapy-notes/{note.pk}/")
    team.get(f"/records/charts/{chart.pk}/")
    witness_ship()
    total = AuditEvent.objects.count() + AuditCheckpoint.objects.count()
    lines = rsyslog.wait_for(already + AuditEvent.objects.count(), timeout=20)[already:]
    bodies = [json.loads(line[line.index("{") :]) for line in lines]
    private = [b for b in bodies if b.get("action", "").startswith("records.psychotherapy")]
    assert len(private) == 2, [b.get("action") for b in bodies]
    for body in private:
        assert body["subject_client_id"] is None and body["target_id"] == "" and body["actor_id"] == therapist.pk
        assert str(note.pk) not in json.dumps(body)
    # Other events still name their client (a chart view is not a psychotherapy note).
    assert any(b.get("subject_client_id") == client_user.pk for b in bodies)
    assert total >= len(bodies)
    # What the witness holds of them still pins the stored events: the same MACs.
    for body in private:
        assert AuditEvent.objects.get(chain=body["chain"], seq=body["seq"]).mac == body["mac"]
