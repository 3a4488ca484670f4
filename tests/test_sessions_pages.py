"""Scheduling, the join page, check-in, ICE servers and the connection test, as users reach them."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VideoStreamTrack
from asgiref.sync import sync_to_async
from django.core import mail
from django.test import AsyncClient
from django.utils import timezone

from audit.models import AuditEvent
from sessions.models import Appointment, AppointmentStatus, CheckIn, SessionPolicy
from sessions.services import licenses_set
from sessions.tasks import reminders_send_due
from tests.conftest import sign_for_video

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def caseload(chart, client_user):
    return client_user


def local_input(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_a_therapist_schedules_reschedules_and_cancels(
    therapist, caseload, login_as, consent_docs, django_capture_on_commit_callbacks
):
    browser = login_as(therapist)
    form = browser.get("/sessions/new/")
    assert form.status_code == 200 and caseload.full_name in form.content.decode()
    when = timezone.now() + timedelta(days=2)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            "/sessions/new/",
            {"kind": "individual", "clients": [caseload.pk], "starts_at": local_input(when), "minutes": 50},
        )
    assert response.status_code == 302
    appointment = Appointment.objects.get(therapist=therapist)
    assert appointment.minutes == 50 and abs((appointment.starts_at - when).total_seconds()) < 60
    notice = mail.outbox[-1]
    assert notice.to == [caseload.email] and "/sessions/" in notice.body
    assert therapist.full_name not in notice.body and "individual" not in notice.body.lower()

    listing = browser.get("/sessions/").content.decode()
    assert caseload.full_name in listing and "Reschedule or cancel" in listing

    later = when + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        moved = browser.post(f"/sessions/{appointment.pk}/", {"starts_at": local_input(later), "minutes": 45})
    assert moved.status_code == 302
    appointment.refresh_from_db()
    assert appointment.minutes == 45 and "now takes place" in mail.outbox[-1].body

    with django_capture_on_commit_callbacks(execute=True):
        assert browser.post(f"/sessions/{appointment.pk}/cancel/").status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED and "cancelled" in mail.outbox[-1].body
    actions = set(AuditEvent.objects.filter(target_id=str(appointment.pk)).values_list("action", flat=True))
    assert {"sessions.schedule", "sessions.reschedule", "sessions.cancel"} <= actions


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"kind": "couple", "minutes": 50}, "couple session has 2"),
        ({"kind": "individual", "minutes": 5}, "greater than or equal to 10"),
        ({"kind": "individual", "minutes": 50, "starts_at": "yesterday"}, "Enter a valid date"),
        ({"kind": "individual", "minutes": 50, "past": True}, "Choose a time in the future"),
        ({"kind": "nonsense", "minutes": 50}, "Select a valid choice"),
    ],
)
def test_bad_scheduling_input_gets_a_clear_error(therapist, caseload, login_as, data, field_error):
    browser = login_as(therapist)
    when = timezone.now() + (timedelta(days=-1) if data.pop("past", False) else timedelta(days=1))
    payload = {"clients": [caseload.pk], "starts_at": local_input(when), **data}
    response = browser.post("/sessions/new/", payload)
    assert response.status_code == 400
    assert field_error in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_therapists_overlapping_sessions_are_refused(therapist, caseload, colleague, client_user, login_as):
    browser = login_as(therapist)
    first = (timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)

    def book(at, minutes=50):
        data = {"kind": "individual", "clients": [caseload.pk], "starts_at": local_input(at), "minutes": minutes}
        return browser.post("/sessions/new/", data)

    assert book(first).status_code == 302
    clash = book(first + timedelta(minutes=30))
    assert clash.status_code == 400 and "You already have a session then" in clash.content.decode()
    assert Appointment.objects.filter(therapist=therapist).count() == 1
    assert book(first + timedelta(minutes=50)).status_code == 302  # back to back is fine
    second = Appointment.objects.filter(therapist=therapist).order_by("starts_at").last()
    moved = browser.post(
        f"/sessions/{second.pk}/", {"starts_at": local_input(first + timedelta(minutes=10)), "minutes": 30}
    )
    assert moved.status_code == 400 and "You already have a session then" in moved.content.decode()
    second.refresh_from_db()
    assert second.starts_at == first + timedelta(minutes=50)
    # Another therapist's hour is theirs to fill.
    from records.models import ClientChart

    ClientChart.objects.get(client=client_user).care_team.add(colleague)
    data = {"kind": "individual", "clients": [client_user.pk], "starts_at": local_input(first), "minutes": 50}
    assert login_as(colleague).post("/sessions/new/", data).status_code == 302


def test_only_clients_on_the_caseload_can_be_scheduled(therapist, make_user, login_as):
    outsider = make_user("client")
    browser = login_as(therapist)
    response = browser.post(
        "/api/v1/sessions/",
        {"kind": "individual", "clients": [outsider.pk], "starts_at": (timezone.now() + timedelta(days=1)).isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 400 and "caseload" in response.json()["detail"]
    assert not Appointment.objects.exists()


def test_reminders_go_once_with_only_the_time_and_a_link(schedule, client_user, guardian, therapist):
    from records.models import ClientChart

    soon = schedule(client_user, in_hours=3)
    schedule(client_user, in_hours=72)
    ClientChart.objects.filter(client=client_user).update(is_minor=True)
    mail.outbox.clear()
    assert reminders_send_due() == 2  # the client and their guardian, for the session in 3 hours
    assert reminders_send_due() == 0
    bodies = [m.body for m in mail.outbox]
    assert sorted(m.to[0] for m in mail.outbox) == sorted([client_user.email, guardian.email])
    for body in bodies:
        assert "/sessions/" in body and therapist.full_name not in body
    assert Appointment.objects.get(pk=soon.pk).reminder_sent_at is not None


def test_the_join_page(schedule, client_user, therapist, colleague, stranger, consent_docs, login_as):
    appointment = schedule(client_user, in_hours=0.1)
    client = login_as(client_user)
    # Consent first: the client is led to sign.
    response = client.get(f"/sessions/{appointment.pk}/join/")
    assert response.status_code == 302 and response["Location"] == "/consent/sign/"
    # Both documents on one page, signed with one typed name, and back to Join.
    step = client.get("/consent/sign/").content.decode()
    versions = re.findall(r'name="version" value="([^"]+)"', step)
    assert len(versions) == 2
    done = client.post("/consent/sign/", {"typed_name": "Casey Client", "confirm_read": "on", "version": versions})
    assert done["Location"] == f"/sessions/{appointment.pk}/join/"
    page = client.get(f"/sessions/{appointment.pk}/join/")
    assert page.status_code == 200
    assert "camera=(self)" in page["Permissions-Policy"] and "microphone=(self)" in page["Permissions-Policy"]
    assert "display-capture=(self)" in page["Permissions-Policy"]  # screen share, on the call page only
    html = page.content.decode()
    assert "js/call/page.js" in html and "<script>" not in html and "Nothing is recorded" in html
    assert "private-network" in html and "public Wi-Fi" in html
    for outsider in (colleague, stranger):
        assert login_as(outsider).get(f"/sessions/{appointment.pk}/join/").status_code == 404
    tomorrow = schedule(client_user, in_hours=24)
    closed = client.get(f"/sessions/{tomorrow.pk}/join/")
    assert closed.status_code == 200 and "opens for joining at" in closed.content.decode()


def test_check_in_and_ice_servers(schedule, client_user, therapist, colleague, login_as, settings, consent_docs):
    appointment = schedule(client_user, in_hours=0.1)
    licenses_set(therapist=therapist, regions=["US-CA"], context=None)
    client = login_as(client_user)
    url = f"/api/v1/sessions/{appointment.pk}/check-in/"
    bad = client.post(url, {"location": "Atlantis"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"]
    ok = client.post(
        url, {"location": "US-CA", "private_device": True, "private_space": True}, content_type="application/json"
    )
    assert ok.status_code == 201 and ok.json()["licensed"] is True
    saved = CheckIn.objects.get()
    assert (saved.private_device, saved.private_network, saved.private_space) == (True, False, True)

    SessionPolicy.objects.create(practice_id=appointment.practice_id, block_unlicensed_location=True)
    blocked = client.post(url, {"location": "US-TX"}, content_type="application/json")
    assert blocked.status_code == 403 and blocked.json()["code"] == "location_blocked"
    assert "Texas" in blocked.json()["detail"]
    assert login_as(colleague).post(url, {"location": "US-CA"}, content_type="application/json").status_code == 404

    settings.ICE_TURN_URLS = ["turns:turn.example.org:5349"]
    settings.TURN_SHARED_SECRET = "s3cret"
    ice_url = f"/api/v1/sessions/{appointment.pk}/ice-servers/"
    # The ICE endpoint asks the socket's gate: no TURN credential before the consents are in force.
    refused = client.get(ice_url)
    assert refused.status_code == 403 and refused.json()["code"] == "consent_missing"
    assert "iceServers" not in refused.json()
    assert login_as(colleague).get(ice_url).status_code == 404
    sign_for_video(client_user)
    ice = client.get(ice_url).json()
    assert ice["iceServers"][0]["urls"] == ["turns:turn.example.org:5349"] and ice["iceServers"][0]["credential"]


def test_licenses_and_policy_pages(therapist, admin, login_as):
    therapist_browser = login_as(therapist)
    assert therapist_browser.post("/sessions/licenses/", {"regions": ["US-NY", "US-VT"]}).status_code == 302
    assert set(therapist.licenses.values_list("region", flat=True)) == {"US-NY", "US-VT"}
    assert therapist_browser.post("/sessions/licenses/", {"regions": ["XX"]}).status_code == 400
    assert therapist_browser.get("/sessions/settings/").status_code == 403

    admin_browser = login_as(admin)
    response = admin_browser.post(
        "/sessions/settings/",
        {
            "join_before_minutes": 10,
            "join_after_minutes": 20,
            "reminder_hours": 12,
            "last_reminder_hours": 2,
            "relay_only": "on",
            "late_cancel_hours": 48,
            "first_session_requests": "on",
        },
    )
    assert response.status_code == 302
    policy = SessionPolicy.objects.get(practice_id=admin.practice_id)
    assert (policy.join_before_minutes, policy.relay_only, policy.block_unlicensed_location) == (10, True, False)
    assert (policy.late_cancel_hours, policy.first_session_requests) == (48, True)
    bad = admin_browser.post(
        "/sessions/settings/", {"join_before_minutes": -5, "join_after_minutes": 20, "reminder_hours": 12}
    )
    assert bad.status_code == 400
    assert SessionPolicy.objects.get(practice_id=admin.practice_id).join_before_minutes == 10


@pytest.mark.django_db(transaction=True)
async def test_the_connection_test_echoes_media_and_data_over_real_webrtc(therapist, login_as):
    browser = await sync_to_async(login_as)(therapist)
    client = AsyncClient()
    client.cookies = browser.cookies
    pc = RTCPeerConnection()
    pc.addTrack(VideoStreamTrack())
    channel = pc.createDataChannel("rtt")
    echoed_video = asyncio.get_running_loop().create_future()
    pc.on("track", lambda track: echoed_video.done() or echoed_video.set_result(track))
    await pc.setLocalDescription(await pc.createOffer())
    csrf = browser.cookies["csrftoken"].value if "csrftoken" in browser.cookies else ""
    response = await client.post(
        "/api/v1/sessions/connection-test/",
        json.dumps({"type": "offer", "sdp": pc.localDescription.sdp}),
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )
    assert response.status_code == 200, response.content
    await pc.setRemoteDescription(RTCSessionDescription(**response.json()))
    track = await asyncio.wait_for(echoed_video, 10)
    frame = await asyncio.wait_for(track.recv(), 15)
    assert frame.width > 0
    opened = asyncio.get_running_loop().create_future()
    if channel.readyState == "open":
        opened.set_result(True)
    channel.on("open", lambda: opened.done() or opened.set_result(True))
    await asyncio.wait_for(opened, 10)
    back = asyncio.get_running_loop().create_future()
    channel.on("message", lambda m: back.done() or back.set_result(m))
    channel.send("hello")
    assert await asyncio.wait_for(back, 10) == "hello"
    assert pc.connectionState == "connected"
    await pc.close()
    assert await sync_to_async(AuditEvent.objects.filter(action="video.connection_test").count)() == 1


@pytest.mark.django_db(transaction=True)
async def test_the_connection_test_refuses_bad_offers(therapist, login_as):
    browser = await sync_to_async(login_as)(therapist)
    client = AsyncClient()
    client.cookies = browser.cookies
    for body, code in [
        ("not json", "bad_offer"),
        (json.dumps({"type": "answer", "sdp": "v=0"}), "bad_offer"),
        (json.dumps({"type": "offer", "sdp": "v=0\r\nm=video 9 RTP/AVP 96\r\n"}), "no_dtls"),
        (json.dumps({"type": "offer", "sdp": "x" * 70000}), "too_large"),
    ]:
        response = await client.post("/api/v1/sessions/connection-test/", body, content_type="application/json")
        assert response.status_code in (400, 413) and response.json()["code"] == code
    anonymous = await AsyncClient().post("/api/v1/sessions/connection-test/", "{}", content_type="application/json")
    assert anonymous.status_code == 403


def test_times_show_in_each_persons_zone(schedule, client_user, therapist, login_as):
    appointment = schedule(client_user, in_hours=24)
    browser = login_as(client_user)
    assert browser.post("/sessions/time-zone/", {"zone": "Asia/Tokyo"}).status_code == 302
    client_user.refresh_from_db()
    assert client_user.time_zone == "Asia/Tokyo"
    tokyo = timezone.localtime(appointment.starts_at, timezone=__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert f"{tokyo:%H:%M}" in browser.get("/sessions/").content.decode()
    for bad in ("Mars/Olympus", "Zulu", "W-SU", "localtime", "Etc/GMT+5", "US/Pacific"):
        assert browser.post("/sessions/time-zone/", {"zone": bad}).status_code == 302
        client_user.refresh_from_db()
        assert client_user.time_zone == "Asia/Tokyo", bad  # not a real place: nothing changes
    # Typed as a person would, with a space: found all the same.
    browser.post("/sessions/time-zone/", {"zone": "America/New York"})
    client_user.refresh_from_db()
    assert client_user.time_zone == "America/New_York"
    # The choices: the practice's zone first, then real places only.
    page = browser.get("/sessions/").content.decode()
    options = re.findall(r'<option value="([^"]+)"', page[page.index('<datalist id="zone-list">') :])
    assert options[0] == client_user.practice.time_zone and "Europe/Berlin" in options
    assert not {"Zulu", "W-SU", "localtime", "Etc/GMT+5", "US/Pacific", "posixrules"} & set(options)


def test_an_admin_sees_the_practice_schedule_but_cannot_join(
    schedule, client_user, therapist, admin, stranger, login_as
):
    appointment = schedule(client_user, in_hours=0.1)
    browser = login_as(admin)
    page = browser.get("/sessions/").content.decode()
    assert therapist.full_name in page and client_user.full_name in page
    assert f"/sessions/{appointment.pk}/join/" not in page
    assert browser.get(f"/sessions/{appointment.pk}/join/").status_code == 404
    assert [row["id"] for row in browser.get("/api/v1/sessions/").json()] == [str(appointment.pk)]
    assert login_as(stranger).get("/api/v1/sessions/").json() == []
