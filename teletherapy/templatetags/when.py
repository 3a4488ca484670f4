"""The ``when`` filter (built into every template): ``{{ value|when:"daytime" }}``."""

from __future__ import annotations

from typing import Any

from django import template

from teletherapy.when import when as written

register = template.Library()


@register.filter(name="when")
def when(value: Any, style: str = "date") -> str:
    return written(value, style)
