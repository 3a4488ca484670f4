"""One way to write a date and a time, per locale: every page, e-mail and document says when
something happens through ``when(value, style)`` (in templates the ``when`` filter, built in).

The styles are few on purpose: a date, a date and time, a day (with its weekday) with or without
the time, a short day for a calendar's columns, and a stamp for what a record keeps (with the
zone). Machine formats (ISO 8601, the audit trail's exact instants) are not dates people read and
keep their own."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils import dateformat, timezone, translation

STYLES: dict[str, dict[str, str]] = {
    "en": {
        "date": "j F Y",  # 6 December 2026
        "datetime": "j F Y, H:i",  # 6 December 2026, 14:30
        "daymonth": "j F",  # 6 December
        "day": "l j F",  # Sunday 6 December
        "fullday": "l j F Y",  # Sunday 6 December 2026
        "daytime": "l j F, H:i",  # Sunday 6 December, 14:30
        "daytimezone": "l j F, H:i T",  # Sunday 6 December, 14:30 EST
        "dayshort": "D j M",  # Sun 6 Dec
        "time": "H:i",  # 14:30
        "stamp": "j F Y, H:i T",  # 6 December 2026, 14:30 EST
        "month": "F Y",  # December 2026
    }
}


def when(value: Any, style: str = "date") -> str:
    """``value`` (a date or an aware datetime, shown in the current zone) in ``style``; an empty
    string for nothing, and the date style for a style that does not exist."""
    if value in (None, ""):
        return ""
    if not isinstance(value, date):
        return str(value)
    styles = STYLES.get((translation.get_language() or "en").split("-")[0], STYLES["en"])
    pattern = styles.get(style, styles["date"])
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return dateformat.format(value, pattern)
    day_only = pattern.replace(", H:i T", "").replace(", H:i", "").replace(" T", "").replace("H:i", "").strip()
    return dateformat.format(value, day_only or styles["date"])
