"""The signaling protocol, version 1: typed JSON messages, each validated and bounded.

From a browser: join, offer, answer, ice, verify, leave, admit, remove, end, ping.
From the server: welcome, waiting, waiting-gone, admitted, peer-joined, peer-left, offer,
answer, ice, verify, pong, error, bye.

``verify`` carries the three steps of the security code's commitment between two peers (see
static/js/call/security_code.js and the README's "The security code"): ``commit`` (a hash),
then ``nonce`` and ``open`` (a certificate fingerprint and a nonce each). The server only checks
their shape and relays them; it cannot compute a code.

Offers and answers must negotiate DTLS: an SDP without a DTLS fingerprint for every media
section, with an RTP profile that is not secured by DTLS, or with ``a=crypto`` (SDES keys,
which the signaling server could read) is refused.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from teletherapy.parsers import JSONTooDeep, loads_bounded

VERSION = 1
MAX_MESSAGE_BYTES = 64 * 1024
PEER_ID = re.compile(r"[0-9a-f]{16}")
FINGERPRINT = re.compile(r"a=fingerprint:(sha-1|sha-224|sha-256|sha-384|sha-512) [0-9a-f]{2}(:[0-9a-f]{2}){15,63}")

# type -> (required fields, optional fields)
FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "join": (frozenset(), frozenset()),
    "offer": (frozenset({"to", "sdp"}), frozenset()),
    "answer": (frozenset({"to", "sdp"}), frozenset()),
    "ice": (frozenset({"to", "candidate"}), frozenset()),
    "verify": (frozenset({"to", "step"}), frozenset({"hash", "fingerprint", "nonce"})),
    "leave": (frozenset(), frozenset()),
    "admit": (frozenset({"peer"}), frozenset()),
    "remove": (frozenset({"peer"}), frozenset()),
    "end": (frozenset(), frozenset()),
    "ping": (frozenset(), frozenset({"t"})),
    # This side chose audio only, or went back to video: the medium the session is held in.
    "medium": (frozenset({"audio_only"}), frozenset()),
}
RELAYED = frozenset({"offer", "answer", "ice", "verify"})
# What each step of a verify message carries, and the form of each field.
VERIFY_STEPS: dict[str, frozenset[str]] = {
    "commit": frozenset({"hash"}),
    "nonce": frozenset({"fingerprint", "nonce"}),
    "open": frozenset({"fingerprint", "nonce"}),
}
VERIFY_FIELDS = {
    "hash": re.compile(r"[0-9a-f]{64}"),
    "nonce": re.compile(r"[0-9a-f]{64}"),
    "fingerprint": re.compile(r"[0-9A-F]{2}(:[0-9A-F]{2}){31}"),
}
CANDIDATE_KEYS = frozenset({"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"})


class ProtocolError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Message:
    type: str
    data: dict[str, Any]


def parse(text: str) -> Message:
    if len(text) > MAX_MESSAGE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", f"A message may be at most {MAX_MESSAGE_BYTES // 1024} KiB.")
    try:
        data = loads_bounded(text)
    except JSONTooDeep as exc:
        raise ProtocolError("bad_json", str(exc)) from None
    except ValueError:
        raise ProtocolError("bad_json", "The message is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "A message is a JSON object.")
    if data.get("v") != VERSION or isinstance(data.get("v"), bool):
        raise ProtocolError("bad_version", f"This server speaks protocol version {VERSION}.")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in FIELDS:
        raise ProtocolError("unknown_type", "Unknown message type.")
    required, optional = FIELDS[kind]
    present = set(data) - {"v", "type"}
    if missing := required - present:
        raise ProtocolError("bad_message", f"A {kind} message needs: {', '.join(sorted(missing))}.")
    if extra := present - required - optional:
        raise ProtocolError("bad_message", f"Unexpected fields in a {kind} message: {', '.join(sorted(extra))}.")
    for field in ("to", "peer"):
        if field in data and not (isinstance(data[field], str) and PEER_ID.fullmatch(data[field])):
            raise ProtocolError("bad_peer", "That is not a participant id.")
    if kind in ("offer", "answer"):
        check_sdp(data["sdp"])
    elif kind == "ice":
        check_candidate(data["candidate"])
    elif kind == "verify":
        check_verify(data)
    elif kind == "medium" and not isinstance(data["audio_only"], bool):
        raise ProtocolError("bad_message", "A medium message's audio_only is true or false.")
    elif kind == "ping" and "t" in data:
        t = data["t"]
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            raise ProtocolError("bad_message", "A ping's t is a number.")
    return Message(type=kind, data=data)


def check_sdp(sdp: object) -> None:
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise ProtocolError("bad_sdp", "The session description is not SDP.")
    lines = [line.strip() for line in sdp.replace("\r\n", "\n").split("\n") if line.strip()]
    sections: list[list[str]] = [[]]
    for line in lines:
        if "\x00" in line:
            raise ProtocolError("bad_sdp", "The session description holds a character SDP does not allow.")
        if line.lower().startswith("a=crypto:"):
            raise ProtocolError("sdes_refused", "Keys in the description (a=crypto) are refused: only DTLS is allowed.")
        if line.startswith("m="):
            sections.append([])
        sections[-1].append(line)
    session_level, media = sections[0], sections[1:]
    if not media:
        raise ProtocolError("bad_sdp", "The session description has no media.")

    def has_fingerprint(block: list[str]) -> bool:
        return any(FINGERPRINT.fullmatch(line.lower()) for line in block)

    session_fingerprint = has_fingerprint(session_level)
    for block in media:
        parts = block[0].split()
        proto = parts[2] if len(parts) > 2 else ""
        if "TLS" not in proto.upper():
            raise ProtocolError("no_dtls", "Every media section must be secured with DTLS.")
        if not (session_fingerprint or has_fingerprint(block)):
            raise ProtocolError("no_fingerprint", "The description has no DTLS fingerprint.")


def check_verify(data: dict[str, Any]) -> None:
    step = data["step"]
    if not isinstance(step, str) or step not in VERIFY_STEPS:
        raise ProtocolError("bad_verify", "A verify step is commit, nonce or open.")
    carried = set(data) & set(VERIFY_FIELDS)
    if carried != VERIFY_STEPS[step]:
        raise ProtocolError("bad_verify", f"A verify {step} carries: {', '.join(sorted(VERIFY_STEPS[step]))}.")
    for field in carried:
        value = data[field]
        if not isinstance(value, str) or not VERIFY_FIELDS[field].fullmatch(value):
            raise ProtocolError("bad_verify", f"The verify message's {field} is not valid.")


def check_candidate(candidate: object) -> None:
    if candidate is None:  # end of candidates
        return
    if not isinstance(candidate, dict) or not set(candidate) <= CANDIDATE_KEYS or "candidate" not in candidate:
        raise ProtocolError("bad_candidate", "An ICE candidate is an object with a candidate line.")
    line = candidate["candidate"]
    if not isinstance(line, str) or len(line) > 1024 or any(c in line for c in "\r\n\x00"):
        raise ProtocolError("bad_candidate", "The candidate line is not valid.")
    if line and not line.startswith("candidate:"):
        raise ProtocolError("bad_candidate", "The candidate line is not valid.")
    mid = candidate.get("sdpMid")
    if mid is not None and (not isinstance(mid, str) or len(mid) > 64):
        raise ProtocolError("bad_candidate", "sdpMid is not valid.")
    index = candidate.get("sdpMLineIndex")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 256):
        raise ProtocolError("bad_candidate", "sdpMLineIndex is not valid.")
    fragment = candidate.get("usernameFragment")
    if fragment is not None and (not isinstance(fragment, str) or len(fragment) > 256):
        raise ProtocolError("bad_candidate", "usernameFragment is not valid.")


def encode(kind: str, **fields: Any) -> str:
    return json.dumps({"v": VERSION, "type": kind, **fields}, separators=(",", ":"))
