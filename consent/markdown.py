"""Markdown for consent texts, rendered so that nothing an author types can run in a browser."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# CommonMark with raw HTML disabled: tags are shown as text. markdown-it also refuses
# javascript:, vbscript:, file: and most data: links.
_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str) -> SafeString:
    return mark_safe(_renderer.render(text or ""))  # noqa: S308 - html disabled above; tested in tests/test_consent_markdown.py
