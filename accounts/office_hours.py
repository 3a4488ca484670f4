"""A practice's office hours: when messages are read and answered, in the practice's own zone."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

from accounts.models import Practice

DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def days_of(practice: Practice) -> list[int]:
    return sorted({int(d) for d in practice.office_days if d.isdigit() and int(d) < 7})


def is_set(practice: Practice) -> bool:
    return bool(days_of(practice)) and practice.office_opens is not None and practice.office_closes is not None


def describe(practice: Practice) -> str:
    """The hours as a sentence: "Monday to Friday, 09:00 to 17:00"."""
    if not is_set(practice):
        return ""
    days = days_of(practice)
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        which = f"{DAY_NAMES[days[0]]} to {DAY_NAMES[days[-1]]}"
    else:
        which = ", ".join(DAY_NAMES[d] for d in days)
    opens, closes = practice.office_opens, practice.office_closes
    assert opens is not None and closes is not None
    return f"{which}, {opens:%H:%M} to {closes:%H:%M}"


def next_opening(practice: Practice, at: datetime) -> datetime | None:
    """When the practice next answers messages: ``at`` itself if open now, else the next opening,
    in the practice's zone; None when it has set no hours."""
    if not is_set(practice):
        return None
    zone = zoneinfo.ZoneInfo(practice.time_zone)
    local = at.astimezone(zone)
    days = days_of(practice)
    opens, closes = practice.office_opens, practice.office_closes
    assert opens is not None and closes is not None
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        if day.weekday() not in days:
            continue
        start = datetime.combine(day, opens, tzinfo=zone)
        end = datetime.combine(day, closes, tzinfo=zone)
        if ahead == 0 and start <= local < end:
            return at
        if local < start:
            return start
    return None
