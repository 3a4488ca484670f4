"""Backups that restore: both databases dumped and the document store packed, each sealed with
the backup key, and described by a manifest (sizes, SHA-256 digests, each audit chain's head, the
number of documents) that is itself authenticated.

A backup folder holds ``default.sealed``, ``psychotherapy.sealed``, ``documents.sealed`` and
``manifest.json``. A restore checks all of it first (the manifest's MAC, every file's size and
digest, every chunk of every file, the pack's framing) and writes nothing unless everything holds;
it then loads the dumps into empty databases, grants the runtime role its rights, writes the
documents into the empty store, verifies the whole audit trail, compares the chain heads with the
manifest's, and opens every document against its chart.

The key ring is never in a backup: a backup without its key is noise, and a key kept beside its
backup protects nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils import timezone

from audit.models import Action, AuditChainHead, AuditEvent
from audit.services import audit_record
from audit.verify import chains, verify_chain
from operations import documents
from teletherapy import backups, sealed_stream
from teletherapy.context import AuditContext, context_of
from teletherapy.dbroles import connected_as, grants_apply, migration_settings, runtime_role
from teletherapy.keyring import Key, KeyRingError, keyring

MANIFEST = "manifest.json"
DOCUMENTS = "documents.sealed"
FORMAT = 2


class BackupRefused(Exception):
    """The backup cannot be made or restored; nothing was written."""


class Progress:
    """Bytes done, on the terminal: one line rewritten in place, or a line a step for a log."""

    def __init__(self, out: Any, label: str, total: int | None = None) -> None:
        self.out, self.label, self.total = out, label, total
        self.done = 0
        self.started = self._shown = time.monotonic()
        self.tty = hasattr(out, "isatty") and out.isatty()

    def __call__(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._shown >= (0.2 if self.tty else 5.0):
            self._shown = now
            self._show(end="\r" if self.tty else "\n")

    def _show(self, end: str) -> None:
        part = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        rate = self.done / max(time.monotonic() - self.started, 1e-6) / 1e6
        self.out.write(f"  {self.label}: {self.done / 1e6:,.1f} MB{part}, {rate:,.1f} MB/s{end}")
        self.out.flush()

    def finish(self) -> None:
        self._show(end="\n")


class _Counting:
    """A readable stream that reports what passes through it."""

    def __init__(self, stream: sealed_stream.Readable, progress: Progress) -> None:
        self.stream, self.progress = stream, progress

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.progress(len(data))
        return data


def _backup_key(key_id: str | None = None) -> Key:
    ring = keyring()
    try:
        key = ring.current("backup") if key_id is None else ring.get("backup", key_id)
    except KeyRingError as error:
        raise BackupRefused(str(error)) from None
    if key is None:
        raise BackupRefused(f"the backup was sealed with backup key {key_id!r}, which is not on this key ring")
    return key


def _manifest_mac(key: Key, body: dict[str, Any]) -> str:
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key.secret, b"teletherapy backup manifest\n" + data, hashlib.sha256).hexdigest()


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def heads() -> list[dict[str, Any]]:
    return [
        {"chain": chain, "seq": seq, "mac": mac, "digest": digest}
        for chain, seq, mac, digest in AuditChainHead.objects.order_by("chain").values_list(
            "chain", "seq", "mac", "digest"
        )
    ]


def backup_create(dest: Path, *, out: Any = sys.stdout) -> dict[str, Any]:
    """Dump and seal both databases into ``dest`` (a new or empty folder); returns the manifest."""
    key = _backup_key()
    if dest.exists() and any(dest.iterdir()):
        raise BackupRefused(f"{dest} is not empty: give a new folder for each backup")
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = time.monotonic()
    # The heads first: the dump holds at least these events (it is taken afterwards).
    body: dict[str, Any] = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        "key_id": key.key_id,
        "heads": heads(),
        "events": AuditEvent.objects.count(),
        "files": {},
    }
    for alias in settings.DATABASES:
        name = f"{alias}.sealed"
        progress = Progress(out, f"{alias} database")
        with backups.dump(alias) as stream, open(dest / name, "wb") as target:
            plain = sealed_stream.seal(
                _Counting(stream, progress), target, key=key, header={"database": backups.describe(alias)}
            )
            target.flush()
            os.fsync(target.fileno())
        progress.finish()
        body["files"][alias] = {
            "name": name,
            "bytes": (dest / name).stat().st_size,
            "plain_bytes": plain,
            "sha256": _digest(dest / name),
            **backups.describe(alias),
        }
    # The documents after the dumps: every row the dumps hold names a file that is still there.
    progress = Progress(out, "documents")
    pack = documents.Pack(documents.stored_names())
    with open(dest / DOCUMENTS, "wb") as target:
        plain = sealed_stream.seal(
            _Counting(pack, progress), target, key=key, header={"holds": "document store", "store": "documents"}
        )
        target.flush()
        os.fsync(target.fileno())
    progress.finish()
    body["documents"] = {
        "name": DOCUMENTS,
        "count": pack.count,
        "bytes": (dest / DOCUMENTS).stat().st_size,
        "plain_bytes": plain,
        "sha256": _digest(dest / DOCUMENTS),
    }
    body["seconds"] = round(time.monotonic() - started, 3)
    manifest = {**body, "mac": _manifest_mac(key, body)}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    # That a backup was made, and when (the fact sheet says so): never where it went.
    audit_record(
        action=Action.BACKUP_MADE,
        context=context_of(AuditContext.background("command", "backup")),
        details={"events": body["events"], "bytes": backup_bytes(manifest), "documents": pack.count},
    )
    return manifest


def backup_bytes(manifest: dict[str, Any]) -> int:
    """The sealed bytes a backup holds, all files together."""
    held = list(manifest["files"].values()) + ([manifest["documents"]] if manifest.get("documents") else [])
    return sum(int(f["bytes"]) for f in held)


def manifest_digest(folder: Path) -> str:
    return _digest(folder / MANIFEST)


@dataclass
class RestoreReport:
    seconds: float
    bytes: int
    events: int
    chains: int
    documents: int = 0
    problems: list[str] = field(default_factory=list)


def backup_check(src: Path, *, out: Any = sys.stdout) -> dict[str, Any]:
    """Everything about the backup that can be checked without writing: raise BackupRefused."""
    try:
        manifest = json.loads((src / MANIFEST).read_text())
        body = {k: v for k, v in manifest.items() if k != "mac"}
        mac = str(manifest["mac"])
        key_id = str(manifest["key_id"])
        files = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BackupRefused(f"{src / MANIFEST} is missing or unreadable: {error}") from None
    key = _backup_key(key_id)
    if not hmac.compare_digest(_manifest_mac(key, body), mac):
        raise BackupRefused("the manifest was changed, or made with a different backup key")
    if set(files) != set(settings.DATABASES):
        raise BackupRefused(f"the backup holds {sorted(files)}; this installation has {sorted(settings.DATABASES)}")
    for alias, described in files.items():
        _file_check(src, described, f"checking {alias}", out)
        if described.get("vendor") != backups.vendor(alias):
            raise BackupRefused(
                f"the {alias!r} dump is of {described.get('vendor')}; this installation uses {backups.vendor(alias)}"
            )
    held = manifest.get("documents")
    if held is None and int(manifest.get("format", 1)) >= 2:
        raise BackupRefused("the manifest does not describe the documents this backup should hold")
    if held is not None:
        _file_check(src, held, "checking documents", out, chunks=False)
        progress = Progress(out, "checking documents", total=int(held["plain_bytes"]))
        try:
            names = documents.pack_names(_chunks(src / str(held["name"]), progress))
        except sealed_stream.SealedStreamError as error:
            raise BackupRefused(f"{src / str(held['name'])}: {error}") from None
        except documents.PackDamaged as error:
            raise BackupRefused(str(error)) from None
        progress.finish()
        if len(names) != int(held["count"]):
            raise BackupRefused(f"the documents' pack holds {len(names)} files; the manifest says {held['count']}")
    return manifest


def _file_check(src: Path, described: dict[str, Any], label: str, out: Any, *, chunks: bool = True) -> None:
    path = src / str(described["name"])
    if not path.exists():
        raise BackupRefused(f"{path} is missing")
    if path.stat().st_size != described["bytes"]:
        raise BackupRefused(
            f"{path} is {path.stat().st_size} bytes, not {described['bytes']}: it was cut off or changed"
        )
    if _digest(path) != described["sha256"]:
        raise BackupRefused(f"{path} does not match its SHA-256 digest in the manifest: it was changed")
    if not chunks:
        return
    progress = Progress(out, label, total=int(described["plain_bytes"]))
    with open(path, "rb") as handle:
        try:
            for chunk in sealed_stream.open_chunks(handle, keyring()):
                progress(len(chunk))
        except sealed_stream.SealedStreamError as error:
            raise BackupRefused(f"{path}: {error}") from None
    progress.finish()


def _chunks(path: Path, progress: Progress) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        for chunk in sealed_stream.open_chunks(handle, keyring()):
            progress(len(chunk))
            yield chunk


def backup_restore(src: Path, *, out: Any = sys.stdout) -> RestoreReport:
    """Restore a checked backup into empty databases, then verify what was restored."""
    started = time.monotonic()
    manifest = backup_check(src, out=out)
    for alias in settings.DATABASES:
        with connected_as(alias, migration_settings(alias)):
            if not backups.is_empty(alias):
                raise BackupRefused(
                    f"the {alias!r} database is not empty: restore only into new, empty databases "
                    "(create them, do not migrate them)"
                )
    if manifest.get("documents") and not documents.store_is_empty():
        raise BackupRefused("the document store is not empty: restore only into a new, empty document store")
    total = 0
    for alias, described in manifest["files"].items():
        progress = Progress(out, f"restoring {alias}", total=int(described["plain_bytes"]))
        with connected_as(alias, migration_settings(alias)) as connection:
            total += backups.restore(alias, _chunks(src / described["name"], progress))
            role = runtime_role(alias)
            owner = migration_settings(alias)
            if owner and connection.vendor == "postgresql" and role and role != owner.get("USER"):
                grants_apply(connection, role)
        progress.finish()
    for alias in settings.DATABASES:
        connections[alias].close()
    held = manifest.get("documents")
    if held:
        progress = Progress(out, "restoring documents", total=int(held["plain_bytes"]))
        try:
            documents.unpack(_chunks(src / str(held["name"]), progress))
        except documents.PackDamaged as error:
            raise BackupRefused(str(error)) from None
        progress.finish()
        total += int(held["plain_bytes"])
    problems = []
    stored = {head["chain"]: head for head in heads()}
    for head in manifest["heads"]:
        now = stored.get(head["chain"])
        if now is None:
            problems.append(f"chain {head['chain']}: its head is missing after the restore")
        elif now["seq"] < head["seq"] or (now["seq"] == head["seq"] and now["mac"] != head["mac"]):
            problems.append(f"chain {head['chain']}: the head is at #{now['seq']}; the manifest says #{head['seq']}")
    events = 0
    checked = chains()
    for chain in checked:
        report = verify_chain(chain=chain)
        events += report.events
        if not report.intact:
            assert report.problem is not None
            problems.append(f"chain {chain}: {report.problem.kind} at #{report.problem.seq}: {report.problem.detail}")
    opened = documents.documents_verify()
    problems.extend(opened.problems)
    return RestoreReport(
        seconds=time.monotonic() - started,
        bytes=total,
        events=events,
        chains=len(checked),
        documents=opened.opened,
        problems=problems,
    )
