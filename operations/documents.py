"""The document store in a backup: every stored file a chart's document row names, packed into one
stream and sealed with the backup key in the same chunked format as the databases' dumps.

The files are already sealed with the field key (records/files.py), so the store never holds
plaintext and neither does the pack. The pack is a plain framing: for each file, one line of JSON
(``{"name": ..., "bytes": ...}``) and then exactly that many bytes. It is read and written
through the storage API, so the same code serves the local disk and an S3 bucket.

After a restore, ``documents_verify`` opens every document the restored database names and reads
it whole: its header must name this document of this chart, every chunk must open, and the
plaintext's SHA-256 must be the one the row recorded at upload.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from django.core.files import File
from django.core.files.storage import Storage, storages

from records.files import DocumentDamaged, open_document
from records.models import ChartDocument

STORE = "documents"
_LINE_LIMIT = 4096


class PackDamaged(Exception):
    """The documents' pack does not read as a pack: it was not made here, or was cut off."""


def store() -> Storage:
    return storages[STORE]


def stored_names() -> list[str]:
    """What the database says the store holds (removed documents too: their files are kept)."""
    return list(ChartDocument.objects.order_by("stored_as").values_list("stored_as", flat=True))


class Pack:
    """A readable stream of the pack of ``names``, built as it is read (memory stays flat)."""

    def __init__(self, names: Iterable[str], storage: Storage | None = None) -> None:
        self._names = iter(names)
        self._storage = storage or store()
        self._buffer = b""
        self._file: IO[bytes] | None = None
        self.count = 0

    def _next_file(self) -> bool:
        name = next(self._names, None)
        if name is None:
            return False
        handle = self._storage.open(name, "rb")
        size = self._storage.size(name)
        self._buffer += json.dumps({"name": name, "bytes": size}, sort_keys=True).encode() + b"\n"
        self._file = handle
        self.count += 1
        return True

    def read(self, size: int = -1) -> bytes:
        want = size if size >= 0 else 1 << 62
        while len(self._buffer) < want:
            if self._file is None:
                if not self._next_file():
                    break
                continue
            data = self._file.read(min(1024 * 1024, want - len(self._buffer)))
            if data:
                self._buffer += data
            else:
                self._file.close()
                self._file = None
        data, self._buffer = self._buffer[:want], self._buffer[want:]
        return data


class _Chunks:
    """Bytes from an iterator of chunks, read by exact counts."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()

    def _fill(self, size: int) -> None:
        while len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                return
            self._buffer += chunk

    def line(self) -> bytes | None:
        while b"\n" not in self._buffer:
            before = len(self._buffer)
            self._fill(before + 1)
            if len(self._buffer) == before:
                if self._buffer:
                    raise PackDamaged("the documents' pack ends in the middle of a file's name")
                return None
            if b"\n" not in self._buffer and len(self._buffer) > _LINE_LIMIT:
                raise PackDamaged("the documents' pack is not one made by this platform")
        at = self._buffer.index(b"\n")
        if at > _LINE_LIMIT:
            raise PackDamaged("the documents' pack is not one made by this platform")
        line = bytes(self._buffer[:at])
        del self._buffer[: at + 1]
        return line

    def pieces(self, size: int) -> Iterator[bytes]:
        left = size
        while left:
            self._fill(1)
            if not self._buffer:
                raise PackDamaged("the documents' pack ends in the middle of a file")
            piece = bytes(self._buffer[:left])
            del self._buffer[: len(piece)]
            left -= len(piece)
            yield piece


class _Piecewise:
    """A readable stream over the pieces of one file in the pack (for Storage.save)."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def _entry(line: bytes) -> tuple[str, int]:
    try:
        entry = json.loads(line)
        name, size = str(entry["name"]), int(entry["bytes"])
    except (ValueError, KeyError, TypeError):
        raise PackDamaged("the documents' pack is not one made by this platform") from None
    if name.startswith("/") or ".." in name.split("/") or size < 0:
        raise PackDamaged(f"the documents' pack names a file outside the store: {name!r}")
    return name, size


def pack_names(chunks: Iterator[bytes]) -> list[str]:
    """Read a pack through (checking its framing) and return the names it holds, writing nothing."""
    reader = _Chunks(chunks)
    names = []
    while (line := reader.line()) is not None:
        name, size = _entry(line)
        for _piece in reader.pieces(size):
            pass
        names.append(name)
    return names


def store_is_empty(storage: Storage | None = None) -> bool:
    storage = storage or store()
    try:
        folders, files = storage.listdir("")
    except FileNotFoundError:
        return True
    return not folders and not files


def unpack(chunks: Iterator[bytes], storage: Storage | None = None) -> int:
    """Write every file of the pack into the (empty) store under its own name; returns the count."""
    storage = storage or store()
    reader = _Chunks(chunks)
    count = 0
    while (line := reader.line()) is not None:
        name, size = _entry(line)
        saved = storage.save(name, File(_Piecewise(reader.pieces(size)), name=name))  # type: ignore[arg-type]
        if saved != name:
            storage.delete(saved)
            raise PackDamaged(f"the store already holds {name!r}: restore only into an empty document store")
        count += 1
    return count


@dataclass
class DocumentsChecked:
    opened: int = 0
    problems: list[str] = field(default_factory=list)


def documents_verify() -> DocumentsChecked:
    """Open every document the database names and read it whole against its row's digest."""
    checked = DocumentsChecked()
    for document in ChartDocument.objects.order_by("pk").iterator():
        digest = hashlib.sha256()
        try:
            for chunk in open_document(document):
                digest.update(chunk)
        except DocumentDamaged as error:
            checked.problems.append(f"document {document.pk}: {error}")
            continue
        if digest.hexdigest() != document.sha256:
            checked.problems.append(f"document {document.pk}: its content does not match the digest of its upload")
            continue
        checked.opened += 1
    return checked
