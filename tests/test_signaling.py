"""The signaling socket, through the real ASGI stack (cookies, sessions, channel layer)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from audit.models import AuditEvent
from sessions.models import Admission, Appointment, AppointmentStatus, SessionPolicy
from sessions.realtime import CloseCode
from sessions.services import licenses_set
from tests.conftest import check_in, password_only_session, sign, sign_for_video
from tests.signaling import (
    OFFER_SDP,
    admitted_pair,
    client_waiting,
    expect_closed,
    open_socket,
    receive,
    receive_type,
    send,
    therapist_in,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]

CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}


def refusals(reason: str) -> int:
    return AuditEvent.objects.filter(action="video.refused", details__reason=reason, outcome="denied").count()


async def test_waiting_room_admission_and_relay(room, therapist, client_user, login_as):
    host, host_welcome = await therapist_in(room, therapist, login_as)
    guest, guest_welcome, _ = await client_waiting(room, client_user, login_as)

    waiting = await receive_type(host, "waiting")
    assert waiting["peer"] == guest_welcome["peer"]
    assert waiting["name"] == client_user.full_name
    assert waiting["location"] == "US-NY" and waiting["location_name"] == "New York" and waiting["licensed"] is True
    assert waiting["checklist"] == {"device": True, "network": True, "space": False}

    # Before admission, nothing can be signaled.
    await send(guest, "offer", to=host_welcome["peer"], sdp=OFFER_SDP)
    assert (await receive(guest))["code"] == "not_admitted"
    assert await sync_to_async(refusals)("not_admitted") == 1

    await send(host, "admit", peer=guest_welcome["peer"])
    assert (await receive_type(guest, "admitted"))["type"] == "admitted"
    newcomer_view = await receive_type(guest, "peer-joined")
    host_view = await receive_type(host, "peer-joined")
    assert newcomer_view["peer"] == host_welcome["peer"] and newcomer_view["polite"] is False
    assert host_view["peer"] == guest_welcome["peer"] and host_view["polite"] is True
    assert newcomer_view["role"] == "therapist" and host_view["role"] == "client"

    await send(guest, "offer", to=host_welcome["peer"], sdp=OFFER_SDP)
    offer = await receive_type(host, "offer")
    assert offer == {"v": 1, "type": "offer", "from": guest_welcome["peer"], "sdp": OFFER_SDP}
    await send(host, "answer", to=guest_welcome["peer"], sdp=OFFER_SDP)
    assert (await receive_type(guest, "answer"))["from"] == host_welcome["peer"]
    await send(guest, "ice", to=host_welcome["peer"], candidate=CANDIDATE)
    assert (await receive_type(host, "ice"))["candidate"] == CANDIDATE
    await send(guest, "ice", to=host_welcome["peer"], candidate=None)
    assert (await receive_type(host, "ice"))["candidate"] is None

    await send(guest, "ping", t=12.5)
    assert (await receive_type(guest, "pong"))["t"] == 12.5

    await send(guest, "leave")
    await expect_closed(guest, CloseCode.LEFT)
    left = await receive_type(host, "peer-left")
    assert left["peer"] == guest_welcome["peer"] and "reconnecting" not in left  # a goodbye
    await host.disconnect()

    def trail():
        return list(
            AuditEvent.objects.filter(action__startswith="video.").order_by("id").values_list("action", flat=True)
        )

    actions = await sync_to_async(trail)()
    assert actions.count("video.join") == 2
    assert "video.admit" in actions and actions.count("video.leave") == 2
    # An admission survives a reconnect: the client goes straight back in.
    assert await sync_to_async(Admission.objects.filter(revoked_at__isnull=True).count)() == 1


async def test_ice_servers_and_relay_only_policy(room, therapist, login_as, settings):
    settings.ICE_STUN_URLS = ["stun:stun.example.org:3478"]
    settings.ICE_TURN_URLS = ["turn:turn.example.org:3478?transport=udp"]
    settings.TURN_SHARED_SECRET = "shared-with-coturn"
    await sync_to_async(SessionPolicy.objects.create)(practice_id=room.practice_id, relay_only=True)
    socket, welcome = await therapist_in(room, therapist, login_as)
    ice = welcome["ice"]
    assert ice["iceTransportPolicy"] == "relay"
    stun, turn = ice["iceServers"]
    assert stun == {"urls": ["stun:stun.example.org:3478"]}
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(b"shared-with-coturn", turn["username"].encode(), hashlib.sha1).digest())
    assert turn["credential"] == expected.decode()
    expiry = int(turn["username"].split(":")[0])
    now = timezone.now().timestamp()
    assert 0 < expiry - now <= (room.ends_at - room.starts_at).total_seconds() + 1
    await socket.disconnect()


@pytest.mark.parametrize(
    ("who", "code", "reason"),
    [
        ("anonymous", CloseCode.NOT_SIGNED_IN, "not_signed_in"),
        ("password_only", CloseCode.MFA_REQUIRED, "mfa_required"),
        ("stranger", CloseCode.NOT_FOUND, "not_found"),
        ("colleague", CloseCode.NOT_FOUND, "not_found"),
        ("no_origin", CloseCode.ORIGIN_REFUSED, "origin"),
        ("foreign_origin", CloseCode.ORIGIN_REFUSED, "origin"),
        ("other_host_origin", CloseCode.ORIGIN_REFUSED, "origin"),
    ],
)
async def test_who_is_refused_at_the_door(room, client_user, stranger, colleague, login_as, who, code, reason):
    origin = "http://testserver"
    client = None
    if who == "password_only":
        client = await sync_to_async(password_only_session)(client_user)
    elif who in ("stranger", "colleague"):
        client = await sync_to_async(login_as)(stranger if who == "stranger" else colleague)
    elif who != "anonymous":
        client = await sync_to_async(login_as)(client_user)
        origin = {"no_origin": None, "foreign_origin": "https://evil.example", "other_host_origin": "http://localhost"}[
            who
        ]
    socket = await open_socket(room.pk, client, origin=origin)
    bye = await expect_closed(socket, code)
    assert bye["reason"] == reason and bye["detail"]
    assert await sync_to_async(refusals)(reason) == 1


async def test_outside_the_window_missing_consent_and_check_in(
    consent_docs, schedule, make_user, therapist, login_as, settings
):
    early, unsigned, unchecked = [await sync_to_async(make_user)("client") for _ in range(3)]
    await sync_to_async(sign_for_video)(early, unchecked)
    tomorrow = await sync_to_async(schedule)(early, in_hours=24)
    await sync_to_async(check_in)(early, tomorrow)
    no_consent = await sync_to_async(schedule)(unsigned, in_hours=0.05, minutes=10)
    await sync_to_async(check_in)(unsigned, no_consent)
    no_check_in = await sync_to_async(schedule)(unchecked, in_hours=0.05 + 10 / 60, minutes=10)  # back to back

    for user, appointment, code, reason in [
        (early, tomorrow, CloseCode.OUTSIDE_WINDOW, "window_early"),
        (unsigned, no_consent, CloseCode.CONSENT_MISSING, "consent_missing"),
        (therapist, no_consent, CloseCode.CONSENT_MISSING, "consent_missing"),
        (unchecked, no_check_in, CloseCode.CHECK_IN_REQUIRED, "check_in_required"),
    ]:
        socket = await open_socket(appointment.pk, await sync_to_async(login_as)(user))
        bye = await expect_closed(socket, code)
        assert bye["reason"] == reason

    # The window closes 30 minutes after the end by default.
    def move_to_the_past():
        Appointment.objects.filter(pk=tomorrow.pk).update(
            starts_at=timezone.now() - timedelta(minutes=90), ends_at=timezone.now() - timedelta(minutes=40)
        )

    await sync_to_async(move_to_the_past)()
    socket = await open_socket(tomorrow.pk, await sync_to_async(login_as)(early))
    assert (await expect_closed(socket, CloseCode.OUTSIDE_WINDOW))["reason"] == "window_over"


async def test_an_unlicensed_location_warns_or_blocks(room, therapist, client_user, login_as):
    await sync_to_async(check_in)(client_user, room, "US-TX")
    host, _ = await therapist_in(room, therapist, login_as)
    guest, _, guest_client = await client_waiting(room, client_user, login_as)
    waiting = await receive_type(host, "waiting")
    assert waiting["location_name"] == "Texas" and waiting["licensed"] is False
    await guest.disconnect()

    await sync_to_async(SessionPolicy.objects.create)(practice_id=room.practice_id, block_unlicensed_location=True)
    blocked = await open_socket(room.pk, guest_client)
    assert (await expect_closed(blocked, CloseCode.LOCATION_BLOCKED))["reason"] == "location_blocked"
    await host.disconnect()


HASH = "0f" * 32
PRINT = ":".join(["AB"] * 32)


async def test_the_security_code_exchange_is_relayed_as_sent_and_nothing_more(room, therapist, client_user, login_as):
    """The server carries each step of the commitment to the one peer it is addressed to, with
    the sender's id and nothing else; it cannot compute a code from them."""
    host, host_welcome, guest, guest_welcome, _ = await admitted_pair(room, therapist, client_user, login_as)
    await send(guest, "verify", to=host_welcome["peer"], step="commit", hash=HASH)
    assert await receive_type(host, "verify") == {
        "v": 1,
        "type": "verify",
        "from": guest_welcome["peer"],
        "step": "commit",
        "hash": HASH,
    }
    await send(host, "verify", to=guest_welcome["peer"], step="nonce", fingerprint=PRINT, nonce=HASH)
    assert await receive_type(guest, "verify") == {
        "v": 1,
        "type": "verify",
        "from": host_welcome["peer"],
        "step": "nonce",
        "fingerprint": PRINT,
        "nonce": HASH,
    }
    await guest.disconnect()
    await host.disconnect()


async def test_bad_messages_get_errors_and_the_socket_stays_usable(room, therapist, client_user, login_as):
    host, host_welcome, guest, _, _ = await admitted_pair(room, therapist, client_user, login_as)
    to = host_welcome["peer"]
    no_fingerprint = OFFER_SDP.replace("a=fingerprint:sha-256 " + ":".join(["AB"] * 32) + "\r\n", "")
    cases = [
        ("x" * (64 * 1024 + 1), "too_large"),
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_message"),
        (json.dumps({"v": 2, "type": "ping"}), "bad_version"),
        (json.dumps({"v": 1, "type": "shout"}), "unknown_type"),
        (json.dumps({"v": 1, "type": "ping", "extra": 1}), "bad_message"),
        (json.dumps({"v": 1, "type": "offer", "to": to}), "bad_message"),
        (json.dumps({"v": 1, "type": "offer", "to": "../../etc", "sdp": OFFER_SDP}), "bad_peer"),
        (json.dumps({"v": 1, "type": "offer", "to": to, "sdp": "hello"}), "bad_sdp"),
        (json.dumps({"v": 1, "type": "offer", "to": to, "sdp": no_fingerprint}), "no_fingerprint"),
        (
            json.dumps(
                {
                    "v": 1,
                    "type": "offer",
                    "to": to,
                    "sdp": OFFER_SDP + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n",
                }
            ),
            "sdes_refused",
        ),
        (
            json.dumps({"v": 1, "type": "offer", "to": to, "sdp": OFFER_SDP.replace("UDP/TLS/RTP/SAVPF", "RTP/AVP")}),
            "no_dtls",
        ),
        (json.dumps({"v": 1, "type": "ice", "to": to, "candidate": {"candidate": "x\r\na=crypto"}}), "bad_candidate"),
        (json.dumps({"v": 1, "type": "ice", "to": to, "candidate": {"sdpMLineIndex": True}}), "bad_candidate"),
        (json.dumps({"v": 1, "type": "offer", "to": "0123456789abcdef", "sdp": OFFER_SDP}), "unknown_peer"),
        (json.dumps({"v": 1, "type": "admit", "peer": to}), "not_allowed"),
        (json.dumps({"v": 1, "type": "end"}), "not_allowed"),
        (json.dumps({"v": 1, "type": "verify", "to": to, "step": "shout"}), "bad_verify"),
        (json.dumps({"v": 1, "type": "verify", "to": to, "step": "commit"}), "bad_verify"),
        (json.dumps({"v": 1, "type": "verify", "to": to, "step": "commit", "hash": "ab" * 31}), "bad_verify"),
        (json.dumps({"v": 1, "type": "verify", "to": to, "step": "commit", "hash": HASH, "nonce": HASH}), "bad_verify"),
        (
            json.dumps({"v": 1, "type": "verify", "to": to, "step": "open", "fingerprint": "AB", "nonce": HASH}),
            "bad_verify",
        ),
        (
            json.dumps({"v": 1, "type": "verify", "to": to, "step": "nonce", "fingerprint": PRINT, "nonce": 7}),
            "bad_verify",
        ),
        (
            json.dumps(
                {"v": 1, "type": "verify", "to": to, "step": "open", "fingerprint": PRINT, "nonce": HASH, "sdp": "v=0"}
            ),
            "bad_message",
        ),
    ]
    for text, code in cases:
        await guest.send_to(text_data=text)
        reply = await receive_type(guest, "error")
        assert reply["code"] == code, (text[:80], reply)
    await guest.send_to(bytes_data=b"\x00\x01")
    assert (await receive_type(guest, "error"))["code"] == "text_only"
    # Nothing bad reached the therapist, and the call goes on.
    assert await host.receive_nothing(timeout=0.2)
    await send(guest, "offer", to=to, sdp=OFFER_SDP)
    assert (await receive_type(host, "offer"))["sdp"] == OFFER_SDP
    still = await sync_to_async(Appointment.objects.get)(pk=room.pk)
    assert still.status == AppointmentStatus.SCHEDULED
    await guest.disconnect()
    await host.disconnect()


async def test_a_flood_is_cut_off_without_disturbing_another_room(
    room, therapist, colleague, client_user, make_user, schedule, login_as, settings
):
    settings.SIGNALING_RATE = 5
    settings.SIGNALING_BURST = 20
    other_client = await sync_to_async(make_user)("client")
    await sync_to_async(sign_for_video)(other_client)
    await sync_to_async(licenses_set)(therapist=colleague, regions=["US-NY"], context=None)
    other_room = await sync_to_async(schedule)(other_client, in_hours=0.05, by=colleague)
    await sync_to_async(check_in)(other_client, other_room)
    bystander, _, _ = await client_waiting(other_room, other_client, login_as)

    flooder, _, _ = await client_waiting(room, client_user, login_as)
    for _ in range(60):
        await flooder.send_to(text_data=json.dumps({"v": 1, "type": "ping"}))
    seen = []
    while True:
        reply = await receive(flooder)
        seen.append(reply["type"] if reply["type"] != "error" else reply["code"])
        if reply["type"] == "bye":
            assert reply["code"] == CloseCode.FLOODING
            break
    # The burst (less the join message) is served; the rest is refused, then the socket is closed.
    assert 19 <= seen.count("pong") <= 25 and "rate_limited" in seen
    assert await sync_to_async(refusals)("flooding") == 1

    await send(bystander, "ping", t=1)
    assert (await receive_type(bystander, "pong"))["t"] == 1
    await bystander.disconnect()


async def test_removal_closes_the_socket_and_sends_them_back_to_the_waiting_room(
    room, therapist, client_user, login_as
):
    host, _, guest, guest_welcome, guest_client = await admitted_pair(room, therapist, client_user, login_as)
    await send(host, "remove", peer=guest_welcome["peer"])
    await expect_closed(guest, CloseCode.REMOVED)
    assert (await receive_type(host, "peer-left"))["peer"] == guest_welcome["peer"]
    again = await open_socket(room.pk, guest_client)
    assert (await receive(again))["state"] == "waiting"
    await again.disconnect()
    await host.disconnect()
    assert await sync_to_async(AuditEvent.objects.filter(action="video.remove").count)() == 1


@pytest.mark.parametrize("how", ["logout", "deactivated", "signed_out_elsewhere", "consent_withdrawn", "cancelled"])
async def test_sockets_close_when_what_let_them_in_ends(room, therapist, client_user, admin, login_as, how):
    host, _, guest, _, guest_client = await admitted_pair(room, therapist, client_user, login_as)
    if how == "logout":
        await sync_to_async(guest_client.post)("/logout/")
        await expect_closed(guest, CloseCode.SIGNED_OUT)
    elif how == "deactivated":
        from accounts.services.members import user_deactivate

        await sync_to_async(user_deactivate)(actor=admin, context=None, user=client_user)
        await expect_closed(guest, CloseCode.SIGNED_OUT)
    elif how == "signed_out_elsewhere":
        from accounts.services.auth import sessions_end_for_user

        await sync_to_async(sessions_end_for_user)(user=client_user, actor=client_user, context=None, reason="test")
        await expect_closed(guest, CloseCode.SIGNED_OUT)
    elif how == "consent_withdrawn":
        from consent.models import ConsentSignature
        from consent.services import consent_withdraw

        def withdraw():
            signature = ConsentSignature.objects.get(on_behalf_of=client_user, kind="telehealth")
            consent_withdraw(actor=client_user, signature=signature, reason="", context=None)

        await sync_to_async(withdraw)()
        # One withdrawal stops the session for everyone in it.
        assert (await expect_closed(guest, CloseCode.CONSENT_MISSING))["reason"] == "consent_withdrawn"
        await expect_closed(host, CloseCode.CONSENT_MISSING)
        return
    else:
        from sessions.services import appointment_cancel

        await sync_to_async(appointment_cancel)(therapist=therapist, appointment=room, context=None)
        assert (await expect_closed(guest, CloseCode.APPOINTMENT_OVER))["reason"] == "cancelled"
        await expect_closed(host, CloseCode.APPOINTMENT_OVER)
        return
    assert (await receive_type(host, "peer-left"))["type"] == "peer-left"
    await host.disconnect()


async def test_the_therapist_ends_the_session_for_everyone(room, therapist, client_user, login_as):
    host, _, guest, _, guest_client = await admitted_pair(room, therapist, client_user, login_as)
    await send(host, "end")
    told = await expect_closed(guest, CloseCode.APPOINTMENT_OVER)
    assert told["reason"] == "ended" and told["detail"] == "Your therapist ended the session."
    # The therapist who ended it is told so in their own words.
    assert (await expect_closed(host, CloseCode.APPOINTMENT_OVER))["detail"] == "You ended the session for everyone."
    assert (await sync_to_async(Appointment.objects.get)(pk=room.pk)).status == AppointmentStatus.ENDED
    late = await open_socket(room.pk, guest_client)
    assert (await expect_closed(late, CloseCode.APPOINTMENT_OVER))["reason"] == "ended"


async def test_admitting_removing_and_ending_are_audited_with_the_therapists_socket(
    room, therapist, client_user, login_as
):
    host, _host_welcome, guest, guest_welcome, _ = await admitted_pair(room, therapist, client_user, login_as)
    await send(host, "remove", peer=guest_welcome["peer"])
    await expect_closed(guest, CloseCode.REMOVED)
    await send(host, "end")
    await expect_closed(host, CloseCode.APPOINTMENT_OVER)

    def events() -> dict[str, AuditEvent]:
        found = AuditEvent.objects.filter(actor_id=therapist.pk, target_id=str(room.pk)).order_by("id")
        return {event.action: event for event in found}

    by_action = await sync_to_async(events)()
    # The socket's own context: the request id it was given when it connected, for each act.
    opened = by_action["video.join"].request_id
    assert opened
    for action in ("video.admit", "video.remove", "video.end"):
        assert by_action[action].request_id == opened, action


async def test_a_peer_of_another_room_cannot_be_addressed(
    room, therapist, colleague, client_user, make_user, schedule, login_as
):
    host, _, guest, _, _ = await admitted_pair(room, therapist, client_user, login_as)
    other_client = await sync_to_async(make_user)("client")
    await sync_to_async(sign_for_video)(other_client)
    await sync_to_async(licenses_set)(therapist=colleague, regions=["US-NY"], context=None)
    other_room = await sync_to_async(schedule)(other_client, in_hours=0.05, by=colleague)
    await sync_to_async(check_in)(other_client, other_room)
    other_host, other_host_welcome = await therapist_in(other_room, colleague, login_as)
    await send(guest, "offer", to=other_host_welcome["peer"], sdp=OFFER_SDP)
    assert (await receive_type(guest, "error"))["code"] == "unknown_peer"
    assert await other_host.receive_nothing(timeout=0.2)
    for socket in (host, guest, other_host):
        await socket.disconnect()


async def test_an_unknown_socket_path_is_closed_cleanly(login_as, client_user):
    socket = await open_socket(None, path="/ws/sessions/not-a-uuid/")
    await expect_closed(socket, CloseCode.NOT_FOUND)


async def test_a_couples_session_is_a_mesh_of_three(consent_docs, schedule, make_user, therapist, login_as):
    sam, alex = [await sync_to_async(make_user)("client", name=n) for n in ("Sam Rivera", "Alex Rivera")]

    def prepare():
        for partner in (sam, alex):
            sign_for_video(partner)
            sign(partner, "couples_agreement")
        appointment = schedule(sam, alex, kind="couple", in_hours=0.05)
        for partner in (sam, alex):
            check_in(partner, appointment)
        return appointment

    appointment = await sync_to_async(prepare)()
    host, host_welcome = await therapist_in(appointment, therapist, login_as)
    sockets = {}
    for partner in (sam, alex):
        socket, welcome, _ = await client_waiting(appointment, partner, login_as)
        waiting = await receive_type(host, "waiting")
        while waiting["peer"] != welcome["peer"]:  # a roll call may announce someone twice
            waiting = await receive_type(host, "waiting")
        await send(host, "admit", peer=waiting["peer"])
        await receive_type(socket, "admitted")
        sockets[partner.full_name] = (socket, welcome)
    sam_socket, sam_welcome = sockets["Sam Rivera"]
    alex_socket, alex_welcome = sockets["Alex Rivera"]
    # Sam, admitted first, meets the therapist, then Alex; Alex meets both, and offers to both.
    sam_met = [(await receive_type(sam_socket, "peer-joined"))["peer"] for _ in range(2)]
    alex_met = {(await receive_type(alex_socket, "peer-joined"))["peer"] for _ in range(2)}
    assert sam_met == [host_welcome["peer"], alex_welcome["peer"]]
    assert alex_met == {host_welcome["peer"], sam_welcome["peer"]}
    await send(alex_socket, "offer", to=sam_welcome["peer"], sdp=OFFER_SDP)
    assert (await receive_type(sam_socket, "offer"))["from"] == alex_welcome["peer"]
    for socket in (host, sam_socket, alex_socket):
        await socket.disconnect()


async def test_joining_again_from_another_tab_replaces_the_old_socket(room, therapist, client_user, login_as):
    host, _ = await therapist_in(room, therapist, login_as)
    first, _, browser = await client_waiting(room, client_user, login_as)
    second = await open_socket(room.pk, browser)
    await receive_type(second, "welcome")
    await send(second, "join")
    assert (await expect_closed(first, CloseCode.REPLACED))["reason"] == "replaced"
    await second.disconnect()
    await host.disconnect()


async def test_a_dropped_client_comes_straight_back_within_the_grace_period(
    room, therapist, client_user, login_as, settings
):
    host, _, guest, _, guest_client = await admitted_pair(room, therapist, client_user, login_as)
    await guest.disconnect(code=1006)  # the network went away, not a hang-up
    # The therapist is told the client is reconnecting, and for how long they may come back.
    left = await receive_type(host, "peer-left")
    assert left["reconnecting"] is True and left["grace"] == settings.SIGNALING_REJOIN_GRACE_SECONDS
    back = await open_socket(room.pk, guest_client)
    welcome = await receive(back)
    assert welcome["state"] == "admitted"  # no second admission needed
    await send(back, "join")
    await receive_type(host, "peer-joined")
    await back.disconnect(code=1006)
    await receive_type(host, "peer-left")
    # After the grace period, the therapist admits them again.
    settings.SIGNALING_REJOIN_GRACE_SECONDS = 0
    late = await open_socket(room.pk, guest_client)
    assert (await receive(late))["state"] == "waiting"
    for socket in (late, host):
        await socket.disconnect()
