"""Janus as the platform runs it for group sessions (deploy/janus/, started by its run.sh): only
the VideoRoom plugin and the HTTP transport, the admin API on loopback, every request needing the
API secret, rooms created only with the platform's admin key, each private and requiring
end-to-end encryption, and only the members' tokens let in (a token taken back keeps its holder
out)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessions.sfu import Janus, SfuError
from tests.browser import ROOT, free_port
from tests.conftest import require_infrastructure


@pytest.fixture(scope="module")
def janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Janus]:
    require_infrastructure("janus (apt-get install janus)", shutil.which("janus") is not None)
    folder = tmp_path_factory.mktemp("janus")
    port, admin = free_port(), free_port()
    env = {
        **os.environ, "JANUS_API_SECRET": secrets.token_hex(16), "JANUS_ADMIN_SECRET": secrets.token_hex(16),
        "JANUS_ROOM_ADMIN_KEY": secrets.token_hex(16), "JANUS_HTTP_PORT": str(port), "JANUS_ADMIN_PORT": str(admin),
        "JANUS_RTP_PORTS": "41000-41999", "JANUS_CONFIG_DIR": str(folder / "config"),
    }  # fmt: skip
    log = open(folder / "janus.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(["bash", str(ROOT / "deploy/janus/run.sh")], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/janus"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/info", timeout=1).read()  # noqa: S310 - the test's own Janus
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (folder / "janus.log").read_text()
                time.sleep(0.2)
        client = Janus(url=url, api_secret=env["JANUS_API_SECRET"], admin_key=env["JANUS_ROOM_ADMIN_KEY"])
        client.admin_url = f"http://127.0.0.1:{admin}/admin"  # type: ignore[attr-defined]
        client.admin_secret = env["JANUS_ADMIN_SECRET"]  # type: ignore[attr-defined]
        client.folder = folder  # type: ignore[attr-defined]
        yield client
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def member_joins(janus: Janus, room: str, token: str) -> dict:
    """What a member's page would do: a session, the VideoRoom, a join with its token; the answer
    comes as an event."""
    session = janus._post("", {"janus": "create"})["data"]["id"]
    handle = janus._post(f"/{session}", {"janus": "attach", "plugin": "janus.plugin.videoroom"})["data"]["id"]
    janus._post(f"/{session}/{handle}", {"janus": "message", "body": {
        "request": "join", "ptype": "publisher", "room": room, "token": token, "display": "member"}})  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with urllib.request.urlopen(  # noqa: S310 - the test's own Janus
            f"{janus.url}/{session}?maxev=1&apisecret={janus.api_secret}", timeout=15
        ) as response:
            event = json.loads(response.read())
        if event.get("janus") == "event":
            return event["plugindata"]["data"]
    raise AssertionError("no answer to the join")


def test_only_the_videoroom_and_the_platforms_api_are_there(janus):
    info = json.loads(urllib.request.urlopen(f"{janus.url}/info", timeout=5).read())  # noqa: S310
    assert list(info["plugins"]) == ["janus.plugin.videoroom"]
    assert list(info["transports"]) == ["janus.transport.http"]
    assert info["api_secret"] is True and info["event_handlers"] is False
    # A request without the API secret is refused; the admin API answers on loopback with its own.
    stranger = Janus(url=janus.url, api_secret="wrong", admin_key="")
    with pytest.raises(SfuError, match="Unauthorized"):
        stranger._post("", {"janus": "create"})
    config = (Path(janus.folder) / "config" / "janus.transport.http.jcfg").read_text()
    assert 'admin_ip = "127.0.0.1"' in config and oct(os.stat(Path(janus.folder) / "config").st_mode)[-3:] == "700"


def test_the_platform_opens_a_private_room_that_requires_end_to_end_encryption(janus):
    room = janus.room_open("group-session-1", tokens=["tok-ana", "tok-ben"])
    settings = janus.room_settings("group-session-1")
    assert settings["require_e2ee"] is True and settings["is_private"] is True and settings["max_publishers"] == 12
    assert settings["record"] is False and settings["lock_record"] is True
    # Only with the admin key: a page that somehow reached the API could not make a room.
    no_key = Janus(url=janus.url, api_secret=janus.api_secret, admin_key="guess")
    with pytest.raises(SfuError):
        no_key.room_open("group-session-2", tokens=[])
    # Members with a token are let in; anyone else, and a member whose token was taken back, not.
    assert member_joins(janus, room.id, "tok-ana").get("videoroom") == "joined"
    assert "error" in member_joins(janus, room.id, "tok-eve")
    janus.room_allow(room, remove=["tok-ben"])
    assert "error" in member_joins(janus, room.id, "tok-ben")
    janus.room_close(room)
    with pytest.raises(SfuError):
        janus.room_settings("group-session-1")
