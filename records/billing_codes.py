"""The psychotherapy services a practice bills, by CPT code, and the time rule that picks the
code for a session from the minutes the client was connected.

The time ranges are CPT's for psychotherapy: a unit of time is met once the midpoint is passed,
so 90832 (30 minutes) is 16 to 37 minutes, 90834 (45) 38 to 52 and 90837 (60) 53 or more;
family psychotherapy (90846, 90847, 50 minutes) needs 26; crisis psychotherapy (90839) covers
30 to 74 minutes, and each further 30 minutes past 74 is an add-on unit of 90840. Under 16
minutes no psychotherapy code is met."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    code: str
    description: str
    min_minutes: int | None = None  # time-based: the least minutes it stands for
    max_minutes: int | None = None  # ...and the most, where another code takes over
    add_on: bool = False


CATALOG: tuple[Service, ...] = (
    Service("90791", "Psychiatric diagnostic evaluation"),
    Service("90792", "Psychiatric diagnostic evaluation with medical services"),
    Service("90832", "Psychotherapy, 30 minutes", 16, 37),
    Service("90834", "Psychotherapy, 45 minutes", 38, 52),
    Service("90837", "Psychotherapy, 60 minutes", 53, None),
    Service("90839", "Psychotherapy for crisis, first 60 minutes", 30, 74),
    Service("90840", "Psychotherapy for crisis, each further 30 minutes", add_on=True),
    Service("90846", "Family psychotherapy without the patient, 50 minutes", 26, None),
    Service("90847", "Family psychotherapy with the patient, 50 minutes", 26, None),
    Service("90853", "Group psychotherapy"),
    Service("90785", "Interactive complexity", add_on=True),
)
BY_CODE = {s.code: s for s in CATALOG}
INDIVIDUAL = ("90832", "90834", "90837")

# Modifiers for telehealth: 95 for audio and video together; 93 (or FQ, as a payer asks) for
# audio only. Places of service: 10 for telehealth in the patient's home, 02 anywhere else.
MODIFIERS = {"95": "Audio and video", "93": "Audio only", "FQ": "Audio only (FQ)"}
PLACES = {"10": "Telehealth in the patient's home", "02": "Telehealth, not in the patient's home"}
# Fees the practice's own policy charges for a session not held, under internal codes (not CPT:
# no insurer pays them, so claims and superbills leave them out, and they need no diagnosis).
POLICY_FEES = {"NOSHW": "No-show fee", "LATEC": "Late cancellation fee"}


def individual_code(minutes: int) -> str | None:
    """The psychotherapy code an individual session of ``minutes`` connected meets, or None."""
    for code in INDIVIDUAL:
        service = BY_CODE[code]
        low, high = service.min_minutes or 0, service.max_minutes
        if minutes >= low and (high is None or minutes <= high):
            return code
    return None


def joint_code(minutes: int) -> str | None:
    """Couples or family psychotherapy with the patient present (90847), once 26 minutes are met."""
    return "90847" if minutes >= (BY_CODE["90847"].min_minutes or 0) else None


def npi_valid(npi: str) -> bool:
    """A National Provider Identifier: ten digits whose last is the Luhn check digit of the first
    nine, computed with the prefix 80840 (as the NPI standard says: the constant 24 is added)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    digits = [int(d) for d in npi[:9]]
    total = 24
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            doubled = digit * 2
            total += doubled - 9 if doubled > 9 else doubled
        else:
            total += digit
    return (10 - total % 10) % 10 == int(npi[9])


TAXONOMY = re.compile(r"\d{3}[0-9A-Z]{6}X")  # a Health Care Provider Taxonomy code, such as 101YM0800X


def tax_id_valid(value: str) -> str | None:
    """Nine digits (an EIN, XX-XXXXXXX, or a Social Security number), or None."""
    digits = "".join(c for c in value if c.isdigit())
    return digits if len(digits) == 9 and all(c.isdigit() or c in "- " for c in value.strip()) else None
