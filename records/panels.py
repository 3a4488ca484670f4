"""Sections that apps above records add to the chart page and the client's portal (registered
in their AppConfig.ready), so those pages show them without records importing the apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.models import User
from records.models import ClientChart
from records.selectors import Access

Panel = dict[str, Any]  # "template": the template to include; the rest is its context
PanelSource = Callable[..., Panel | None]

_CHART: list[PanelSource] = []
_PORTAL: list[PanelSource] = []


def chart_panel_register(source: PanelSource) -> None:
    if source not in _CHART:
        _CHART.append(source)


def portal_panel_register(source: PanelSource) -> None:
    if source not in _PORTAL:
        _PORTAL.append(source)


def chart_panels(*, user: User, chart: ClientChart, access: Access) -> list[Panel]:
    return [p for p in (source(user=user, chart=chart, access=access) for source in _CHART) if p]


def portal_panels(*, user: User, chart: ClientChart, access: Access) -> list[Panel]:
    return [p for p in (source(user=user, chart=chart, access=access) for source in _PORTAL) if p]
