"""Privacy incidents and breaches: reporting, who may see what, triage, people affected found
from the audit log, the deadlines (with a frozen clock), notices, the yearly log, reminders,
and records that are never edited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.core import mail
from django.db import DatabaseError, connection, transaction

from accounts.models import Role, User, UserSession
from audit.models import Action, AuditEvent, FlagRule
from compliance import incident_rules as rules
from compliance.incident_rules import Delay, notification_deadlines
from compliance.models import EntryKind, Incident, IncidentEntry, IncidentSource, Vendor
from compliance.services import incident_notices as notices
from oversight.anomalies import _flag
from records.services import chart_create

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def report(client, text="My therapist's screen was visible to someone at the café.", **extra):
    response = client.post("/api/v1/incidents/", {"summary": text, **extra}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


# Deadline arithmetic ------------------------------------------------------------------------------


def due(deadlines, audience):
    return {d.audience: d for d in deadlines}[audience].due if audience in {d.audience for d in deadlines} else None


def test_individuals_are_due_sixty_days_after_discovery_and_a_small_breach_goes_in_the_yearly_log():
    found = notification_deadlines(discovered_on=dt.date(2026, 3, 10), affected=12, residents={"US-NY": 12})
    assert due(found, "individual") == dt.date(2026, 5, 9)
    # 60 days after 31 December 2026 is 1 March 2027 (not a leap year).
    assert due(found, "hhs") == dt.date(2027, 3, 1)
    assert due(found, "media") is None


def test_year_end_and_leap_years():
    # Discovered on the last day of 2027: 60 days later is 29 February 2028, which is also the log's due date.
    late = notification_deadlines(discovered_on=dt.date(2027, 12, 31), affected=3, residents={})
    assert due(late, "individual") == dt.date(2028, 2, 29)
    assert due(late, "hhs") == dt.date(2028, 2, 29)
    # Discovered on 1 January 2027: the log of 2027 is due 29 February 2028, long after the people.
    early = notification_deadlines(discovered_on=dt.date(2027, 1, 1), affected=3, residents={})
    assert due(early, "individual") == dt.date(2027, 3, 2)
    assert due(early, "hhs") == dt.date(2028, 2, 29)
    # Discovered in mid-December 2026: the people by 13 February 2027, HHS by 1 March 2027.
    december = notification_deadlines(discovered_on=dt.date(2026, 12, 15), affected=499, residents={})
    assert (due(december, "individual"), due(december, "hhs")) == (dt.date(2027, 2, 13), dt.date(2027, 3, 1))


@pytest.mark.parametrize(
    ("affected", "hhs_at_once"),
    [(499, False), (500, True), (501, True)],
)
def test_hhs_is_told_at_once_from_five_hundred_people(affected, hhs_at_once):
    found = notification_deadlines(discovered_on=dt.date(2026, 12, 15), affected=affected, residents={})
    assert (due(found, "hhs") == dt.date(2027, 2, 13)) is hhs_at_once
    assert ("yearly log" in {d.audience: d for d in found}["hhs"].label) is not hhs_at_once


@pytest.mark.parametrize(("in_new_york", "media"), [(500, False), (501, True)])
def test_the_media_are_told_when_more_than_five_hundred_residents_of_one_state_are_affected(in_new_york, media):
    # 900 people in all, but never more than 500 in one state unless New York has 501.
    residents = {"US-NY": in_new_york, "US-NJ": 400}
    found = notification_deadlines(discovered_on=dt.date(2026, 6, 1), affected=in_new_york + 400, residents=residents)
    assert (due(found, "media") == dt.date(2026, 7, 31)) is media
    if media:
        assert "New York (501)" in {d.audience: d for d in found}["media"].note


def test_a_law_enforcement_delay_stops_the_clock_and_an_oral_one_lasts_thirty_days_at_most():
    discovered = dt.date(2026, 3, 1)
    written = Delay(start=dt.date(2026, 3, 5), until=dt.date(2026, 5, 4), written=True, agency="FBI field office")
    oral = Delay(start=dt.date(2026, 3, 5), until=dt.date(2026, 5, 4), written=False, agency="City police")
    plain = due(notification_deadlines(discovered_on=discovered, affected=5, residents={}), "individual")
    held = due(notification_deadlines(discovered_on=discovered, affected=5, residents={}, delay=written), "individual")
    told = due(notification_deadlines(discovered_on=discovered, affected=5, residents={}, delay=oral), "individual")
    assert plain == dt.date(2026, 4, 30)
    assert held == plain + dt.timedelta(days=60)
    assert told == plain + dt.timedelta(days=30)


# Reporting and who may see it ---------------------------------------------------------------------


def test_a_client_reports_a_concern_is_acknowledged_and_follows_it(
    login_as, client_user, admin, django_capture_on_commit_callbacks
):
    client = login_as(client_user)
    with django_capture_on_commit_callbacks(execute=True):
        made = report(client, happened_on="2026-11-20")
    assert made["status"] == "received" and made["messages"][0]["text"] == "Your report was received."
    incident = Incident.objects.get(pk=made["id"])
    assert incident.source == IncidentSource.CLIENT and incident.reporter_role == Role.CLIENT
    subjects = sorted(message.subject for message in mail.outbox)
    assert any("We received your privacy concern" in s for s in subjects)
    assert any("a concern was reported" in s for s in subjects)
    # Nothing the client wrote goes into e-mail.
    assert all("café" not in message.body for message in mail.outbox)
    event = AuditEvent.objects.get(action=Action.INCIDENT_REPORT)
    assert event.actor_id == client_user.pk and event.subject_client_id == client_user.pk
    # The text is sealed at rest.
    with connection.cursor() as cursor:
        cursor.execute("SELECT summary FROM review_incident WHERE number = 1")
        assert "café" not in cursor.fetchone()[0]
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Received" in page and "café" in page and "Triage" not in page


def test_who_sees_which_report(login_as, make_user, client_user, therapist, admin, guardian, stranger):
    partner = make_user(Role.CLIENT, name="Pat Partner")
    admin_therapist = make_user(Role.ADMIN, name="Bo Both")
    from accounts.models import RoleGrant

    RoleGrant.objects.create(user=admin_therapist, role=Role.THERAPIST)
    mine = report(login_as(client_user), "A letter about me went to my neighbour.")
    theirs = report(login_as(partner), "Someone read my messages.")
    staff = report(login_as(therapist), "I e-mailed a note to the wrong address.")
    ward = report(login_as(guardian), "My child's school got a letter from the practice.")
    everyone = {mine["id"], theirs["id"], staff["id"], ward["id"]}

    def listed(user):
        return {row["id"] for row in login_as(user).get("/api/v1/incidents/").json()}

    assert listed(client_user) == {mine["id"]}
    assert listed(partner) == {theirs["id"]}
    assert listed(therapist) == {staff["id"]}
    assert listed(guardian) == {ward["id"]}
    assert listed(admin) == everyone
    assert listed(admin_therapist) == everyone
    assert listed(stranger) == set()
    for outsider, incident in [(partner, mine), (client_user, theirs), (therapist, mine), (guardian, mine),
                               (client_user, ward), (stranger, mine)]:  # fmt: skip
        session = login_as(outsider)
        assert session.get(f"/api/v1/incidents/{incident['id']}/").status_code == 404
        assert session.get(f"/incidents/{incident['id']}/").status_code == 404
    # The reporter sees the report, not the triage; an admin sees everything, and is audited.
    reporter_view = login_as(client_user).get(f"/api/v1/incidents/{mine['id']}/").json()
    assert "triage" not in reporter_view and "people" not in reporter_view
    before = AuditEvent.objects.filter(action=Action.INCIDENT_VIEW).count()
    admin_view = login_as(admin).get(f"/api/v1/incidents/{mine['id']}/").json()
    assert admin_view["triage"] is None and admin_view["people"] == []
    viewed = AuditEvent.objects.filter(action=Action.INCIDENT_VIEW).order_by("id")
    assert viewed.count() == before + 1 and viewed.last().subject_client_id == client_user.pk
    # The reporter may add to it, but not triage it.
    client = login_as(client_user)
    assert (
        client.post(
            f"/api/v1/incidents/{mine['id']}/messages/",
            {"text": "It was last Tuesday."},
            content_type="application/json",
        ).status_code
        == 201
    )
    refused = client.post(
        f"/api/v1/incidents/{mine['id']}/triage/",
        {"discovered_on": "2026-11-30", "outcome": "not_privacy"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert not IncidentEntry.objects.filter(kind=EntryKind.TRIAGE).exists()


def test_bad_input_is_refused_plainly_and_changes_nothing(login_as, client_user, admin):
    client = login_as(client_user)
    for body in ({"summary": ""}, {"summary": "x" * 5000}, {"summary": "ok", "happened_on": "2999-01-01"},
                 {"summary": "bad\x00byte"}, {"summary": "ok", "happened_on": "yesterday"}):  # fmt: skip
        response = client.post("/api/v1/incidents/", json.dumps(body), content_type="application/json")
        assert response.status_code == 400, (body, response.content)
    assert Incident.objects.count() == 0
    page = client.post("/incidents/new/", {"summary": "  "})
    assert page.status_code == 200 and "This is needed" in page.content.decode()
    made = report(client)
    staff = login_as(admin)
    url = f"/api/v1/incidents/{made['id']}/"
    for path, body in [
        ("triage/", {"discovered_on": "2026-13-01", "outcome": "notify"}),
        ("triage/", {"discovered_on": "2026-11-01", "breach_on": "2026-11-05", "outcome": "notify"}),
        ("triage/", {"discovered_on": "2026-11-01", "outcome": "low_probability"}),
        ("triage/", {"discovered_on": "2026-11-01", "outcome": "excluded"}),
        ("triage/", {"discovered_on": "2026-11-01", "outcome": "secured"}),
        ("affected/", {"how": "account", "account_id": 999999, "start": "2026-11-01", "end": "2026-11-02"}),
        ("affected/", {"how": "account", "account_id": admin.pk, "start": "2026-11-05", "end": "2026-11-02"}),
        ("delay/", {"start": "2026-11-05", "until": "2026-11-01", "agency": "Police"}),
        ("notices/", {"audience": "individual", "method": "email"}),
    ]:
        response = staff.post(url + path, json.dumps(body), content_type="application/json")
        assert response.status_code in (400, 409), (path, body, response.content)
    assert not IncidentEntry.objects.exclude(kind=EntryKind.ACKNOWLEDGED).exists()
    assert staff.get("/api/v1/incidents/not-a-uuid/").status_code == 404
    assert staff.get("/incidents/log.csv?year=abc").status_code == 400


# Records that are never edited --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_incidents_and_their_entries_cannot_be_changed_or_removed_in_the_database(login_as, client_user):
    made = report(login_as(client_user))
    incident = Incident.objects.get(pk=made["id"])
    entry = incident.entries.get()
    with pytest.raises(PermissionError):
        incident.save()
    with pytest.raises(PermissionError):
        entry.delete()
    for statement in (
        "UPDATE review_incident SET number = 99",
        "DELETE FROM review_incident",
        "UPDATE review_incidententry SET kind = 'closed'",
        "DELETE FROM review_incidententry",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert Incident.objects.get().number == 1 and IncidentEntry.objects.get().kind == EntryKind.ACKNOWLEDGED


# People affected, from the audit log -------------------------------------------------------------


def test_the_people_affected_are_found_from_the_audit_log(login_as, make_user, admin, therapist, practice):
    clients = [make_user(Role.CLIENT, name=f"Client {n}") for n in range(4)]
    charts = [chart_create(actor=None, client=c, therapists=[therapist]) for c in clients]
    colleague = make_user(Role.THERAPIST, name="Cole League")
    chart_create(actor=None, client=make_user(Role.CLIENT, name="Only Colleague"), therapists=[colleague])
    snooper = login_as(therapist)
    for chart in charts[:3]:  # the therapist opens three of the four charts, through the pages
        assert snooper.get(f"/records/charts/{chart.pk}/").status_code == 200
    made = report(login_as(admin), "Theo's laptop was stolen from his car.")
    staff = login_as(admin)
    url = f"/api/v1/incidents/{made['id']}/affected/"
    today = dt.date.today().isoformat()
    found = staff.post(
        url, {"how": "account", "account_id": therapist.pk, "start": today, "end": today},
        content_type="application/json",
    ).json()  # fmt: skip
    assert found["added"] == 3
    assert {p["name"] for p in found["people"]} == {"Client 0", "Client 1", "Client 2"}
    # A window before the reads finds nobody new; finding again adds nobody twice.
    again = staff.post(
        url, {"how": "account", "account_id": therapist.pk, "start": "2026-01-01", "end": today},
        content_type="application/json",
    ).json()  # fmt: skip
    assert again["added"] == 0 and len(again["people"]) == 3
    # Each person put on the list is an audit event about them (their "who opened my record").
    listed = AuditEvent.objects.filter(action=Action.INCIDENT_AFFECTED)
    assert set(listed.values_list("subject_client_id", flat=True)) == {c.pk for c in clients[:3]}
    # A vendor: everyone whose data the practice held by the end of the window.
    vendor = Vendor.objects.create(practice=practice, name="Backup Co", service="Backups", data_touched="Everything")
    by_vendor = staff.post(
        url, {"how": "vendor", "vendor_id": str(vendor.pk), "start": today, "end": today},
        content_type="application/json",
    ).json()  # fmt: skip
    assert {p["name"] for p in by_vendor["people"]} == {
        "Client 0",
        "Client 1",
        "Client 2",
        "Client 3",
        "Only Colleague",
    }
    # The admin adjusts the list: one off (with a reason), one's state of residence set.
    off = staff.put(url, {"person_id": clients[3].pk, "state": "excluded"}, content_type="application/json")
    assert off.status_code == 400  # a reason is needed
    off = staff.put(
        url, {"person_id": clients[3].pk, "state": "excluded", "reason": "Joined after the breach ended."},
        content_type="application/json",
    )  # fmt: skip
    assert off.status_code == 200 and off.json()["state"] == "excluded"
    moved = staff.put(url, {"person_id": clients[0].pk, "residence": "US-NJ"}, content_type="application/json")
    assert moved.json()["residence"] == "US-NJ"
    state = rules.incident_state(Incident.objects.get(pk=made["id"]))
    assert len(state.included) == 4 and state.people[clients[3].pk].reason == "Joined after the breach ended."


def test_a_lost_device_ends_the_other_sessions_and_opens_an_incident_with_its_people(
    login_as, make_user, therapist, admin
):
    client = make_user(Role.CLIENT, name="Robin Reader")
    chart = chart_create(actor=None, client=client, therapists=[therapist])
    laptop = login_as(therapist)
    assert laptop.get(f"/records/charts/{chart.pk}/").status_code == 200
    phone = login_as(therapist)
    response = phone.post("/incidents/lost-device/", {"description": "My laptop was stolen.", "lost_on": ""})
    assert "Give a date" in response.content.decode()
    response = phone.post(
        "/incidents/lost-device/", {"description": "My laptop was stolen.", "lost_on": dt.date.today().isoformat()}
    )
    assert response.status_code == 302
    assert laptop.get("/").status_code == 302  # signed out
    assert UserSession.objects.filter(user=therapist).count() == 1
    incident = Incident.objects.get(source=IncidentSource.LOST_DEVICE)
    state = rules.incident_state(incident)
    assert [p.name for p in state.people.values()] == ["Robin Reader"]
    assert AuditEvent.objects.filter(action=Action.DEVICE_LOST, actor_id=therapist.pk).exists()


def test_an_anomaly_alert_opens_an_incident_for_the_admins(admin, therapist, practice):
    flag = _flag(
        practice_id=practice.pk, rule=FlagRule.MANY_CHARTS, key="many:test", actor_id=therapist.pk,
        summary="Opened 40 different charts in one hour (limit 15).", first_event_id=None,
    )  # fmt: skip
    incident = Incident.objects.get(flag_id=flag.pk)
    assert incident.source == IncidentSource.ANOMALY and incident.reporter is None
    assert "40 different charts" in incident.summary
    emergency = _flag(
        practice_id=practice.pk, rule=FlagRule.EMERGENCY_ACCESS, key="emergency:test", actor_id=therapist.pk,
        summary="Used emergency access.", first_event_id=None,
    )  # fmt: skip
    assert not Incident.objects.filter(flag_id=emergency.pk).exists()  # reviewed as an alert, not an incident


# From triage to closing, through the API ---------------------------------------------------------

LETTER = {
    "what_happened": "A laptop holding appointment letters was stolen from a staff member's car.",
    "information": "Your name, address and the dates of your appointments.",
    "steps": "Be wary of calls or letters that mention your appointments.",
    "our_response": "We reported the theft to the police and now encrypt every laptop.",
    "contact": "Call 1-800-555-0100 or write to privacy@lakeside.example.",
}


def test_a_breach_is_triaged_notified_and_closed_through_the_api(
    login_as, make_user, admin, therapist, django_capture_on_commit_callbacks
):
    people = [make_user(Role.CLIENT, name=f"Person {n}") for n in range(3)]
    made = report(login_as(therapist), "My laptop was stolen.")
    staff = login_as(admin)
    url = f"/api/v1/incidents/{made['id']}/"
    for person in people:
        staff.post(url + "affected/", {"how": "person", "person_id": person.pk}, content_type="application/json")
    staff.put(url + "affected/", {"person_id": people[0].pk, "method": "email"}, content_type="application/json")
    discovered = dt.date.today() - dt.timedelta(days=2)
    triaged = staff.post(
        url + "triage/",
        {"discovered_on": discovered.isoformat(), "breach_on": (discovered - dt.timedelta(days=1)).isoformat(),
         "outcome": "notify", "breach_type": "theft", "location": "laptop", "nature": "Names and appointment dates",
         "recipient": "Unknown thief", "acquired": "Unknown", "mitigation": "Remote wipe requested"},
        content_type="application/json",
    ).json()  # fmt: skip
    assert triaged["triage"]["unsecured"] is True
    individual = discovered + dt.timedelta(days=60)
    yearly = max(dt.date(discovered.year, 12, 31) + dt.timedelta(days=60), individual)
    assert {d["audience"]: d["due"] for d in triaged["deadlines"]} == {
        "individual": individual.isoformat(),
        "hhs": yearly.isoformat(),
    }
    early = staff.post(url + "notices/", {"audience": "individual", "method": "email"}, content_type="application/json")
    assert early.status_code == 400 and "The letter lacks" in early.json()["detail"]
    assert staff.put(url + "letter/", LETTER, content_type="application/json").json()["missing"] == []
    refused = staff.post(url + "status/", {"action": "close", "reason": "Done."}, content_type="application/json")
    assert refused.status_code == 409  # three people not yet notified
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sent = staff.post(
            url + "notices/", {"audience": "individual", "method": "email"}, content_type="application/json"
        )
    assert sent.json() == {"sent": 1}
    [letter] = mail.outbox
    assert letter.to == [people[0].email] and "Dear Person 0" in letter.body
    assert "1-800-555-0100" in letter.body and f"{discovered.day} {discovered:%B %Y}" in letter.body
    posted = staff.post(url + "notices/", {"audience": "individual", "method": "post"}, content_type="application/json")
    assert posted.json() == {"sent": 2}
    staff.post(url + "notices/", {"audience": "hhs", "reference": "Yearly log 2026"}, content_type="application/json")
    detail = staff.get(url).json()
    assert {p["state"] for p in detail["people"]} == {"notified"}
    assert all(len(n["sha256"]) == 64 for n in detail["notices"] if n["audience"] == "individual")
    assert {d["audience"]: d["state"] for d in detail["deadlines"]} == {"individual": "met", "hhs": "met"}
    closed = staff.post(
        url + "status/", {"action": "close", "reason": "Everyone notified."}, content_type="application/json"
    )
    assert closed.json()["status"] == "closed"
    assert staff.post(url + "letter/", LETTER, content_type="application/json").status_code == 405
    assert staff.put(url + "letter/", LETTER, content_type="application/json").status_code == 409
    reopened = staff.post(url + "status/", {"action": "reopen", "reason": "A fourth person found."},
                          content_type="application/json")  # fmt: skip
    assert reopened.json()["status"] == "open"
    kinds = list(IncidentEntry.objects.filter(incident_id=made["id"]).values_list("kind", flat=True))
    assert kinds.count(EntryKind.CLOSED) == 1 and kinds[-1] == EntryKind.REOPENED
    # The yearly log holds it (fewer than 500 people, discovered in 2026).
    log = staff.get(f"/api/v1/incidents/log/?year={discovered.year}").json()
    assert [row[0] for row in log["rows"]] == ["1"] and log["rows"][0][4] == "3"
    assert staff.get(f"/api/v1/incidents/log/?year={discovered.year - 1}").json()["rows"] == []
    csv_file = staff.get(f"/incidents/log.csv?year={discovered.year}")
    assert csv_file["Content-Type"].startswith("text/csv") and b"Theft" in csv_file.content
    assert AuditEvent.objects.filter(action=Action.INCIDENT_LOG_EXPORT).count() == 3


def test_the_low_probability_conclusion_keeps_its_reasons_and_the_safe_harbor_is_suggested(login_as, admin):
    made = report(login_as(admin), "An encrypted backup disk went missing.")
    staff = login_as(admin)
    url = f"/incidents/{made['id']}/"
    staff.post(url, {"action": "triage", "discovered_on": "2026-11-20", "outcome": "secured", "data_sealed": "1"})
    page = staff.get(url).content.decode()
    assert "the encryption safe harbor applies" in page
    state = rules.incident_state(Incident.objects.get(pk=made["id"]))
    assert state.triage.outcome == "secured" and state.triage.unsecured is False and state.deadlines() == []
    response = staff.post(url, {"action": "triage", "discovered_on": "2026-11-20", "outcome": "low_probability"},
                          follow=True)  # fmt: skip
    assert "all four factors" in response.content.decode()
    staff.post(url, {"action": "triage", "discovered_on": "2026-11-20", "outcome": "low_probability",
                     "nature": "Only first names", "recipient": "Another covered entity", "acquired": "Not opened",
                     "mitigation": "Returned unopened", "reasons": "Returned sealed the next day."})  # fmt: skip
    state = rules.incident_state(Incident.objects.get(pk=made["id"]))
    assert state.triage.outcome == "low_probability" and state.triage.reasons == "Returned sealed the next day."
    # Both triages are kept; the latest counts.
    assert IncidentEntry.objects.filter(kind=EntryKind.TRIAGE).count() == 2


# Reminders, with a frozen clock ------------------------------------------------------------------


def test_admins_are_reminded_as_each_deadline_comes_close_and_weekly_when_overdue(login_as, make_user, admin):
    person = make_user(Role.CLIENT, name="Dana Due")
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        made = report(login_as(admin), "A list of clients was posted to the wrong address.")
        staff = login_as(admin)
        url = f"/api/v1/incidents/{made['id']}/"
        staff.post(url + "affected/", {"how": "person", "person_id": person.pk}, content_type="application/json")
        staff.post(url + "triage/", {"discovered_on": "2026-12-01", "outcome": "notify"},
                   content_type="application/json")  # fmt: skip
    # Individuals due 30 January 2027; the yearly log 1 March 2027.
    mail.outbox.clear()
    sent = []
    for day in (dt.date(2026, 12, 2), dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2027, 1, 29),
                dt.date(2027, 1, 30), dt.date(2027, 1, 31), dt.date(2027, 2, 3), dt.date(2027, 2, 7)):  # fmt: skip
        with time_machine.travel(dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC), tick=False):
            sent.append(notices.incidents_remind())
    # The people's notice at 30 days, 1 day, on the day, then overdue (once a week); HHS's at 30 days.
    assert sent == [0, 1, 0, 1, 2, 1, 0, 1]
    subjects = [m.subject for m in mail.outbox]
    assert "notice to each person affected is due in 30 days" in subjects[0]
    assert "is due in 1 day" in subjects[1] and "is due today" in subjects[2]
    assert "hhs, in the yearly log of 2026 is due in 30 days" in subjects[3]
    assert "is 1 day overdue" in subjects[4] and "is 8 days overdue" in subjects[5]
    assert IncidentEntry.objects.filter(kind=EntryKind.REMINDER).count() == 6


def test_the_admins_home_page_and_safeguards_show_what_needs_doing(login_as, client_user, admin, therapist):
    made = report(login_as(client_user))
    staff = login_as(admin)
    home = staff.get("/").content.decode()
    assert "Privacy incidents need attention" in home and "to triage" in home and made["id"] in home
    assert "1 needs attention" in staff.get("/practice/safeguards/").content.decode()
    assert "Privacy incidents need attention" not in login_as(therapist).get("/").content.decode()
    staff.post(
        f"/incidents/{made['id']}/", {"action": "triage", "discovered_on": "2026-11-30", "outcome": "not_privacy"}
    )
    assert "Privacy incidents need attention" not in staff.get("/").content.decode()


def test_the_fact_sheet_says_how_to_report_a_concern_and_counts_breaches_notified(client, login_as, admin, practice):
    from compliance.models import FactChange

    sheet = client.get(f"/privacy/{practice.slug}/").content.decode()
    assert "Report a concern" in sheet and "None that needed notice" in sheet
    made = report(login_as(admin), "A letter went to the wrong address.")
    person = User.objects.create_user("pat@example.org", "x" * 12, practice=practice, full_name="Pat")
    from accounts.models import RoleGrant

    RoleGrant.objects.create(user=person, role=Role.CLIENT)
    staff = login_as(admin)
    url = f"/api/v1/incidents/{made['id']}/"
    staff.post(url + "affected/", {"how": "person", "person_id": person.pk}, content_type="application/json")
    staff.post(url + "triage/", {"discovered_on": "2026-11-30", "outcome": "notify"}, content_type="application/json")
    staff.put(url + "letter/", LETTER, content_type="application/json")
    staff.post(url + "notices/", {"audience": "individual", "method": "post"}, content_type="application/json")
    assert "1 that needed notice" in client.get(f"/privacy/{practice.slug}/").content.decode()
    assert FactChange.objects.filter(key="concerns.breaches", value="1 that needed notice").exists()


def test_the_reminders_run_daily_from_beat_and_the_client_sees_being_listed(
    settings, login_as, make_user, admin, client_user
):
    from compliance.tasks import incidents_remind_deadlines

    daily = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "compliance.tasks.incidents_remind_deadlines" in daily
    with time_machine.travel(dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC), tick=False):
        made = report(login_as(admin), "A spreadsheet of clients was left on a train.")
        staff = login_as(admin)
        url = f"/api/v1/incidents/{made['id']}/"
        staff.post(url + "affected/", {"how": "person", "person_id": client_user.pk}, content_type="application/json")
        staff.post(url + "triage/", {"discovered_on": "2026-04-17", "outcome": "notify"},
                   content_type="application/json")  # fmt: skip
        assert incidents_remind_deadlines.delay().get() == 1  # one day left for the people's notice
        assert incidents_remind_deadlines.delay().get() == 0  # once per step
        page = login_as(client_user).get("/audit/record-access/").content.decode()
    assert "looked at whether a privacy incident involved you" in page and "Report a concern" in page


def test_a_client_is_told_how_to_complain_to_hhs_as_well(login_as, client_user, consent_docs):
    """The report-a-concern page, the page of a concern and the privacy notice name OCR's portal."""
    client = login_as(client_user)
    for page in (
        client.get("/incidents/new/"),
        client.get(client.post("/incidents/new/", {"summary": "A letter."})["Location"]),
    ):
        text = page.content.decode()
        assert "Office for Civil Rights" in text and "OCR Complaint Portal" in text, page
    assert "OCR Complaint Portal" in consent_docs["privacy"].body


# The breach clock ---------------------------------------------------------------------------------


def test_discovery_is_no_later_than_the_first_report_and_a_moved_deadline_is_shown_and_audited(
    login_as, make_user, admin, therapist
):
    start = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        made = report(login_as(therapist), "My laptop was stolen.")
    staff = login_as(admin)
    url = f"/api/v1/incidents/{made['id']}/"
    with time_machine.travel(start + dt.timedelta(days=10), tick=False):
        person = make_user(Role.CLIENT, name="Pat Person")
        staff.post(url + "affected/", {"how": "person", "person_id": person.pk}, content_type="application/json")
        late = staff.post(
            url + "triage/", {"discovered_on": "2026-11-05", "outcome": "notify"}, content_type="application/json"
        )
        assert late.status_code == 400 and "first reported, on 2 November 2026" in late.content.decode()
        first = staff.post(
            url + "triage/", {"discovered_on": "2026-11-02", "outcome": "notify"}, content_type="application/json"
        )
        assert first.status_code == 200, first.content
        # A new triage that moves the deadlines needs a reason, and says so.
        earlier = {"discovered_on": "2026-10-20", "outcome": "notify"}
        refused = staff.post(url + "triage/", earlier, content_type="application/json")
        assert refused.status_code == 400 and "This moves the deadlines" in refused.content.decode()
        moved = staff.post(
            url + "triage/", {**earlier, "change_reason": "The server log shows the theft began on 20 October."},
            content_type="application/json",
        )  # fmt: skip
        assert moved.status_code == 200, moved.content
        events = AuditEvent.objects.filter(action=Action.INCIDENT_UPDATE, details__change="triage")
        assert any("individual 2027-01-01>2026-12-19" in str(e.details.get("deadlines_moved", "")) for e in events)
        page = staff.get(f"/incidents/{made['id']}/").content.decode()
        assert "The deadlines moved" in page and "The server log shows the theft began on 20 October." in page


def test_residence_comes_from_the_address_and_unknown_is_counted(login_as, make_user, admin, therapist):
    from sessions.regions import region_of_address

    assert region_of_address("12 State St, Albany, NY 12207") == "US-NY"
    assert region_of_address("4 Pike Pl\nSeattle, Washington") == "US-WA"
    assert region_of_address("somewhere") == ""
    made = report(login_as(therapist), "Letters went to the wrong addresses.")
    staff = login_as(admin)
    url = f"/api/v1/incidents/{made['id']}/"
    albany = make_user(Role.CLIENT, name="Al Bany")
    chart = chart_create(actor=None, client=albany, therapists=[therapist])
    chart.address = "12 State St, Albany, NY 12207"
    chart.save()
    nowhere = make_user(Role.CLIENT, name="No Where")
    for person in (albany, nowhere):
        staff.post(url + "affected/", {"how": "person", "person_id": person.pk}, content_type="application/json")
    state = rules.incident_state(Incident.objects.get(pk=made["id"]))
    assert state.residents == {"US-NY": 1} and state.residence_unknown == 1
    page = staff.get(f"/incidents/{made['id']}/").content.decode()
    assert 'id="residence-unknown"' in page and "for 1 person" in page
