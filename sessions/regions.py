"""Where a client may be during a session: US states, DC and territories, or elsewhere.

A therapist is licensed per state; the client says where they are before each session.
"""

from __future__ import annotations

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
