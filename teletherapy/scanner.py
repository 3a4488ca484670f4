"""Virus scanning with ClamAV's daemon, over its own protocol (INSTREAM on a Unix socket or TCP).

The file is streamed to clamd in chunks, so nothing is held whole in memory. clamd answers
``stream: OK``, ``stream: <signature> FOUND`` or an error; anything other than a clear OK or a
clear FOUND is a failure to scan, and the caller refuses the file (fail closed).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

CHUNK = 64 * 1024


class ScannerUnavailable(Exception):
    """clamd could not be reached, or gave no clear answer."""


@dataclass(frozen=True)
class Verdict:
    clean: bool
    signature: str = ""


def configured() -> bool:
    return bool(settings.CLAMD_SOCKET or settings.CLAMD_ADDRESS)


def _connect() -> socket.socket:
    timeout = settings.CLAMD_TIMEOUT_SECONDS
    try:
        if settings.CLAMD_SOCKET:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(timeout)
            conn.connect(settings.CLAMD_SOCKET)
            return conn
        host, _, port = str(settings.CLAMD_ADDRESS).rpartition(":")
        return socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout)
    except (OSError, ValueError) as error:
        raise ScannerUnavailable(f"clamd is not reachable: {error}") from None


def scan(chunks: Iterable[bytes]) -> Verdict:
    """Stream ``chunks`` to clamd and return its verdict; raises ScannerUnavailable."""
    if not configured():
        raise ScannerUnavailable("no virus scanner is configured (CLAMD_SOCKET or CLAMD_ADDRESS)")
    with _connect() as conn:
        try:
            conn.sendall(b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), CHUNK):
                    piece = chunk[start : start + CHUNK]
                    conn.sendall(struct.pack(">I", len(piece)) + piece)
            conn.sendall(struct.pack(">I", 0))
            answer = b""
            while not answer.endswith(b"\0"):
                data = conn.recv(4096)
                if not data:
                    break
                answer += data
        except OSError as error:
            # clamd closes the stream early when it is over its StreamMaxLength.
            raise ScannerUnavailable(f"the scan did not finish: {error}") from None
    text = answer.rstrip(b"\0").decode("utf-8", "replace").strip()
    if text == "stream: OK":
        return Verdict(clean=True)
    if text.startswith("stream: ") and text.endswith(" FOUND"):
        return Verdict(clean=False, signature=text[len("stream: ") : -len(" FOUND")])
    raise ScannerUnavailable(f"clamd gave no verdict: {text or 'nothing'}")


def answers() -> bool:
    """Whether the configured clamd answers a PING (for readiness); False when none is configured."""
    if not configured():
        return False
    try:
        with _connect() as conn:
            conn.sendall(b"zPING\0")
            return conn.recv(16).rstrip(b"\0\n") == b"PONG"
    except (OSError, ScannerUnavailable):
        return False
