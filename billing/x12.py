"""The ASC X12 837P (005010X222A1): a professional claim as a clearinghouse takes it, one
interchange holding one claim. The file names the payer as its receiver and the billing NPI as
its sender; a clearinghouse that gives the practice its own ids maps them on its side.

Loops written: 1000A submitter, 1000B receiver, 2000A/2010AA billing provider, 2000B/2010BA the
insured (the client, relationship "self"), 2010BB payer, 2300 claim with its diagnoses (HI),
2310B rendering provider (when not the billing NPI), and a 2400 line per service."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from billing.claimdata import ClaimData

SEGMENT, ELEMENT, COMPONENT, REPEAT = "~", "*", ":", "^"
_NOT_TEXT = re.compile(r"[~*:^\n\r]")


def text(value: str, limit: int = 60) -> str:
    """A value as X12 carries it: upper case, without the separators, trimmed to its field."""
    return " ".join(_NOT_TEXT.sub(" ", value).upper().split())[:limit]


def amount(value: Decimal) -> str:
    """A money amount without needless zeros (150, 95.5)."""
    return f"{value.quantize(Decimal('0.01')).normalize():f}"


def control(number: int) -> str:
    return f"{number % 1_000_000_000:09d}"


def claim_837p(data: ClaimData, *, at: datetime, interchange: int, contact: str, production: bool = True) -> str:
    """The claim as an 837P interchange; ``interchange`` numbers it (ISA13/GS06), ``contact`` is
    the submitter's e-mail address for the clearinghouse's questions."""
    segments: list[list[str]] = []

    def seg(*elements: str) -> None:
        segments.append(list(elements))

    last, first = data.insured_name
    r_last, r_first = data.rendering_name
    seg("ST", "837", "0001", "005010X222A1")
    seg("BHT", "0019", "00", f"C{data.number}", f"{at:%Y%m%d}", f"{at:%H%M}", "CH")
    seg("NM1", "41", "2", text(data.practice_name), "", "", "", "", "46", data.billing_npi)
    seg("PER", "IC", text(data.practice_name), "EM", contact.replace("~", "").replace("*", "")[:80])
    seg("NM1", "40", "2", text(data.payer_name), "", "", "", "", "46", text(data.payer_id, 20))
    seg("HL", "1", "", "20", "1")
    if data.billing_taxonomy:
        seg("PRV", "BI", "PXC", data.billing_taxonomy)
    seg("NM1", "85", "2", text(data.practice_name), "", "", "", "", "XX", data.billing_npi)
    seg("N3", text(data.billing_address.street, 55))
    seg("N4", text(data.billing_address.city, 30), data.billing_address.state, data.billing_address.postal_code)
    seg("REF", "EI", data.tax_id)
    seg("HL", "2", "1", "22", "0")
    seg("SBR", "P", "18", text(data.group_number, 30), "", "", "", "", "", "CI")
    seg("NM1", "IL", "1", text(last), text(first, 35), "", "", "", "MI", text(data.member_id, 30))
    seg("N3", text(data.insured_address.street, 55))
    seg("N4", text(data.insured_address.city, 30), data.insured_address.state, data.insured_address.postal_code)
    seg("DMG", "D8", f"{data.insured_birth:%Y%m%d}", data.insured_sex)
    seg("NM1", "PR", "2", text(data.payer_name), "", "", "", "", "PI", text(data.payer_id, 20))
    seg("CLM", str(data.number), amount(data.total), "", "", COMPONENT.join((data.place, "B", "1")), "Y", "A", "Y", "Y")
    seg(
        "HI",
        *[COMPONENT.join(("ABK" if i == 0 else "ABF", code.replace(".", ""))) for i, code in enumerate(data.diagnoses)],
    )
    if data.rendering_npi != data.billing_npi:
        seg("NM1", "82", "1", text(r_last), text(r_first, 35), "", "", "", "XX", data.rendering_npi)
        if data.rendering_taxonomy:
            seg("PRV", "PE", "PXC", data.rendering_taxonomy)
    for number, line in enumerate(data.lines, start=1):
        procedure = COMPONENT.join(["HC", line.code] + ([line.modifier] if line.modifier else []))
        place = line.place if line.place != data.place else ""
        pointers = COMPONENT.join(str(p) for p in line.pointers)
        seg("LX", str(number))
        seg("SV1", procedure, amount(line.fee), "UN", str(line.units), place, "", pointers)
        seg("DTP", "472", "D8", f"{line.on:%Y%m%d}")
    seg("SE", str(len(segments) + 1), "0001")

    sender, receiver = data.billing_npi, text(data.payer_id, 15)
    head = [
        ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ", receiver.ljust(15), f"{at:%y%m%d}",
         f"{at:%H%M}", REPEAT, "00501", control(interchange), "0", "P" if production else "T", COMPONENT],
        ["GS", "HC", sender, receiver, f"{at:%Y%m%d}", f"{at:%H%M}", str(interchange), "X", "005010X222A1"],
    ]  # fmt: skip
    tail = [["GE", "1", str(interchange)], ["IEA", "1", control(interchange)]]
    return "".join(ELEMENT.join(_trimmed(s)) + SEGMENT + "\n" for s in head + segments + tail)


def _trimmed(elements: list[str]) -> list[str]:
    """A segment without its trailing empty elements (X12 forbids them)."""
    while len(elements) > 1 and elements[-1] == "":
        elements = elements[:-1]
    return elements
