"""The time zones a person may choose: real places (Area/City, from the tz database's own list
of zones, zone1970.tab) and UTC, not the aliases the database also carries for old systems
(``Zulu``, ``W-SU``, ``US/Pacific-New``, ``localtime``, ``Etc/GMT+5``)."""

from __future__ import annotations

import functools
import zoneinfo
from pathlib import Path

AREAS = ("Africa/", "America/", "Antarctica/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")


@functools.cache
def real_zones() -> tuple[str, ...]:
    available = zoneinfo.available_timezones()
    for folder in zoneinfo.TZPATH:
        table = Path(folder) / "zone1970.tab"
        if table.is_file():
            named = {
                line.split("\t")[2].strip()
                for line in table.read_text().splitlines()
                if line and not line.startswith("#") and line.count("\t") >= 2
            }
            return tuple(sorted((named & available) | {"UTC"}))
    # No table here: the Area/City names, which leaves out the old aliases all the same.
    return tuple(sorted({z for z in available if z.startswith(AREAS)} | {"UTC"}))
