"""A sealed stream: a file encrypted with AES-256-GCM in chunks, so that memory stays flat
whatever its size, and no chunk can be changed, dropped, moved or cut off unseen.

Layout: the magic line, a header (its length, then JSON: format version, key id, what the file
holds), then chunks, each its length and AES-GCM ciphertext with tag. A chunk's nonce is the
file's random prefix, the chunk's number and whether it is the last; the header is its
associated data. So a reordered chunk fails (its number), a truncated file fails (no chunk
marked last), a file sealed under another key fails (the tag), and a changed header fails
(every chunk's tag).

Readers check everything before they hand anything on: ``check`` reads the whole stream and
returns its header, or raises SealedStreamError; ``open_chunks`` yields plaintext chunk by chunk,
and should be used only on a stream ``check`` accepted (a restore checks first, then writes).
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Iterator
from typing import IO, Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from teletherapy.keyring import Key, KeyRing

MAGIC = b"teletherapy-sealed-stream 1\n"
CHUNK = 1024 * 1024
_LENGTH = struct.Struct(">I")
_PREFIX_BYTES = 7


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class SealedStreamError(Exception):
    """The stream is not one of ours, was changed or cut off, or was sealed under another key."""


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", number) + (b"\x01" if last else b"\x00")


def seal(source: Readable, target: IO[bytes], *, key: Key, header: dict[str, Any]) -> int:
    """Seal everything ``source`` yields into ``target``; returns the plaintext byte count."""
    prefix = os.urandom(_PREFIX_BYTES)
    header_bytes = json.dumps(
        {**header, "version": 1, "key_id": key.key_id, "nonce_prefix": prefix.hex()}, sort_keys=True
    ).encode()
    target.write(MAGIC + _LENGTH.pack(len(header_bytes)) + header_bytes)
    cipher = AESGCM(key.secret)
    total = number = 0
    pending = source.read(CHUNK)
    while True:
        following = source.read(CHUNK) if pending else b""
        last = not following
        sealed = cipher.encrypt(_nonce(prefix, number, last), pending, header_bytes)
        target.write(_LENGTH.pack(len(sealed)) + sealed)
        total += len(pending)
        number += 1
        if last:
            return total
        pending = following


def _read_exact(source: IO[bytes], size: int, what: str) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise SealedStreamError(f"the file ends in the middle of {what}: it was cut off")
    return data


def read_header(source: IO[bytes]) -> tuple[dict[str, Any], bytes]:
    if source.read(len(MAGIC)) != MAGIC:
        raise SealedStreamError("this is not a sealed backup file of this platform")
    (length,) = _LENGTH.unpack(_read_exact(source, _LENGTH.size, "its header"))
    if length > 64 * 1024:
        raise SealedStreamError("the header is implausibly long: the file is damaged")
    raw = _read_exact(source, length, "its header")
    try:
        header = json.loads(raw)
        bytes.fromhex(header["nonce_prefix"])
        str(header["key_id"])
    except (ValueError, KeyError, TypeError):
        raise SealedStreamError("the header is not readable: the file is damaged") from None
    return header, raw


def open_chunks(source: IO[bytes], ring: KeyRing, purpose: str = "backup") -> Iterator[bytes]:
    """The plaintext, chunk by chunk; raises SealedStreamError at the first chunk that fails."""
    header, raw = read_header(source)
    key = ring.get(purpose, header["key_id"])
    if key is None:
        raise SealedStreamError(
            f"the file was sealed with backup key {header['key_id']!r}, which is not on this key ring"
        )
    cipher = AESGCM(key.secret)
    prefix = bytes.fromhex(header["nonce_prefix"])
    number = 0
    while True:
        head = source.read(_LENGTH.size)
        if not head:
            raise SealedStreamError(f"the file ends after chunk {number} without its last chunk: it was cut off")
        if len(head) != _LENGTH.size:
            raise SealedStreamError("the file ends in the middle of a chunk: it was cut off")
        (length,) = _LENGTH.unpack(head)
        if length > CHUNK + 64:
            raise SealedStreamError(f"chunk {number} is implausibly long: the file is damaged")
        sealed = _read_exact(source, length, f"chunk {number}")
        for last in (False, True):
            try:
                plain = cipher.decrypt(_nonce(prefix, number, last), sealed, raw)
            except InvalidTag:
                continue
            yield plain
            if last:
                if source.read(1):
                    raise SealedStreamError("there is data after the last chunk: the file was changed")
                return
            break
        else:
            raise SealedStreamError(
                f"chunk {number} does not open with backup key {header['key_id']!r}: "
                "the file was changed, or sealed with a different key of the same id"
            )
        number += 1


def check(source: IO[bytes], ring: KeyRing, purpose: str = "backup") -> tuple[dict[str, Any], int]:
    """Read the whole stream without keeping any of it: its header and plaintext size."""
    header, _ = read_header(source)
    source.seek(0)
    size = sum(len(chunk) for chunk in open_chunks(source, ring, purpose))
    return header, size


def write_all(chunks: Iterable[bytes], target: IO[bytes]) -> int:
    total = 0
    for chunk in chunks:
        target.write(chunk)
        total += len(chunk)
    return total
