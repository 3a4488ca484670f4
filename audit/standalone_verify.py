#!/usr/bin/env python3
"""Verify an exported audit log with nothing but the public key: no database, no secrets.

    python audit/standalone_verify.py --public-key public_key.pem \\
        --checkpoints checkpoints.json --events events.jsonl

It checks that every checkpoint carries a valid Ed25519 signature, that the events run without
gaps and each links to the one before, and that the public SHA-256 digest chain recomputed from
the events reaches exactly the digest each checkpoint signed. It needs only the standard library
and the `cryptography` package, and exits 0 only for an intact log.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

sys.path.insert(0, str(Path(__file__).resolve().parent))
from canonical import CONTENT_FIELDS, GENESIS, next_digest


def checkpoint_message(cp: dict[str, Any]) -> bytes:
    body = {k: cp[k] for k in ("chain", "seq", "head_mac", "head_digest", "created_at", "key_id")}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def verify(public_key_pem: bytes, checkpoints: list[dict[str, Any]], events: list[dict[str, Any]]) -> tuple[bool, str]:
    key = load_pem_public_key(public_key_pem)
    if not isinstance(key, Ed25519PublicKey):
        return False, "the public key is not an Ed25519 key"
    for cp in checkpoints:
        try:
            key.verify(bytes.fromhex(cp["signature"]), checkpoint_message(cp))
        except (InvalidSignature, ValueError, KeyError, TypeError):
            return False, f"checkpoint at #{cp.get('seq')} of chain {cp.get('chain')}: signature is not valid"
    by_chain: dict[int, dict[int, dict[str, Any]]] = {}
    for cp in checkpoints:
        by_chain.setdefault(int(cp["chain"]), {})[int(cp["seq"])] = cp
    chains: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        chains.setdefault(int(event["chain"]), []).append(event)
    for chain in sorted(set(chains) | set(by_chain)):
        expected_seq, prev_mac, digest = 1, GENESIS, GENESIS
        signed = by_chain.get(chain, {})
        for event in sorted(chains.get(chain, []), key=lambda e: e["seq"]):
            if event["seq"] != expected_seq:
                return False, f"chain {chain}: deleted at #{expected_seq} (next exported event is #{event['seq']})"
            if event["prev_mac"] != prev_mac:
                return (
                    False,
                    f"chain {chain}: inserted or reordered at #{event['seq']} (does not follow #{expected_seq - 1})",
                )
            content = {name: event[name] for name in CONTENT_FIELDS}
            digest = next_digest(digest, content, event["mac"])
            vouched = signed.get(event["seq"])
            if vouched is not None and (vouched["head_digest"] != digest or vouched["head_mac"] != event["mac"]):
                return (
                    False,
                    f"chain {chain}: modified at or before #{event['seq']} (differs from the signed checkpoint)",
                )
            prev_mac = event["mac"]
            expected_seq += 1
        newest = max(signed, default=0)
        if newest >= expected_seq:
            return False, f"chain {chain}: truncated at #{expected_seq} (a signed checkpoint vouches for #{newest})"
    return True, f"{len(events)} events and {len(checkpoints)} signed checkpoints verified"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--public-key", required=True, type=Path)
    parser.add_argument("--checkpoints", required=True, type=Path)
    parser.add_argument("--events", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        checkpoints = json.loads(args.checkpoints.read_text())
        events = [json.loads(line) for line in args.events.read_text().splitlines() if line.strip()]
        ok, message = verify(args.public_key.read_bytes(), checkpoints, events)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"cannot read the export: {error}", file=sys.stderr)
        return 2
    print(("OK: " if ok else "FAILED: ") + message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
