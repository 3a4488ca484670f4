"""The embedded default's task broker: kombu's folder transport, with each message written whole
before it can be seen.

kombu's own transport creates a message's file under its final name and then writes into it; a
worker polling the folder at that instant moves the empty file away, fails to decode it and
stops, taking the demo's web process with it (scripts/run.sh stops everything when a part
exits). Here a message is written under a name no reader picks up (it starts with a dot), then
renamed into place, which is atomic on one file system. Registered as the ``atomicfs``
transport, which the settings name for the embedded broker."""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

NAME = "atomicfs"


class Channel(filesystem.Channel):
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]  # as kombu's own
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def register() -> None:
    TRANSPORT_ALIASES[NAME] = f"{__name__}:Transport"
