"""The account's papers, as PDFs: an invoice, a monthly statement and the CMS-1500 (02/12)
claim form. Each is drawn from what the services gathered; none reads the database itself."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from accounts.templatetags.money import money
from billing.claimdata import ClaimData
from billing.services.ledger import Statement

MARGIN_MM = 16


def _document(title: str, story_of: Any) -> bytes:
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    buffer = io.BytesIO()
    margin = MARGIN_MM * mm
    document = SimpleDocTemplate(buffer, pagesize=letter, leftMargin=margin, rightMargin=margin, topMargin=margin,
                                 bottomMargin=margin, title=title, author="")  # fmt: skip
    document.build(story_of())
    return buffer.getvalue()


def _para(value: str, style: str = "Normal") -> Any:
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph

    return Paragraph(escape(value).replace("\n", "<br/>"), getSampleStyleSheet()[style])


def _table(rows: list[list[str]], *, total_row: bool = True) -> Any:
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    table = Table(rows, repeatRows=1)
    style = [("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONTSIZE", (0, 0), (-1, -1), 9),
             ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black), ("ALIGN", (-1, 0), (-1, -1), "RIGHT")]  # fmt: skip
    if total_row:
        style.append(("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black))
    table.setStyle(TableStyle(style))
    return table


def _header(practice: str, address: str, client: str, client_address: str) -> list[Any]:
    from reportlab.lib.units import mm
    from reportlab.platypus import Spacer

    story = [_para(practice, "Heading2")] + ([_para(address)] if address else [])
    story += [Spacer(1, 4 * mm), _para("Bill to", "Heading3"), _para(client)]
    return story + ([_para(client_address)] if client_address else []) + [Spacer(1, 4 * mm)]


def invoice_pdf(*, practice: str, practice_address: str, client: str, client_address: str, number: int,
                issued_on: date, due_on: date, lines: Iterable[tuple[date, str, Decimal]], total: Decimal,
                balance: Decimal, currency: str) -> bytes:  # fmt: skip
    """An invoice: its number and dates, each service billed, the total, and the account's
    balance on the day it was issued."""
    title = f"Invoice {number}"

    def story() -> list[Any]:
        rows = [["Date of service", "Service", "Amount"]]
        rows += [[f"{on:%m/%d/%Y}", text, money(fee, currency)] for on, text, fee in lines]
        rows.append(["", "Total", money(total, currency)])
        return [_para(title, "Title"), *_header(practice, practice_address, client, client_address),
                _para(f"Issued {issued_on:%B %-d, %Y} · due {due_on:%B %-d, %Y}"), _table(rows),
                _para(f"Account balance when issued: {money(balance, currency)}", "Heading3"),
                _para("Please quote the invoice number with your payment.")]  # fmt: skip

    return _document(title, story)


def statement_pdf(*, practice: str, practice_address: str, client: str, client_address: str,
                  statement: Statement, currency: str) -> bytes:  # fmt: skip
    """A month's statement: the balance it opened with, every charge, payment, adjustment and
    write-off dated in it, and the balance it closed with."""
    title = f"Statement, {statement.month:%B %Y}"

    def story() -> list[Any]:
        rows = [["Date", "Description", "Amount"], ["", "Balance brought forward", money(statement.opening, currency)]]
        rows += [[f"{e.on:%m/%d/%Y}", e.text, money(e.amount, currency)] for e in statement.entries]
        rows.append(["", "Balance at the end of the month", money(statement.closing, currency)])
        owes = statement.closing
        due = (f"Amount due: {money(owes, currency)}" if owes > 0
               else f"In credit: {money(-owes, currency)}" if owes < 0 else "Nothing is due.")  # fmt: skip
        return [_para(title, "Title"), *_header(practice, practice_address, client, client_address), _table(rows),
                _para(f"Charged this month: {money(statement.charged, currency)} · "
                      f"paid or credited: {money(statement.credited, currency)}"),
                _para(due, "Heading3")]  # fmt: skip

    return _document(title, story)


def cms1500_pdf(data: ClaimData, *, currency: str = "USD") -> bytes:
    """The CMS-1500 (02/12) in its own layout: the carrier block, items 1 to 13 (the insured and
    the patient, here the same person), 14 to 23, the six service lines of item 24, and items
    25 to 33. A claim of more than six services continues on further pages, as on paper."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=letter)
    page.setTitle(f"CMS-1500 claim {data.number}")
    page.setAuthor("")
    width, height = letter
    left, right = 36.0, width - 36.0
    last, first = data.insured_name
    patient = f"{last}, {first}".upper()
    address = data.insured_address

    def box(x0: float, top: float, x1: float, bottom: float, label: str, value: str = "") -> None:
        page.setLineWidth(0.5)
        page.rect(x0, height - bottom, x1 - x0, bottom - top)
        page.setFont("Helvetica", 5.5)
        page.drawString(x0 + 2, height - top - 7, label)
        page.setFont("Courier", 8.5)
        for n, row in enumerate(value.splitlines()):
            page.drawString(x0 + 3, height - top - 17 - 9 * n, row)

    chunks = [data.lines[i : i + 6] for i in range(0, len(data.lines), 6)]
    for number, chunk in enumerate(chunks, start=1):
        page.setFont("Helvetica-Bold", 13)
        page.drawString(left, height - 40, "HEALTH INSURANCE CLAIM FORM")
        page.setFont("Helvetica", 6.5)
        page.drawString(left, height - 50, "APPROVED BY NATIONAL UNIFORM CLAIM COMMITTEE (NUCC) 02/12")
        page.drawRightString(right, height - 50, f"1500 · page {number} of {len(chunks)}")
        page.setFont("Courier", 8.5)
        page.drawString(width / 2, height - 40, f"{data.payer_name.upper()}  PAYER ID {data.payer_id}")
        mid = left + (right - left) * 0.6
        box(
            left,
            58,
            mid,
            82,
            "1. MEDICARE MEDICAID TRICARE CHAMPVA GROUP HEALTH PLAN FECA OTHER",
            "[X] GROUP HEALTH PLAN",
        )
        box(mid, 58, right, 82, "1a. INSURED'S I.D. NUMBER", data.member_id)
        box(left, 82, mid - 110, 106, "2. PATIENT'S NAME (Last Name, First Name, Middle Initial)", patient)
        box(mid - 110, 82, mid, 106, "3. PATIENT'S BIRTH DATE   SEX",
            f"{data.insured_birth:%m %d %Y}   {data.insured_sex}")  # fmt: skip
        box(mid, 82, right, 106, "4. INSURED'S NAME (Last Name, First Name, Middle Initial)", "SAME")
        box(left, 106, mid - 110, 130, "5. PATIENT'S ADDRESS (No., Street)", address.street)
        box(mid - 110, 106, mid, 130, "6. PATIENT RELATIONSHIP TO INSURED", "[X] SELF")
        box(mid, 106, right, 130, "7. INSURED'S ADDRESS (No., Street)", "SAME")
        box(left, 130, mid - 110, 154, "CITY   STATE   ZIP CODE",
            f"{address.city.upper()}  {address.state}  {address.postal_code}")  # fmt: skip
        box(mid - 110, 130, mid, 154, "8. RESERVED FOR NUCC USE")
        box(mid, 130, right, 154, "11. INSURED'S POLICY GROUP OR FECA NUMBER", data.group_number or "NONE")
        related = "9. OTHER INSURED'S NAME   10. IS PATIENT'S CONDITION RELATED TO: EMPLOYMENT, AUTO, OTHER"
        box(left, 154, mid, 178, related, "NONE   10a NO  10b NO  10c NO")
        box(mid, 154, right, 178, "11c. INSURANCE PLAN NAME OR PROGRAM NAME", data.payer_name.upper())
        box(left, 178, mid, 202, "12. PATIENT'S OR AUTHORIZED PERSON'S SIGNATURE", "SIGNATURE ON FILE")
        box(mid, 178, right, 202, "13. INSURED'S OR AUTHORIZED PERSON'S SIGNATURE", "SIGNATURE ON FILE")
        box(left, 202, mid, 226, "14. DATE OF CURRENT ILLNESS   15. OTHER DATE   16. DATES UNABLE TO WORK")
        box(mid, 202, right, 226, "18. HOSPITALIZATION DATES   19. ADDITIONAL CLAIM INFORMATION")
        box(left, 226, mid, 250, "17. NAME OF REFERRING PROVIDER OR OTHER SOURCE   17b. NPI")
        box(mid, 226, right, 250, "20. OUTSIDE LAB?   $ CHARGES", "NO")
        dx = "   ".join(f"{'ABCDEFGHIJKL'[i]}. {code}" for i, code in enumerate(data.diagnoses))
        box(left, 250, mid, 290, "21. DIAGNOSIS OR NATURE OF ILLNESS OR INJURY   ICD Ind. 0",
            "\n".join((dx[:60], dx[60:120], dx[120:])).rstrip())  # fmt: skip
        box(mid, 250, right, 290, "22. RESUBMISSION CODE   23. PRIOR AUTHORIZATION NUMBER")
        columns = [(left, "24A. DATE(S) OF SERVICE"), (left + 110, "B. POS"), (left + 140, "C. EMG"),
                   (left + 165, "D. CPT/HCPCS   MODIFIER"), (left + 280, "E. DX PTR"), (left + 330, "F. $ CHARGES"),
                   (left + 400, "G. UNITS"), (left + 440, "J. RENDERING PROVIDER ID #")]  # fmt: skip
        top = 290.0
        page.rect(left, height - (top + 14 + 6 * 20), right - left, 14 + 6 * 20)
        page.setFont("Helvetica", 5.5)
        for x, label in columns:
            page.drawString(x + 2, height - top - 9, label)
        page.setFont("Courier", 8.5)
        for row, line in enumerate(chunk):
            y = height - top - 14 - 20 * row - 14
            values = [f"{line.on:%m %d %y}  {line.on:%m %d %y}", line.place, "", f"{line.code}  {line.modifier}",
                      "".join("ABCDEFGHIJKL"[p - 1] for p in line.pointers), f"{line.fee:.2f}", str(line.units),
                      f"NPI {data.rendering_npi}"]  # fmt: skip
            for (x, _), value in zip(columns, values, strict=True):
                page.drawString(x + 3, y, value)
        bottom = top + 14 + 6 * 20
        page_total = sum((line.fee for line in chunk), Decimal("0.00"))
        box(left, bottom, left + 160, bottom + 26, "25. FEDERAL TAX I.D. NUMBER   SSN EIN", f"{data.tax_id}   [X] EIN")
        box(left + 160, bottom, left + 290, bottom + 26, "26. PATIENT'S ACCOUNT NO.   27. ACCEPT ASSIGNMENT?",
            f"{data.number}   YES")  # fmt: skip
        box(left + 290, bottom, right, bottom + 26, "28. TOTAL CHARGE   29. AMOUNT PAID   30. RSVD FOR NUCC USE",
            f"{money(page_total, currency)}   {money(0, currency)}")  # fmt: skip
        r_last, r_first = data.rendering_name
        box(left, bottom + 26, left + 160, bottom + 76, "31. SIGNATURE OF PHYSICIAN OR SUPPLIER",
            f"{r_first} {r_last}\nSIGNATURE ON FILE")  # fmt: skip
        box(left + 160, bottom + 26, left + 290, bottom + 76, "32. SERVICE FACILITY LOCATION INFORMATION",
            "TELEHEALTH" if data.place in ("02", "10") else "")  # fmt: skip
        billing = data.billing_address
        box(left + 290, bottom + 26, right, bottom + 76, "33. BILLING PROVIDER INFO & PH #",
            f"{data.practice_name.upper()[:34]}\n{billing.street[:34]}\n"
            f"{billing.city} {billing.state} {billing.postal_code}\n33a. NPI {data.billing_npi}")  # fmt: skip
        page.showPage()
    page.save()
    return buffer.getvalue()
