"""The embedded broker never hands a worker a message that is still being written: a producer and
a worker race on the folder, and every message arrives whole (kombu's own folder transport, in
the same race, hands out empty files, and a worker that reads one stops)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from queue import Empty

import pytest
from kombu import Connection

from teletherapy import broker_files

pytestmark = pytest.mark.embedded


def race(url: str, folder: Path, messages: int = 3000) -> tuple[int, int]:
    """Write ``messages`` while reading them back as fast as possible; (read whole, read broken)."""
    (folder / "processed").mkdir(parents=True, exist_ok=True)  # and the folder itself
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "control_folder": str(folder / "control"),
    }
    writer, reader = Connection(url, transport_options=options), Connection(url, transport_options=options)
    done = threading.Event()

    def write() -> None:
        channel = writer.default_channel
        for n in range(messages):
            channel._put("work", {"n": n, "body": "x" * 2000})
        done.set()

    whole = broken = 0
    thread = threading.Thread(target=write)
    thread.start()
    channel = reader.default_channel
    while not done.is_set() or whole + broken < messages:
        try:
            channel._get("work")
            whole += 1
        except Empty:
            if done.is_set() and not any(p.name.endswith(".work.msg") for p in folder.iterdir()):
                break
        except json.JSONDecodeError:
            broken += 1
    thread.join()
    writer.release()
    reader.release()
    return whole, broken


@pytest.fixture
def slow_encoding(monkeypatch):
    """Encoding a message takes a moment (as a large one does): the time a reader has to find a
    file that was created but not yet written."""
    from kombu.transport import filesystem
    from kombu.utils import json as kombu_json

    def slow(payload, *args, **kwargs):
        time.sleep(0.001)
        return kombu_json.dumps(payload, *args, **kwargs)

    monkeypatch.setattr(filesystem, "dumps", slow)
    monkeypatch.setattr(broker_files, "dumps", slow)


def test_every_message_arrives_whole(tmp_path, slow_encoding):
    broker_files.register()
    assert race("atomicfs://", tmp_path / "ours", messages=1500) == (1500, 0)


def test_the_race_is_real_with_kombus_own_folder_transport(tmp_path, slow_encoding):
    _whole, broken = race("filesystem://", tmp_path / "theirs", messages=1500)
    assert broken > 0, "the race did not happen: the test above would prove nothing"
