"""A read's audit event written while its answer is prepared (audit.services.audited).

On PostgreSQL outside a transaction the event's statement is in flight while the block runs; the
answer may leave only once the event is durably written, and every way that can go wrong (the
event refused, the block failing, the block touching the connection, a moved lane head) must
leave the chain whole and the connection usable.
"""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, connections

from audit.models import Action, AuditEvent, chain_of
from audit.services import audit_record, audited
from audit.verify import verify_chain
from records.models import ProgressNote
from records.selectors import Access
from records.services import note_create
from tests.conftest import audit_table_away

SECRET_TEXT = "OVERLAP-PLANTED-subjective-4410"


def _read(actor, **kwargs):
    return audited(action=Action.NOTE_LIST, actor=actor, target=actor, subject_client_id=None, **kwargs)


def _sign_in_event(user) -> None:
    """An unrelated event; the thread that writes it then remembers its lane's head."""
    audit_record(action=Action.LOGIN_SUCCESS, actor=user, target=user)


def _chain_is_whole(practice_id: int, events: int | None = None) -> None:
    """The practice's first lane holds events 1..n with no gap and verifies (n: all it holds)."""
    chain = chain_of(practice_id)
    seqs = list(AuditEvent.objects.filter(chain=chain).order_by("seq").values_list("seq", flat=True))
    events = len(seqs) if events is None else events
    assert seqs == list(range(1, events + 1))
    report = verify_chain(chain=chain)
    assert report.intact and report.events == events, report


@pytest.fixture
def notes(therapist, chart):
    for _ in range(3):
        note_create(
            actor=therapist,
            chart=chart,
            access=Access.CARE_TEAM,
            template="soap",
            sections={"subjective": SECRET_TEXT},
            context=None,
        )
    return chart


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_event_is_in_flight_during_the_block_and_written_by_its_end(postgres, therapist):
    from psycopg import pq

    _sign_in_event(therapist)
    with _read(therapist) as event:
        in_flight = connection.connection.pgconn.transaction_status == pq.TransactionStatus.ACTIVE
        assert event.pk is None
    assert in_flight, "the statement should still be running while the block works"
    assert AuditEvent.objects.get(pk=event.pk).action == Action.NOTE_LIST
    _chain_is_whole(therapist.practice_id, 2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_event_is_bound_on_this_side_whatever_cursors_the_connection_makes(postgres, therapist):
    import psycopg

    _sign_in_event(therapist)
    raw = connection.connection
    previous = raw.cursor_factory
    raw.cursor_factory = psycopg.Cursor  # as with the server_side_binding option
    try:
        with _read(therapist) as event:
            pass
    finally:
        raw.cursor_factory = previous
    assert AuditEvent.objects.get(pk=event.pk).action == Action.NOTE_LIST
    _chain_is_whole(therapist.practice_id, 2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_head_moved_by_another_writer_still_gives_one_chain(postgres, therapist):
    _sign_in_event(therapist)

    def elsewhere() -> None:
        from audit.append import writer_memory

        writer_memory().start_at_lane(0)  # the same lane as this thread
        try:
            for _ in range(2):
                _sign_in_event(therapist)
        finally:
            connections.close_all()

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    with _read(therapist) as event:
        pass  # the remembered head is stale: nothing is written by the statement in flight
    assert AuditEvent.objects.get(pk=event.pk).seq == 4
    with _read(therapist):
        pass
    _chain_is_whole(therapist.practice_id, 5)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_query_inside_the_block_fails_loudly_and_the_connection_survives(postgres, therapist):
    _sign_in_event(therapist)
    with pytest.raises(DatabaseError), _read(therapist):
        AuditEvent.objects.count()
    # The event was sent before the mistake and stands; the connection answers again.
    assert AuditEvent.objects.filter(action=Action.NOTE_LIST).count() == 1
    with _read(therapist):
        pass
    _chain_is_whole(therapist.practice_id, 3)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_read_whose_event_is_refused_is_not_answered(postgres, login_as, therapist, notes):
    client = login_as(therapist)
    url = f"/api/v1/records/charts/{notes.pk}/notes/"
    assert client.get(url).status_code == 200  # the thread now remembers its lane's head
    with audit_table_away():
        response = client.get(url)
    assert response.status_code == 503
    assert response.json()["code"] == "audit_unavailable"
    assert SECRET_TEXT.encode() not in response.content
    # Nothing was lost, and the next read is answered and audited as before.
    again = client.get(url)
    assert again.status_code == 200 and len(again.json()) == 3
    assert AuditEvent.objects.filter(action=Action.NOTE_LIST).count() == 2
    _chain_is_whole(therapist.practice_id)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_block_that_fails_leaves_a_usable_connection_for_the_failure_event(postgres, login_as, therapist, notes):
    client = login_as(therapist)
    url = f"/api/v1/records/charts/{notes.pk}/notes/"
    assert client.get(url).status_code == 200
    first, second = ProgressNote.objects.order_by("created_at")[:2]
    ProgressNote.objects.filter(pk=second.pk).update(
        body=ProgressNote.objects.values_list("body", flat=True).get(pk=first.pk)
    )
    response = client.get(url)  # opening the moved ciphertext fails while the event is in flight
    assert response.status_code == 500 and response.json()["code"] == "integrity_error"
    assert SECRET_TEXT.encode() not in response.content
    assert AuditEvent.objects.filter(action=Action.INTEGRITY_FAILURE, target_id=str(second.pk)).exists()
    _chain_is_whole(therapist.practice_id)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_notes_list_is_answered_from_what_was_fetched_before_the_event(
    postgres, login_as, therapist, client_user, notes
):
    from records.services import note_addendum, note_share, note_sign

    first, second, _draft = ProgressNote.objects.order_by("created_at")
    for note in (first, second):
        note_sign(actor=therapist, note=note, context=None)
    note_addendum(actor=therapist, note=first, body="OVERLAP-addendum-body", context=None)
    note_share(actor=therapist, note=first, context=None)
    url = f"/api/v1/records/charts/{notes.pk}/notes/"
    for reader, expected in ((therapist, 3), (client_user, 1)):
        client = login_as(reader)
        for _ in range(2):  # the second read runs with the event in flight
            listed = client.get(url)
            assert listed.status_code == 200
            assert len(listed.json()) == expected
            shown = {n["id"]: n for n in listed.json()}
            assert shown[str(first.pk)]["addenda"][0]["body"] == "OVERLAP-addendum-body"
            assert shown[str(first.pk)]["sections"]["subjective"] == SECRET_TEXT
    assert AuditEvent.objects.filter(action=Action.NOTE_LIST).count() == 4
    _chain_is_whole(therapist.practice_id)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_through_daphne_the_read_is_answered_and_audited(postgres, login_as, therapist, notes, tmp_path):
    import json
    import urllib.request

    from django.conf import settings

    from tests.browser import free_port
    from tests.webrtc import daphne

    cookie = f"{settings.SESSION_COOKIE_NAME}={login_as(therapist).cookies[settings.SESSION_COOKIE_NAME].value}"
    with daphne(free_port(), tmp_path / "daphne.log") as url:
        for _ in range(3):  # the server's thread learns its lane's head, then reads overlap
            address = f"{url}/api/v1/records/charts/{notes.pk}/notes/"
            request = urllib.request.Request(address, headers={"Cookie": cookie})  # noqa: S310 - loopback
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                listed = json.loads(response.read())
            assert [note["sections"]["subjective"] for note in listed] == [SECRET_TEXT] * 3
    assert AuditEvent.objects.filter(action=Action.NOTE_LIST, actor_id=therapist.pk).count() == 3
    for lane in set(AuditEvent.objects.filter(practice_id=therapist.practice_id).values_list("chain", flat=True)):
        report = verify_chain(chain=lane)
        assert report.intact, report


@pytest.mark.embedded
@pytest.mark.django_db
def test_inside_a_transaction_or_on_sqlite_the_event_is_written_before_the_block(therapist):
    with _read(therapist) as event:
        assert event.pk is not None
        assert AuditEvent.objects.filter(pk=event.pk).exists()
