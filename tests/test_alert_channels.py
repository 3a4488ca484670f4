"""A clinical alert goes only to people who can open what it points to, on every channel it takes:
the home page's card, the live push to open pages, and the e-mail. An account holding the admin
role never reads clinical content, so it is told nothing even when it is also on the care team."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from accounts.models import Role
from records.selectors import Access
from records.services import assessment_assign
from tests.signaling import open_socket, receive

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_an_alert_reaches_the_therapist_and_not_an_admin_on_the_same_care_team(
    chart, therapist, client_user, login_as, make_user
):
    from django.core import mail

    director = await sync_to_async(make_user)(Role.THERAPIST, name="Dana Director")
    await sync_to_async(grant_admin)(director)
    await sync_to_async(chart.care_team.add)(director)
    assessment = await sync_to_async(assessment_assign)(
        actor=therapist, chart=chart, access=Access.CARE_TEAM, kind="phq9", context=None
    )
    sockets = {}
    for who, person in (("therapist", therapist), ("director", director)):
        sockets[who] = await open_socket(None, await sync_to_async(login_as)(person), path="/ws/presence/")
        await receive(sockets[who])  # nobody waiting
    client = await sync_to_async(login_as)(client_user)
    answers = {f"item{i}": "0" for i in range(1, 9)} | {"item9": "2"}
    assert (await sync_to_async(client.post)(f"/records/assessments/{assessment.pk}/", answers)).status_code == 200

    # Live push: the therapist's pages; nothing for the admin's.
    assert (await receive(sockets["therapist"]))["type"] == "alert"
    assert await sockets["director"].receive_nothing(timeout=0.5)
    # E-mail: the therapist only.
    assert [m.to for m in mail.outbox] == [[therapist.email]]
    # Home card: the therapist's home names the questionnaire; the admin's does not.
    mine = (await sync_to_async((await sync_to_async(login_as)(therapist)).get)("/")).content.decode()
    theirs = (await sync_to_async((await sync_to_async(login_as)(director)).get)("/")).content.decode()
    assert "Needs attention" in mine and client_user.full_name in mine
    assert "Needs attention" not in theirs and "PHQ-9 (depression) from" not in theirs
    # And indeed the admin cannot open the questionnaires it would have pointed to.
    director_browser = await sync_to_async(login_as)(director)
    listed = await sync_to_async(director_browser.get)(f"/api/v1/records/charts/{chart.pk}/assessments/")
    assert listed.status_code in (403, 404)
    page = (await sync_to_async(director_browser.get)(f"/records/charts/{chart.pk}/")).content.decode()
    assert f"/records/assessments/{assessment.pk}/" not in page
    for socket in sockets.values():
        await socket.disconnect()


def grant_admin(user) -> None:
    from accounts.models import RoleGrant

    RoleGrant.objects.get_or_create(user=user, role=Role.ADMIN)


async def test_the_live_push_of_an_alert_reaches_exactly_the_clinical_readers_among_every_persona():
    """Every persona of the access matrix with a presence socket open (those who get one: staff
    who see clients, clients, guardians); a PHQ-9 with item 9 above 0 for the adult and then the
    minor: only the care team's therapist hears it."""
    from records.models import ClientChart
    from records.selectors import clinical_readers
    from records.services import assessment_submit
    from tests.access_world import ADULT_PERSONAS, MINOR_PERSONAS, TEAM, build, signed_in

    adult, minor = await sync_to_async(build)()
    for subject, personas in ((adult, ADULT_PERSONAS), (minor, MINOR_PERSONAS)):
        chart = await sync_to_async(ClientChart.objects.get)(pk=subject.objects["chart_id"])
        readers = {u.pk for u in await sync_to_async(clinical_readers)(chart=chart)}
        assert readers == {subject.people[TEAM].pk}
        sockets = {}
        for persona in personas:
            user = subject.people[persona]
            socket = await open_socket(None, await sync_to_async(signed_in)(user), path="/ws/presence/")
            roles = set(await sync_to_async(user.role_names)())
            if not roles & {"therapist", "client", "guardian"}:
                assert (await receive(socket))["type"] == "bye"  # an admin only: no live pages
                continue
            if "therapist" in roles:
                assert (await receive(socket))["type"] == "presence"  # who is waiting: nobody
            sockets[persona] = socket
        team = subject.people[TEAM]
        assessment = await sync_to_async(assessment_assign)(
            actor=team, chart=chart, access=Access.CARE_TEAM, kind="phq9", context=None
        )
        await sync_to_async(assessment_submit)(
            actor=subject.client, assessment=assessment, answers=[0] * 8 + [1], context=None
        )
        for persona, socket in sockets.items():
            if subject.people[persona].pk in readers:
                assert (await receive(socket))["type"] == "alert", persona
            else:
                assert await socket.receive_nothing(timeout=0.3), persona
            await socket.disconnect()
