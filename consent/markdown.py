"""Markdown for consent texts, rendered so that nothing an author types can run in a browser."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# CommonMark with raw HTML disabled: tags are shown as text. markdown-it also refuses
# javascript:, vbscript:, file: and most data: links.
_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str, *, below: int = 0) -> SafeString:
    """``below``: how many levels to move its headings down, for a text shown under a page's own
    heading (several documents on one page: each document's title becomes a second-level heading)."""
    tokens = _renderer.parse(text or "")
    for token in tokens:
        if below and token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + below)}"
    return mark_safe(_renderer.renderer.render(tokens, _renderer.options, {}))  # noqa: S308 - html disabled above; tested in tests/test_consent_markdown.py
