"""Where a client may be during a session: US states, DC and territories, or elsewhere.

A therapist is licensed per state; the client says where they are before each session.
"""

from __future__ import annotations

import re

REGIONS: list[tuple[str, str]] = [
    ("US-AL", "Alabama"), ("US-AK", "Alaska"), ("US-AZ", "Arizona"), ("US-AR", "Arkansas"),
    ("US-CA", "California"), ("US-CO", "Colorado"), ("US-CT", "Connecticut"), ("US-DE", "Delaware"),
    ("US-DC", "District of Columbia"), ("US-FL", "Florida"), ("US-GA", "Georgia"), ("US-HI", "Hawaii"),
    ("US-ID", "Idaho"), ("US-IL", "Illinois"), ("US-IN", "Indiana"), ("US-IA", "Iowa"), ("US-KS", "Kansas"),
    ("US-KY", "Kentucky"), ("US-LA", "Louisiana"), ("US-ME", "Maine"), ("US-MD", "Maryland"),
    ("US-MA", "Massachusetts"), ("US-MI", "Michigan"), ("US-MN", "Minnesota"), ("US-MS", "Mississippi"),
    ("US-MO", "Missouri"), ("US-MT", "Montana"), ("US-NE", "Nebraska"), ("US-NV", "Nevada"),
    ("US-NH", "New Hampshire"), ("US-NJ", "New Jersey"), ("US-NM", "New Mexico"), ("US-NY", "New York"),
    ("US-NC", "North Carolina"), ("US-ND", "North Dakota"), ("US-OH", "Ohio"), ("US-OK", "Oklahoma"),
    ("US-OR", "Oregon"), ("US-PA", "Pennsylvania"), ("US-RI", "Rhode Island"), ("US-SC", "South Carolina"),
    ("US-SD", "South Dakota"), ("US-TN", "Tennessee"), ("US-TX", "Texas"), ("US-UT", "Utah"),
    ("US-VT", "Vermont"), ("US-VA", "Virginia"), ("US-WA", "Washington"), ("US-WV", "West Virginia"),
    ("US-WI", "Wisconsin"), ("US-WY", "Wyoming"), ("US-AS", "American Samoa"), ("US-GU", "Guam"),
    ("US-MP", "Northern Mariana Islands"), ("US-PR", "Puerto Rico"), ("US-VI", "U.S. Virgin Islands"),
    ("OUTSIDE-US", "Outside the United States"),
]  # fmt: skip

REGION_NAMES = dict(REGIONS)


def region_name(code: str) -> str:
    return REGION_NAMES.get(code, code)


# A two-letter state code before a ZIP code: "Albany, NY 12207".
_STATE_ZIP = re.compile(r"\b([A-Z]{2})\.?,?\s+\d{5}(?:-\d{4})?\b")
_US_CODES = {code[3:] for code, _name in REGIONS if code.startswith("US-")}
_BY_LONGEST_NAME = sorted((r for r in REGIONS if r[0].startswith("US-")), key=lambda r: -len(r[1]))


def region_of_address(address: str) -> str:
    """The US state or territory a postal address is in, read from the address itself: a
    two-letter code before a ZIP code, or a state's name at its end. "" when the address does not
    say (the caller counts such people as of unknown residence)."""
    text = " ".join(str(address or "").split())
    if not text:
        return ""
    found = [m.group(1) for m in _STATE_ZIP.finditer(text) if m.group(1) in _US_CODES]
    if found:
        return f"US-{found[-1]}"
    lowered = re.sub(r"[\d\s,.-]+$", "", text).lower()
    return next((code for code, name in _BY_LONGEST_NAME if lowered.endswith(name.lower())), "")
