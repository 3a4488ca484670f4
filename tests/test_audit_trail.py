"""The audit table is append-only in the database itself, and its chain shows tampering."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from audit.content import MASK
from audit.models import LANES, Action, AuditEvent, Outcome, chain_of
from audit.selectors import audit_chain_verify
from audit.services import audit_record
from tests.conftest import tamper_as_owner


def _events(n: int, actor) -> list[AuditEvent]:
    return [audit_record(action=Action.LOGIN_SUCCESS, actor=actor, target=actor) for _ in range(n)]


@pytest.mark.embedded
@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET outcome = 'denied'",
        "DELETE FROM audit_auditevent",
        "UPDATE audit_auditevent SET details = '{}' WHERE seq = 1",
    ],
)
def test_raw_sql_cannot_change_or_remove_events(therapist, statement):
    _events(2, therapist)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.filter(outcome=Outcome.ALLOWED).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db
def test_truncate_is_refused_on_postgresql(postgres, therapist):
    _events(1, therapist)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() == 1


@pytest.mark.embedded
@pytest.mark.django_db
def test_the_model_refuses_to_save_an_existing_event_or_delete(therapist):
    event = _events(1, therapist)[0]
    event.outcome = Outcome.DENIED
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


@pytest.mark.embedded
@pytest.mark.django_db
def test_each_event_links_to_the_one_before(therapist):
    events = _events(3, therapist)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[1].prev_mac == events[0].mac and events[2].prev_mac == events[1].mac
    report = audit_chain_verify(chain=chain_of(therapist.practice_id))
    assert report.intact and report.events == 3


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_verification_finds_a_changed_event(therapist):
    _events(3, therapist)
    tamper_as_owner("UPDATE audit_auditevent SET actor_id = 999 WHERE seq = 2")
    report = audit_chain_verify(chain=chain_of(therapist.practice_id))
    assert not report.intact and report.first_broken_seq == 2


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_verification_finds_a_removed_event(therapist):
    _events(3, therapist)
    tamper_as_owner("DELETE FROM audit_auditevent WHERE seq = 2")
    report = audit_chain_verify(chain=chain_of(therapist.practice_id))
    assert not report.intact and report.first_broken_seq == 2 and report.problem.kind == "deleted"


@pytest.mark.embedded
@pytest.mark.django_db
def test_secret_looking_details_are_masked(therapist):
    event = audit_record(
        action=Action.MFA_FAILURE, actor=therapist, details={"otp": "123456", "password": "x", "reason": "y" * 500}
    )
    assert event.details["otp"] == MASK and event.details["password"] == MASK
    assert len(event.details["reason"]) == 200


@pytest.mark.embedded
@pytest.mark.django_db
def test_events_record_who_where_and_when(login_as, therapist):
    client = login_as(therapist)
    client.post("/logout/", HTTP_USER_AGENT="Browser/1.0")
    event = AuditEvent.objects.get(action=Action.LOGOUT)
    assert event.actor_id == therapist.pk
    assert event.actor_role == "therapist"
    assert event.practice_id == therapist.practice_id
    assert event.ip_address == "127.0.0.1"
    assert event.user_agent == "Browser/1.0"
    assert len(event.request_id) == 16


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_leave_one_unbroken_chain(postgres, make_user):
    user = make_user("therapist")
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def write() -> None:
        try:
            barrier.wait()
            for _ in range(25):
                with transaction.atomic():
                    audit_record(action=Action.LOGIN_SUCCESS, actor=user, target=user)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    # The writers spread over the practice's lanes; every lane is one unbroken chain.
    lanes = sorted(set(AuditEvent.objects.filter(practice_id=user.practice_id).values_list("chain", flat=True)))
    assert all(chain_of(user.practice_id) <= lane < chain_of(user.practice_id) + LANES for lane in lanes)
    total = 0
    for lane in lanes:
        report = audit_chain_verify(chain=lane)
        assert report.intact, report
        seqs = sorted(AuditEvent.objects.filter(chain=lane).values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))
        total += report.events
    assert total == 200


@pytest.mark.embedded
@pytest.mark.django_db
def test_every_append_only_table_keeps_its_guards_after_all_migrations():
    from teletherapy.appendonly import GUARDED_TABLES

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal")
        triggers = cursor.fetchall()
    for table in GUARDED_TABLES:
        names = {name for tbl, name in triggers if tbl == table}
        expected = 2
        assert len(names) == expected, (table, names)


@pytest.mark.embedded
@pytest.mark.django_db(transaction=True)
def test_an_append_after_a_rollback_or_another_writer_still_chains(therapist):
    """A writer remembers its lane's head; when that memory is stale, it must not fork the chain."""
    from audit.verify import verify_chain

    _events(1, therapist)
    with pytest.raises(RuntimeError), transaction.atomic():
        _events(1, therapist)  # moves the head, then rolls back: the remembered head never existed
        raise RuntimeError
    _events(1, therapist)

    def elsewhere() -> None:
        from audit.append import writer_memory

        # Another writer on lane 0 (the first writer of another process starts there too) moves
        # the head under the first one.
        writer_memory().start_at_lane(0)
        try:
            _events(2, therapist)
        finally:
            connections.close_all()

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    _events(1, therapist)
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        (last,) = _events(1, therapist)  # the head is where this thread left it
    statements = [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "BEGIN IMMEDIATE", "COMMIT")]
    if connection.vendor == "postgresql":
        assert len(statements) == 1 and statements[0].startswith("WITH head AS (UPDATE")
    else:  # the head moved only where this thread left it, then the event: no lookups, no locking
        assert [sql.split()[0] for sql in statements] == ["UPDATE", "INSERT"], statements
    chain = chain_of(therapist.practice_id)
    assert list(AuditEvent.objects.filter(chain=chain).values_list("seq", flat=True)) == [1, 2, 3, 4, 5, 6]
    report = verify_chain(chain=chain)
    assert report.intact and report.events == 6
    assert AuditEvent.objects.get(pk=last.pk).seq == 6  # the event knows the row it became
