"""The sealed stream backups are written in: every kind of damage is refused, memory stays flat."""

from __future__ import annotations

import io
import os
import struct

import pytest

from teletherapy import sealed_stream
from teletherapy.keyring import PURPOSES, Key, KeyRing
from teletherapy.sealed_stream import CHUNK, SealedStreamError

pytestmark = pytest.mark.embedded


def ring(secret: bytes) -> KeyRing:
    import base64

    entry = [{"id": "bac1", "key": base64.b64encode(secret).decode()}]
    other = [{"id": "x1", "key": base64.b64encode(os.urandom(32)).decode()}]
    return KeyRing({p: (entry if p == "backup" else other) for p in PURPOSES})


SECRET = os.urandom(32)
RING = ring(SECRET)
PLAIN = os.urandom(CHUNK * 2 + 12345)  # three chunks, the last one short


def sealed(plain: bytes = PLAIN) -> bytes:
    out = io.BytesIO()
    sealed_stream.seal(io.BytesIO(plain), out, key=Key("bac1", SECRET), header={"database": {"alias": "default"}})
    return out.getvalue()


def opened(data: bytes, keys: KeyRing = RING) -> bytes:
    return b"".join(sealed_stream.open_chunks(io.BytesIO(data), keys))


def chunks(data: bytes) -> tuple[bytes, list[bytes]]:
    """The header part and each chunk (with its length prefix)."""
    start = len(sealed_stream.MAGIC)
    (length,) = struct.unpack(">I", data[start : start + 4])
    at = start + 4 + length
    head, parts = data[:at], []
    while at < len(data):
        (size,) = struct.unpack(">I", data[at : at + 4])
        parts.append(data[at : at + 4 + size])
        at += 4 + size
    return head, parts


def test_a_stream_opens_to_what_was_sealed_and_reports_its_size():
    data = sealed()
    assert opened(data) == PLAIN and PLAIN[:4096] not in data
    header, size = sealed_stream.check(io.BytesIO(data), RING)
    assert size == len(PLAIN) and header["key_id"] == "bac1" and header["database"] == {"alias": "default"}
    assert opened(sealed(b"")) == b""


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda h, c: h + c[0] + c[1], "without its last chunk"),  # the last chunk cut off
        (lambda h, c: h + c[0] + c[2][: len(c[2]) // 2], "cut off"),  # cut in the middle of a chunk
        (lambda h, c: h + c[1] + c[0] + c[2], "does not open"),  # chunks swapped
        (lambda h, c: h + c[0] + c[2], "does not open"),  # a middle chunk dropped
        (lambda h, c: h + c[0] + c[1][:-1] + bytes([c[1][-1] ^ 1]) + c[2], "does not open"),  # a bit flipped
        (lambda h, c: h.replace(b'"alias": "default"', b'"alias": "defaulx"') + b"".join(c), "does not open"),
        (lambda h, c: h + b"".join(c) + c[2], "after the last chunk"),
        (lambda h, c: b"not a backup" + h + b"".join(c), "not a sealed backup file"),
    ],
    ids=[
        "last-chunk-cut",
        "cut-mid-chunk",
        "swapped",
        "dropped",
        "bit-flipped",
        "header-changed",
        "appended",
        "foreign",
    ],
)
def test_every_kind_of_damage_is_refused(damage, says):
    head, parts = chunks(sealed())
    assert len(parts) == 3
    with pytest.raises(SealedStreamError, match=says):
        opened(damage(head, parts))


def test_another_key_is_refused():
    with pytest.raises(SealedStreamError, match="does not open"):
        opened(sealed(), ring(os.urandom(32)))
