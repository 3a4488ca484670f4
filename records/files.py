"""Checking, sealing and opening a chart's documents.

An upload passes, in order: a size limit; a virus scan of every byte it holds (clamd); a type
read from its content, against an allowlist (PDF, PNG, JPEG, WebP), which its name must not
contradict; and for an image, a redraw without its metadata (EXIF location, camera, comments).
Only then is it sealed with the key ring, chunk by chunk, into the document store, which never
sees a key or a plaintext byte. Memory stays flat for a large PDF: everything is streamed
through temporary files.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.http import StreamingHttpResponse
from PIL import Image, ImageOps, UnidentifiedImageError

from records.models import ChartDocument, DocumentKind
from teletherapy import images, scanner, sealed_stream
from teletherapy.errors import ServiceError
from teletherapy.keyring import keyring

PURPOSE = "field"
READ = 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
NAME_KINDS = {
    ".pdf": DocumentKind.PDF,
    ".png": DocumentKind.PNG,
    ".jpg": DocumentKind.JPEG,
    ".jpeg": DocumentKind.JPEG,
    ".webp": DocumentKind.WEBP,
}
CONTENT_TYPES = {
    DocumentKind.PDF: "application/pdf",
    DocumentKind.PNG: "image/png",
    DocumentKind.JPEG: "image/jpeg",
    DocumentKind.WEBP: "image/webp",
}
IMAGE_FORMATS = {DocumentKind.PNG: "PNG", DocumentKind.JPEG: "JPEG", DocumentKind.WEBP: "WEBP"}
# What programs and scripts begin with: named, so the refusal can say what the file is.
PROGRAMS = (b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")


class DocumentRefused(ServiceError):
    """An upload that failed a check: nothing of it is stored."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code, field="file")


class DocumentDamaged(Exception):
    """A stored document that does not open as this document: changed, cut off, or moved."""


@dataclass
class Checked:
    """An upload that passed every check: its plaintext (in a temporary file), kind and digest."""

    plain: IO[bytes]
    kind: DocumentKind
    size: int
    sha256: str
    scanned: bool
    name: str


def max_megabytes() -> int:
    return settings.DOCUMENT_MAX_BYTES // (1024 * 1024)


def sniff(head: bytes) -> DocumentKind | None:
    if head.startswith(b"%PDF-"):
        return DocumentKind.PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return DocumentKind.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return DocumentKind.JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return DocumentKind.WEBP
    return None


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    source.seek(0)
    while chunk := source.read(READ):
        yield chunk


def _scan(source: IO[bytes]) -> bool:
    """Whether the scanner passed it; raises DocumentRefused for a virus, or for no verdict where
    a scan is required."""
    if not scanner.configured() and not settings.DOCUMENT_SCAN_REQUIRED:
        return False
    try:
        verdict = scanner.scan(_chunks(source))
    except scanner.ScannerUnavailable:
        raise DocumentRefused(
            "The file could not be checked for viruses just now, so it was not accepted. Try again in a while.",
            code="scan_unavailable",
        ) from None
    if not verdict.clean:
        raise DocumentRefused(
            f"The virus scanner found {verdict.signature} in this file. It was not accepted.", code="virus"
        )
    return True


def scan_bytes(content: bytes) -> bool:
    """The same virus scan as a chart document's, for another upload held in memory (a vendor's
    signed agreement): whether the scanner passed it; DocumentRefused for a virus, or for no
    verdict where a scan is required."""
    return _scan(io.BytesIO(content))


def _clean_name(name: str, kind: DocumentKind) -> str:
    base = os.path.basename(name.replace("\\", "/")).strip()
    base = "".join(c for c in base if c.isprintable() and c not in '"<>:|?*')[:150].strip(". ") or "document"
    ext = os.path.splitext(base)[1]
    if ext.lower() not in NAME_KINDS:
        base = f"{base}.{'jpg' if kind is DocumentKind.JPEG else kind.value}"
    return base


def _name_agrees(name: str, kind: DocumentKind) -> None:
    ext = os.path.splitext(name.strip())[1].lower()
    if not ext:
        return
    claimed = NAME_KINDS.get(ext)
    if claimed is None:
        raise DocumentRefused(
            f"The name ends in {ext[:12]}, which is not a PDF or an image. Only PDF, PNG, JPEG and WebP files "
            "are accepted.",
            code="type_not_allowed",
        )
    if claimed is not kind:
        raise DocumentRefused(
            f"The file is named as a {claimed.label} but it is a {DocumentKind(kind).label}. Rename it and try "
            "again, or upload the file you meant.",
            code="type_mismatch",
        )


def _redraw(source: IO[bytes], kind: DocumentKind) -> IO[bytes]:
    """The image drawn afresh from its pixels (turned upright first), with no metadata at all."""
    unreadable = DocumentRefused(
        f"This {DocumentKind(kind).label} cannot be read: it may be damaged.", code="unreadable"
    )
    source.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                if image.format != IMAGE_FORMATS[kind]:
                    raise unreadable
                if image.width * image.height > MAX_IMAGE_PIXELS:
                    raise DocumentRefused(
                        "The image has more pixels than a document needs (40 million at most). Scale it down.",
                        code="too_large",
                    )
                with images.decoding(image.width * image.height):
                    upright = ImageOps.exif_transpose(image)
                    upright.load()
    except images.DecodeBusy:
        raise DocumentRefused(
            "Too many large images are being checked right now. Try again in a minute.", code="busy"
        ) from None
    except DocumentRefused:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError,
            ValueError, SyntaxError, EOFError):  # fmt: skip
        raise unreadable from None
    out = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    options: dict[str, Any] = {}
    if kind is DocumentKind.JPEG:
        upright = upright.convert("RGB")
        options = {"quality": 92, "optimize": True}
    elif kind is DocumentKind.WEBP:
        options = {"quality": 90}
    images.pixels_only(upright).save(out, IMAGE_FORMATS[kind], **options)  # no comment, exif, icc, xmp or text
    return out


def check_upload(upload: Any) -> Checked:
    """Every check, in order; raises DocumentRefused with the reason at the first that fails."""
    size = getattr(upload, "size", None)
    if size is not None and size > settings.DOCUMENT_MAX_BYTES:
        raise DocumentRefused(f"The file is over {max_megabytes()} MB. Upload a smaller one.", code="too_large")
    original: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed on every path below
    total = 0
    for chunk in upload.chunks():
        total += len(chunk)
        if total > settings.DOCUMENT_MAX_BYTES:
            original.close()
            raise DocumentRefused(f"The file is over {max_megabytes()} MB. Upload a smaller one.", code="too_large")
        original.write(chunk)
    if total == 0:
        original.close()
        raise DocumentRefused("The file is empty.", code="empty")
    try:
        scanned = _scan(original)
        original.seek(0)
        head = original.read(16)
        kind = sniff(head)
        if kind is None:
            if head.startswith(PROGRAMS):
                raise DocumentRefused(
                    "This is a program, not a document. Only PDF, PNG, JPEG and WebP files are accepted.",
                    code="type_not_allowed",
                )
            raise DocumentRefused(
                "Only PDF, PNG, JPEG and WebP files are accepted, and this file is none of them.",
                code="type_not_allowed",
            )
        name = str(getattr(upload, "name", "") or "")
        _name_agrees(name, kind)
        plain: IO[bytes] = original
        if kind in IMAGE_FORMATS:
            plain = _redraw(original, kind)
            original.close()
        digest = hashlib.sha256()
        stored = 0
        for chunk in _chunks(plain):
            digest.update(chunk)
            stored += len(chunk)
        plain.seek(0)
    except BaseException:
        original.close()
        raise
    return Checked(
        plain=plain, kind=kind, size=stored, sha256=digest.hexdigest(), scanned=scanned, name=_clean_name(name, kind)
    )


def _header(document_id: object, chart_id: object, kind: str) -> dict[str, str]:
    return {"holds": "chart document", "document": str(document_id), "chart": str(chart_id), "kind": str(kind)}


def store(checked: Checked, *, document_id: object, chart_id: object) -> str:
    """Seal the checked plaintext into the document store; returns the stored name (random: it
    says nothing of whose file it is)."""
    store_ = storages["documents"]
    with tempfile.TemporaryFile() as sealed:
        sealed_stream.seal(
            checked.plain,
            sealed,
            key=keyring().current(PURPOSE),
            header=_header(document_id, chart_id, checked.kind),
        )
        sealed.seek(0)
        name = f"{secrets.token_hex(1)}/{secrets.token_hex(16)}.sealed"
        return store_.save(name, File(sealed, name=name))


def unstore(stored_as: str) -> None:
    """Delete a sealed file that no row refers to (an upload whose row was not written)."""
    storages["documents"].delete(stored_as)


def open_document(document: ChartDocument) -> Iterator[bytes]:
    """The document's plaintext, chunk by chunk, after its header shows it is this document of
    this chart; raises DocumentDamaged otherwise (before yielding anything), or part way if a later
    chunk was changed or the file cut off."""
    try:
        handle = storages["documents"].open(document.stored_as, "rb")
    except (FileNotFoundError, OSError):
        raise DocumentDamaged("the stored file is missing") from None
    try:
        header, _raw = sealed_stream.read_header(handle)
    except sealed_stream.SealedStreamError as error:
        handle.close()
        raise DocumentDamaged(str(error)) from None
    if header.get("holds") != "chart document" or header.get("document") != str(document.pk):
        handle.close()
        raise DocumentDamaged("the stored file belongs to another document")
    if header.get("chart") != str(document.chart_id):
        handle.close()
        raise DocumentDamaged("the stored file belongs to another record")
    handle.seek(0)
    chunks = sealed_stream.open_chunks(handle, keyring(), PURPOSE)
    try:
        first = next(chunks)  # a file of one chunk is checked whole before a byte is sent
    except (sealed_stream.SealedStreamError, StopIteration) as error:
        handle.close()
        raise DocumentDamaged(str(error) or "the stored file is empty") from None
    return _stream(first, chunks, handle)


def _stream(first: bytes, chunks: Iterator[bytes], handle: IO[bytes]) -> Iterator[bytes]:
    try:
        yield first
        try:
            yield from chunks
        except sealed_stream.SealedStreamError as error:
            raise DocumentDamaged(str(error)) from None
    finally:
        handle.close()


# An uploaded file is never a page of this site: no scripts, no plugins, no same-origin anything.
DOWNLOAD_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"


def download_response(document: ChartDocument) -> StreamingHttpResponse:
    """The document as an attachment that cannot run as a page, streamed; raises DocumentDamaged
    (before anything is sent) when the stored file is not this document's."""
    chunks = open_document(document)
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[DocumentKind(document.kind)])
    response["Content-Length"] = str(document.size)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(document.name)}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def read_all(document: ChartDocument) -> bytes:
    """The whole plaintext (for tests and small files)."""
    out = io.BytesIO()
    for chunk in open_document(document):
        out.write(chunk)
    return out.getvalue()
