"""The socket outlives nothing that would refuse a new one: checked on the client's heartbeats
and on the server's own timer."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from sessions.realtime import CloseCode
from tests.signaling import (
    admitted_pair,
    expect_closed,
    receive_type,
    send,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


async def test_an_expired_login_session_is_noticed_on_the_heartbeat(
    room, therapist, client_user, login_as, monkeypatch
):
    import time as clock

    from accounts.login_session import AUTH_AT_KEY

    monkeypatch.setattr("sessions.consumers.heartbeat_seconds", lambda: 0)
    host, _, guest, _, guest_client = await admitted_pair(room, therapist, client_user, login_as)
    await send(guest, "ping", t=1)
    assert (await receive_type(guest, "pong"))["t"] == 1  # still fine, and the call counts as activity

    def age_the_login():
        session = guest_client.session
        session[AUTH_AT_KEY] = int(clock.time()) - 13 * 3600  # past the absolute lifetime
        session.save()

    await sync_to_async(age_the_login)()
    await send(guest, "ping", t=2)
    assert (await expect_closed(guest, CloseCode.SIGNED_OUT))["reason"] == "session_expired"
    await host.disconnect()


@pytest.mark.parametrize("what", ["lifetime", "idle", "window"])
async def test_the_server_rechecks_an_open_socket_on_its_own_timer(
    room, therapist, client_user, login_as, settings, what
):
    """No ping from the client: the server still notices and closes with the documented code."""
    import time as clock
    from datetime import timedelta

    from accounts.login_session import AUTH_AT_KEY, LAST_SEEN_KEY
    from sessions.models import Appointment

    settings.SIGNALING_RECHECK_SECONDS = 0.3
    host, _, guest, _, guest_client = await admitted_pair(room, therapist, client_user, login_as)

    def change():
        if what == "window":
            Appointment.objects.filter(pk=room.pk).update(
                starts_at=room.starts_at - timedelta(hours=5), ends_at=room.ends_at - timedelta(hours=5)
            )
            return
        session = guest_client.session
        if what == "lifetime":
            session[AUTH_AT_KEY] = int(clock.time()) - 13 * 3600
        else:
            session[LAST_SEEN_KEY] = int(clock.time()) - settings.SESSION_IDLE_TIMEOUT_SECONDS - 60
        session.save()

    async def closed(socket, code):
        """The goodbye with its reason, then the close with its code; when both sides are closed
        at once, the other side's departure may be told in between."""
        bye = await receive_type(socket, "bye", 5)
        assert bye["code"] == code, bye
        while (output := await socket.receive_output(timeout=5))["type"] != "websocket.close":
            assert json.loads(output["text"])["type"] != "bye", output  # one goodbye only
        assert output["code"] == code
        return bye

    await sync_to_async(change)()
    code = CloseCode.OUTSIDE_WINDOW if what == "window" else CloseCode.SIGNED_OUT
    bye = await closed(guest, code)
    assert bye["reason"] == ("window_over" if what == "window" else "session_expired")
    if what == "window":
        await closed(host, CloseCode.OUTSIDE_WINDOW)
    else:
        await host.disconnect()


async def test_the_server_timer_is_not_activity(room, therapist, client_user, login_as, settings):
    """Re-checks by the server do not keep an idle login session alive; heartbeats do."""
    from accounts.login_session import LAST_SEEN_KEY

    settings.SIGNALING_RECHECK_SECONDS = 0.2
    host, _, guest, _, guest_client = await admitted_pair(room, therapist, client_user, login_as)

    def last_seen():
        return guest_client.session.get(LAST_SEEN_KEY)

    def set_last_seen(value):
        session = guest_client.session
        session[LAST_SEEN_KEY] = value
        session.save()

    import time as clock

    earlier = int(clock.time()) - 30
    await sync_to_async(set_last_seen)(earlier)
    await asyncio.sleep(0.8)  # several server re-checks
    assert await sync_to_async(last_seen)() == earlier
    await guest.disconnect()
    await host.disconnect()


async def test_a_socket_whose_heartbeats_flow_is_checked_once_per_interval(
    room, therapist, client_user, login_as, settings, monkeypatch
):
    """The heartbeat's check counts for the server's timer too, and the answer does not wait for
    it: a process holding thousands of sockets asks the database once per socket per interval."""
    from sessions import gate

    calls: list[bool] = []
    real_check = gate.still_allowed

    def counted(**kwargs):
        if kwargs["user_id"] == client_user.pk:
            calls.append(kwargs["activity"])
        return real_check(**kwargs)

    monkeypatch.setattr("sessions.consumers.heartbeat_seconds", lambda: 0.4)
    monkeypatch.setattr("sessions.gate.still_allowed", counted)
    settings.SIGNALING_RECHECK_SECONDS = 0.4
    host, _, guest, _, _ = await admitted_pair(room, therapist, client_user, login_as)
    calls.clear()
    for n in range(24):  # 2.4 s of heartbeats, one every 0.1 s
        await send(guest, "ping", t=n)
        assert (await receive_type(guest, "pong"))["t"] == n
        await asyncio.sleep(0.1)
    heartbeat_checks, timer_checks = calls.count(True), calls.count(False)
    # About six checks, made for heartbeats; the timer finds them recent (without that it would
    # check about six more times), but for a race or two at the interval's edge.
    assert 3 <= heartbeat_checks <= 8, calls
    assert timer_checks <= 2, calls
    await guest.disconnect()
    await host.disconnect()


def test_checks_set_apart_still_keep_a_call_from_idling_out(settings):
    from sessions.consumers import activity_seconds, heartbeat_seconds

    settings.SESSION_IDLE_TIMEOUT_SECONDS = 900
    settings.SIGNALING_RECHECK_SECONDS = 0
    assert activity_seconds() == heartbeat_seconds() == 20
    settings.SIGNALING_RECHECK_SECONDS = 120
    assert activity_seconds() == 120
    settings.SIGNALING_RECHECK_SECONDS = 3600  # never so far apart that the login session idles out
    assert activity_seconds() == 225
