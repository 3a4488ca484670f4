"""The admin review console: filters, keyset pages, detail, exports (themselves audited), client report."""

from __future__ import annotations

import csv
import io
import json

import pytest

from audit.models import Action, AuditEvent
from audit.services import audit_record
from oversight.console import PAGE_SIZE

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def log(therapist, colleague, client_user, make_user):
    other = make_user("client", name="Olive Other")
    for _ in range(3):
        audit_record(action=Action.NOTE_VIEW, actor=therapist, subject_client_id=client_user.pk)
    audit_record(action=Action.CHART_VIEW, actor=colleague, subject_client_id=other.pk)
    audit_record(action=Action.EMERGENCY_ACCESS, actor=colleague, subject_client_id=client_user.pk, flagged=True)
    audit_record(action=Action.ACCESS_DENIED, actor=colleague, subject_client_id=client_user.pk, outcome="denied")
    return {"client": client_user, "other": other}


def rows_of(page: str) -> int:
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    return sum(1 for row in body.split("<tr")[1:] if "colspan" not in row)


def test_filters_by_client_action_outcome_and_flag(login_as, admin, log, therapist):
    client = login_as(admin)
    assert rows_of(client.get(f"/audit/console/?client={log['client'].pk}").content.decode()) == 5
    assert (
        rows_of(client.get(f"/audit/console/?client={log['client'].pk}&action=records.note_view").content.decode()) == 3
    )
    assert rows_of(client.get("/audit/console/?outcome=denied").content.decode()) == 1
    flagged = client.get("/audit/console/?flagged=1").content.decode()
    assert rows_of(flagged) == 1 and "Used emergency access" in flagged
    assert rows_of(client.get(f"/audit/console/?actor={therapist.pk}&client={log['other'].pk}").content.decode()) == 0


def test_date_range_and_bad_filters(login_as, admin, log):
    client = login_as(admin)
    assert rows_of(client.get("/audit/console/?from=2000-01-01&to=2000-01-02").content.decode()) == 0
    for bad in (
        "from=yesterday",
        "to=2026-02-30",
        "actor=abc",
        "action=nope",
        "outcome=x",
        "from=2026-05-02&to=2026-05-01",
    ):
        response = client.get(f"/audit/console/?{bad}")
        assert response.status_code == 400, bad
        assert b'role="alert"' in response.content


def test_keyset_pages_walk_the_whole_log(login_as, admin, therapist, client_user):
    for _ in range(PAGE_SIZE + 7):
        audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=client_user.pk)
    client = login_as(admin)
    first = client.get(f"/audit/console/?client={client_user.pk}").content.decode()
    assert rows_of(first) == PAGE_SIZE and "Older events" in first
    before = first.split("before=")[1].split('"')[0]
    second = client.get(f"/audit/console/?client={client_user.pk}&before={before}").content.decode()
    assert rows_of(second) == 7 and "Older events" not in second


def test_the_event_detail_page(login_as, admin, log):
    event = AuditEvent.objects.get(action=Action.EMERGENCY_ACCESS)
    page = login_as(admin).get(f"/audit/console/events/{event.pk}/").content.decode()
    assert event.mac in page and "flagged" in page


def test_csv_and_json_exports_match_the_filter_and_are_audited(login_as, admin, log):
    client = login_as(admin)
    response = client.get(f"/audit/console/export.csv?client={log['client'].pk}")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 5 and {r["subject_client_id"] for r in rows} == {str(log["client"].pk)}
    json_rows = [
        json.loads(line)
        for line in b"".join(client.get("/audit/console/export.json?flagged=1").streaming_content).splitlines()
    ]
    assert [r["action"] for r in json_rows] == ["records.emergency_access"]
    exports = AuditEvent.objects.filter(action=Action.AUDIT_EXPORT, actor_id=admin.pk)
    assert exports.count() == 2 and {e.details["format"] for e in exports} == {"csv", "json"}


def test_the_client_access_report_is_printable(login_as, admin, log):
    page = login_as(admin).get(f"/audit/console/clients/{log['client'].pk}/report/").content.decode()
    assert "Accounting of access: Casey Client" in page and rows_of(page) == 5
    assert AuditEvent.objects.filter(action=Action.AUDIT_CLIENT_REPORT, subject_client_id=log["client"].pk).exists()


@pytest.mark.parametrize("who", ["therapist", "client_user"])
def test_only_admins_can_open_it(login_as, request, log, who, admin):
    client = login_as(request.getfixturevalue(who))
    event = AuditEvent.objects.filter(practice_id=admin.practice_id).first()
    for url in (
        "/audit/console/",
        f"/audit/console/events/{event.pk}/",
        "/audit/console/export.csv",
        f"/audit/console/clients/{log['client'].pk}/report/",
    ):
        assert client.get(url).status_code == 404, (who, url)


def test_another_practices_admin_sees_only_their_own_log(login_as, stranger, log, admin):
    client = login_as(stranger)
    event = AuditEvent.objects.filter(practice_id=admin.practice_id).first()
    assert client.get(f"/audit/console/events/{event.pk}/").status_code == 404
    assert client.get(f"/audit/console/clients/{log['client'].pk}/report/").status_code == 404
    assert rows_of(client.get(f"/audit/console/?client={log['client'].pk}").content.decode()) == 0
    exported = b"".join(client.get("/audit/console/export.csv").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert str(log["client"].pk) not in {row["subject_client_id"] for row in rows}


def test_the_public_key_is_shown(login_as, admin, log):
    assert b"BEGIN PUBLIC KEY" in login_as(admin).get("/audit/console/").content


def test_a_name_that_looks_like_a_formula_is_written_as_text_in_the_csv(login_as, admin, therapist, make_user):
    """OWASP's CSV injection: a cell beginning with =, +, -, @, tab or carriage return is written
    with a leading apostrophe, so a spreadsheet shows it instead of running it."""
    names = ['=HYPERLINK("http://evil.example","Click")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "Plain Name"]
    for name in names:
        client = make_user("client", name=name)
        audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=client.pk)
    exported = b"".join(login_as(admin).get("/audit/console/export.csv").streaming_content).decode()
    written = {row["subject_client_name"] for row in csv.DictReader(io.StringIO(exported))}
    for name in names[:-1]:
        assert "'" + name in written and name not in written, name
    assert "Plain Name" in written
