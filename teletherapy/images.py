"""Decoding images people upload (chart documents, the practice's logo) within bounds, and drawing
them out again with nothing but their pixels.

A decoded image costs its width x height x bytes per pixel whatever its file's size: a 7,000 x
7,000 PNG of a few kilobytes takes about 190 MB as RGBA. Each process therefore shares one budget
of pixels being decoded at once (IMAGE_DECODE_BUDGET_PIXELS, 60 million by default: about
240 MB at most, however many uploads arrive together); an upload waits for room for up to
IMAGE_DECODE_WAIT_SECONDS, then is refused as busy rather than piling up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from PIL import Image


class DecodeBusy(Exception):
    """The process is already decoding as many pixels as it may."""


_lock = threading.Condition()
_in_use = 0


def budget() -> int:
    return int(settings.IMAGE_DECODE_BUDGET_PIXELS)


@contextmanager
def decoding(pixels: int) -> Iterator[None]:
    """Hold ``pixels`` of the process's decoding budget while the block decodes; DecodeBusy if
    there is no room within the wait. An image larger than the whole budget is never decoded."""
    global _in_use
    if pixels > budget():
        raise DecodeBusy("larger than the whole budget")
    wait = float(settings.IMAGE_DECODE_WAIT_SECONDS)
    with _lock:
        if not _lock.wait_for(lambda: _in_use + pixels <= budget(), timeout=wait):
            raise DecodeBusy("no room within the wait")
        _in_use += pixels
    try:
        yield
    finally:
        with _lock:
            _in_use -= pixels
            _lock.notify_all()


def pixels_only(image: Image.Image) -> Image.Image:
    """The image with no metadata left to save: Pillow writes a JPEG's comment, an ICC profile,
    EXIF or XMP from the image's own info unless that is emptied."""
    image.info = {}
    return image
