"""What a claim says, gathered once for both of its forms (the CMS-1500 and the 837P): the
billing provider (the practice's identifiers), the rendering therapist, the insured client and
their insurer, the diagnoses and each service. Anything a payer cannot go without is checked
here, and its absence named, before a form is drawn."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from billing.models import Claim, Coverage
from billing.services.claims import claim_charges
from records.billing_codes import PLACES
from records.models import BillingIdentity
from teletherapy.errors import ServiceError

LAST_LINE = re.compile(r"^(?P<city>[^,]+?),?\s+(?P<state>[A-Z]{2})\s+(?P<zip>\d{5})(?:-?(?P<plus4>\d{4}))?$")
MAX_DIAGNOSES = 12


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    state: str
    postal_code: str  # five or nine digits


def address_of(text: str, whose: str, *, nine: bool = False) -> Address:
    """An address written as lines, the last "City, ST 12345" (or 12345-6789)."""
    lines = [line.strip() for line in plain(text or "").splitlines() if line.strip()]
    match = LAST_LINE.match(lines[-1].upper()) if len(lines) >= 2 else None
    if match is None:
        raise ServiceError(f'{whose} address must be a street line, then "City, ST 12345".', field="address")
    postal = match["zip"] + (match["plus4"] or "")
    if nine and len(postal) != 9:
        raise ServiceError(f"{whose} address needs its ZIP+4 (12345-6789) on a claim.", field="address")
    return Address(" ".join(lines[:-1])[:55], match["city"].strip(), match["state"], postal)


def plain(text: str) -> str:
    """Text as claim forms take it: letters without their accents, and nothing outside ASCII (the
    837P's character set, and the CMS-1500's scanned capitals)."""
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if c.isascii() and (c.isprintable() or c == "\n"))


def split_name(full: str) -> tuple[str, str]:
    """(last, first) from a name written first then last."""
    parts = plain(full).split()
    return (parts[-1], " ".join(parts[:-1])) if len(parts) > 1 else ("".join(parts), "")


@dataclass(frozen=True)
class Line:
    on: date
    code: str
    modifier: str
    place: str
    units: int
    fee: Decimal
    pointers: list[int]  # 1-based, into the claim's diagnoses


@dataclass(frozen=True)
class ClaimData:
    number: int
    practice_name: str
    billing_npi: str
    billing_taxonomy: str
    tax_id: str
    billing_address: Address
    rendering_name: tuple[str, str]
    rendering_npi: str
    rendering_taxonomy: str
    insured_name: tuple[str, str]
    insured_birth: date
    insured_sex: str
    insured_address: Address
    member_id: str
    group_number: str
    payer_name: str
    payer_id: str
    diagnoses: list[str]
    lines: list[Line]
    total: Decimal

    @property
    def place(self) -> str:
        return self.lines[0].place


def claim_data(claim: Claim) -> ClaimData:
    chart = claim.chart
    charges = claim_charges(claim)
    coverage = Coverage.objects.filter(chart=chart).first()
    practice = BillingIdentity.objects.filter(practice_id=claim.practice_id, therapist=None).first()
    therapist = charges[0].created_by if charges else None
    own = BillingIdentity.objects.filter(therapist=therapist).first() if therapist else None
    missing = []
    if coverage is None:
        missing.append("the client's insurance")
    if practice is None or not practice.npi or not practice.tax_id:
        missing.append("the practice's NPI and tax id (Fees)")
    if own is None or not own.npi:
        missing.append(f"the NPI of {therapist.full_name if therapist else 'the therapist'} (Fees)")
    if not chart.date_of_birth:
        missing.append("the client's date of birth (chart)")
    if not split_name(chart.client.full_name)[0]:
        missing.append("the client's name in Latin letters, as the insurer has it")
    if missing or coverage is None or practice is None or own is None or therapist is None:
        raise ServiceError("A claim needs " + ", ".join(missing) + ".", field="claim")
    try:
        birth = date.fromisoformat(str(chart.date_of_birth))
    except ValueError:
        raise ServiceError("The client's date of birth on the chart is not a date.", field="claim") from None
    diagnoses: list[str] = []
    for charge in charges:
        for code in filter(None, charge.diagnosis_codes.split(",")):
            if code not in diagnoses:
                diagnoses.append(code)
    if len(diagnoses) > MAX_DIAGNOSES:
        raise ServiceError("A claim names at most 12 diagnoses: split these services into two claims.", field="claim")
    lines = [
        Line(c.service_date, c.cpt_code, c.modifier, c.place_of_service or "10", c.units, c.fee,
             [diagnoses.index(code) + 1 for code in filter(None, c.diagnosis_codes.split(","))][:4])
        for c in charges
    ]  # fmt: skip
    if any(line.place not in PLACES for line in lines):
        raise ServiceError("Each service needs a known place of service.", field="claim")
    return ClaimData(
        number=claim.number,
        practice_name=plain(chart.practice.name),
        billing_npi=practice.npi,
        billing_taxonomy=practice.taxonomy,
        tax_id=practice.tax_id.replace("-", ""),
        billing_address=address_of(practice.address, "The practice's", nine=True),
        rendering_name=split_name(therapist.full_name),
        rendering_npi=own.npi,
        rendering_taxonomy=own.taxonomy,
        insured_name=split_name(chart.client.full_name),
        insured_birth=birth,
        insured_sex=coverage.sex,
        insured_address=address_of(chart.address, "The client's"),
        member_id=coverage.member_id,
        group_number=coverage.group_number,
        payer_name=plain(coverage.payer_name),
        payer_id=coverage.payer_id,
        diagnoses=diagnoses,
        lines=lines,
        total=sum((line.fee for line in lines), Decimal("0.00")),
    )
