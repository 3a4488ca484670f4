"""Presence: a therapist's pages hear at once that a client is waiting, with a time and never a
name; the socket has the same door as the signaling one."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from accounts.models import Role
from sessions.services import admission_grant
from tests.conftest import check_in, password_only_session
from tests.signaling import open_socket, receive

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def presence(client=None, **kwargs):
    return await open_socket(None, client, path="/ws/presence/", **kwargs)


async def nothing_arrives(socket, seconds: float = 0.5) -> bool:
    return await socket.receive_nothing(timeout=seconds)


async def test_a_therapist_hears_who_is_waiting_on_any_page(room, therapist, client_user, login_as, make_user):
    socket = await presence(await sync_to_async(login_as)(therapist))
    first = await receive(socket)
    assert first["type"] == "presence" and len(first["waiting"]) == 1  # the room's client checked in
    [entry] = first["waiting"]
    assert entry["appointment"] == str(room.pk) and entry["url"] == f"/sessions/{room.pk}/join/"
    assert ":" in entry["time"] and client_user.full_name not in str(first) and client_user.email not in str(first)
    colleague = await sync_to_async(make_user)(Role.THERAPIST, name="Cleo Colleague")
    other = await presence(await sync_to_async(login_as)(colleague))
    assert (await receive(other))["waiting"] == []
    # Admitted: nobody is waiting any more.
    await sync_to_async(admission_grant)(therapist=therapist, appointment=room, user_id=client_user.pk)
    assert (await receive(socket))["waiting"] == []
    # A second client checks in (a new check-in reaches the therapist at once), and only them.
    partner = await sync_to_async(make_user)(Role.CLIENT, name="Pat Partner")

    def second_check_in():
        from sessions.models import AppointmentParticipant

        AppointmentParticipant.objects.create(appointment=room, client=partner)
        check_in(partner, room)

    await sync_to_async(second_check_in)()
    assert len((await receive(socket))["waiting"]) == 1
    assert await nothing_arrives(other)
    await socket.disconnect()
    await other.disconnect()


@pytest.mark.parametrize("who", ["anonymous", "password_only", "admin", "bad_origin"])
async def test_the_presence_socket_has_the_signaling_door(room, therapist, client_user, admin, login_as, who):
    if who == "anonymous":
        socket, code = await presence(None), 4401
    elif who == "password_only":
        socket, code = await presence(await sync_to_async(password_only_session)(therapist)), 4402
    elif who == "admin":  # nothing is told live to an account that only administers
        socket, code = await presence(await sync_to_async(login_as)(admin)), 4404
    else:
        socket, code = await presence(await sync_to_async(login_as)(therapist), origin="http://evil.example"), 4403
    bye = await receive(socket)
    assert bye["type"] == "bye" and bye["code"] == code
    assert "waiting" not in bye
    closing = await socket.receive_output(timeout=5)
    assert closing == {"type": "websocket.close", "code": code}


async def test_a_questionnaire_that_needs_attention_reaches_the_care_team_at_once(
    chart, therapist, client_user, login_as, make_user, settings
):
    from django.core import mail

    from records.selectors import Access
    from records.services import assessment_assign

    settings.CRISIS_LOCAL_LINE_NAME = "County crisis line"
    settings.CRISIS_LOCAL_LINE_NUMBER = "555-0199"
    assessment = await sync_to_async(assessment_assign)(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, kind="phq9", context=None
    )
    socket = await presence(await sync_to_async(login_as)(therapist))
    await receive(socket)  # nobody waiting
    outsider = await sync_to_async(make_user)(Role.THERAPIST, name="Oz Off")
    other = await presence(await sync_to_async(login_as)(outsider))
    await receive(other)
    client = await sync_to_async(login_as)(client_user)
    answers = {f"item{i}": "0" for i in range(1, 9)} | {"item9": "1"}
    page = await sync_to_async(client.post)(f"/records/assessments/{assessment.pk}/", answers)
    html = page.content.decode()
    assert page.status_code == 200 and 'href="tel:988"' in html and "County crisis line" in html and "555-0199" in html
    alert = await receive(socket)
    assert alert == {"v": 1, "type": "alert", "text": "A questionnaire needs your attention.",
                     "url": f"/records/charts/{chart.pk}/"}  # fmt: skip
    assert await other.receive_nothing(timeout=0.5)  # off the care team: nothing
    [sent] = mail.outbox
    assert sent.subject == "A questionnaire needs your attention" and sent.to == [therapist.email]
    assert (
        client_user.full_name not in sent.body
        and "PHQ" not in sent.body
        and f"/records/charts/{chart.pk}/" in sent.body
    )
    # Without item 9, nothing is sent.
    calm = await sync_to_async(assessment_assign)(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, kind="phq9", context=None
    )
    await sync_to_async(client.post)(
        f"/records/assessments/{calm.pk}/", {f"item{i}": "1" for i in range(1, 10)} | {"item9": "0"}
    )
    assert await socket.receive_nothing(timeout=0.5) and len(mail.outbox) == 1
    await socket.disconnect()
    await other.disconnect()


async def test_a_new_message_reaches_the_open_pages_of_those_in_the_conversation(
    chart, therapist, client_user, login_as, make_user
):
    from messaging.selectors import Reach
    from messaging.services import conversation_start, message_send

    conversation = await sync_to_async(conversation_start)(
        actor=client_user, clients=[client_user], therapist=therapist, context=None
    )
    team = await presence(await sync_to_async(login_as)(therapist))
    await receive(team)  # the waiting list: nobody
    client = await presence(await sync_to_async(login_as)(client_user))
    outsider = await sync_to_async(make_user)(Role.CLIENT, name="Other Client")
    other = await presence(await sync_to_async(login_as)(outsider))
    assert await nothing_arrives(client)  # a client has no waiting list
    await sync_to_async(message_send)(
        actor=client_user, conversation=conversation, reach=Reach.CLIENT, body="Running late today.", context=None
    )
    arrived = await receive(team)
    assert arrived == {"v": 1, "type": "message", "conversation": str(conversation.pk),
                       "url": f"/messages/{conversation.pk}/"}  # fmt: skip
    assert await nothing_arrives(client)  # not to the sender
    assert await nothing_arrives(other)  # nor to anyone outside it
    await sync_to_async(message_send)(
        actor=therapist, conversation=conversation, reach=Reach.THERAPIST, body="No problem.", context=None
    )
    heard = await receive(client)
    assert heard["type"] == "message" and "No problem" not in str(heard) and therapist.full_name not in str(heard)
    for socket in (team, client, other):
        await socket.disconnect()


async def test_an_admission_through_the_socket_reaches_the_therapists_other_pages_after_the_client(
    room, therapist, client_user, login_as
):
    from tests.signaling import admitted_pair

    pages = await presence(await sync_to_async(login_as)(therapist))
    assert len((await receive(pages))["waiting"]) == 1
    host, _, guest, _, _ = await admitted_pair(room, therapist, client_user, login_as)
    # The push is held while the client is told, then sent: her other pages still hear it.
    assert (await receive(pages))["waiting"] == []
    for socket in (pages, host, guest):
        await socket.disconnect()


async def test_pushes_made_while_held_are_handed_back_and_sent_only_when_delivered():
    import asyncio

    from channels.db import database_sync_to_async
    from channels.layers import get_channel_layer
    from django.db import transaction

    from sessions.realtime import deliver, holding_pushes, presence_changed, presence_group

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(presence_group(424242), channel)

    def service() -> str:
        with transaction.atomic():
            presence_changed(424242)
        return "done"

    result, pushes = await database_sync_to_async(holding_pushes)(service)
    assert result == "done" and pushes == [(presence_group(424242), {"type": "presence.changed"})]
    await deliver(pushes)
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "presence.changed"}
    # Not held, a committed push goes at once, as before.
    await database_sync_to_async(service)()
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "presence.changed"}
    # Two pushes made, two received: the held one did not also go out when it was committed.
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.5)
    await layer.group_discard(presence_group(424242), channel)
