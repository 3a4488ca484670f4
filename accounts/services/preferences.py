"""What a person sets for themselves: the time zone their times are shown in."""

from __future__ import annotations

from accounts.models import User
from accounts.zones import real_zones
from teletherapy.errors import ServiceError


def time_zone_set(*, user: User, zone: str) -> None:
    """Show times in this zone; an empty value means the practice's zone."""
    if zone and zone not in real_zones():
        raise ServiceError("Choose a time zone from the list.", field="zone")
    user.time_zone = zone
    user.save(update_fields=["time_zone"])
