"""Sections that apps above records add to the chart page and the client's portal (registered
in their AppConfig.ready, through teletherapy.hooks), so those pages show them without records importing the apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.models import User
from records.models import ClientChart
from records.selectors import Access
from teletherapy import hooks

Panel = dict[str, Any]  # "template": the template to include; the rest is its context
PanelSource = Callable[..., Panel | None]


def chart_panels(*, user: User, chart: ClientChart, access: Access) -> list[Panel]:
    return [p for p in (source(user=user, chart=chart, access=access) for source in hooks.chart_panels) if p]


def portal_panels(*, user: User, chart: ClientChart, access: Access) -> list[Panel]:
    return [p for p in (source(user=user, chart=chart, access=access) for source in hooks.portal_panels) if p]
