"""Money on the pages: a client's account (balance, activity, payments, adjustments, invoices,
statements), the admins' aging view, and insurance claims as a CMS-1500 PDF and an 837P file that
pyx12 validates. The PDFs are opened and read; every persona meets the door."""

from __future__ import annotations

import io
import re
from datetime import datetime
from decimal import Decimal

import pytest

from accounts.models import Role
from audit.models import AuditEvent
from billing.claimdata import claim_data
from billing.models import Claim, Invoice, Payment
from billing.x12 import claim_837p
from records.models import BillingIdentity, BillingRecord
from records.selectors import Access
from records.services.diagnoses import diagnosis_add
from tests.test_records_export import pdf_text

pytestmark = [pytest.mark.django_db]


def confirmed(chart, therapist, day, fee="150", code="90834", dx="F41.1", place="10"):
    return BillingRecord.objects.create(chart=chart, service_date=day, cpt_code=code, modifier="95",
                                        place_of_service=place, diagnosis_codes=dx, fee=fee, status="submitted",
                                        created_by=therapist)  # fmt: skip


def validate_837p(text: str) -> tuple[bool, str]:
    """pyx12's verdict on an interchange, and its 999 acknowledgement."""
    import pyx12.params
    import pyx12.x12n_document

    ack = io.StringIO()
    valid = pyx12.x12n_document.x12n_document(param=pyx12.params.params(), src_file=io.StringIO(text),
                                              fd_997=ack, fd_html=None, fd_xmldoc=None)  # fmt: skip
    return bool(valid), ack.getvalue()


@pytest.fixture
def billed(admin, therapist, chart):
    """A client with three confirmed sessions, a draft, a payment, identifiers and an address."""
    BillingIdentity.objects.create(practice=admin.practice, npi="1234567893", tax_id="123456789",
                                   taxonomy="261QM0801X", address="12 Main St\nSpringfield, IL 62701-1234")  # fmt: skip
    BillingIdentity.objects.create(practice=admin.practice, therapist=therapist, npi="1245319599",
                                   taxonomy="103T00000X")  # fmt: skip
    chart.date_of_birth, chart.address = "1990-04-02", "5 Oak Ave\nSpringfield, IL 62702"
    chart.save()
    diagnosis_add(actor=therapist, chart=chart, access=Access.CARE_TEAM, code="F41.1", noted_on="2026-10-01",
                  context=None)  # fmt: skip
    charges = [confirmed(chart, therapist, "2026-11-03"), confirmed(chart, therapist, "2026-11-10", dx="F41.1,F32.9"),
               confirmed(chart, therapist, "2026-11-17", fee="175", code="90837", place="02")]  # fmt: skip
    BillingRecord.objects.create(chart=chart, service_date="2026-11-24", cpt_code="90834", diagnosis_codes="F41.1",
                                 fee="150", status="draft", created_by=therapist)  # fmt: skip
    return charges


def test_the_care_team_keeps_the_account_and_the_client_reads_it(billed, chart, therapist, client_user, login_as):
    team = login_as(therapist)
    account = f"/billing/clients/{chart.pk}/"
    page = team.get(account).content.decode()
    assert "$475.00" in page and "Record a payment" in page and "Invoice 3 confirmed charges" in page
    assert "Account</a>: owes $475.00" in team.get(f"/records/charts/{chart.pk}/").content.decode()
    response = team.post(f"{account}payments/", {"amount": "100", "method": "card", "received_on": "2026-11-20",
                                                  "reference": "ch_123"})  # fmt: skip
    assert response.status_code == 302
    team.post(f"{account}adjustments/", {"kind": "write_off", "amount": "25", "reason": "Hardship",
                                         "made_on": "2026-11-30"})  # fmt: skip
    bad = team.post(f"{account}payments/", {"amount": "lots", "method": "cash", "received_on": "2026-11-20"},
                    follow=True)  # fmt: skip
    assert "Give the amount as a number" in bad.content.decode()
    assert Payment.objects.count() == 1
    page = team.get(account).content.decode()
    assert "$350.00" in page and "Write-off" in page and "Payment, card" in page
    assert "Psychotherapy, 45 minutes (90834-95)" in page
    # An invoice of the three confirmed charges (not the draft), numbered, then nothing left to bill.
    team.post(f"{account}invoices/")
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.total, invoice.lines.count()) == (1, Decimal("475.00"), 3)
    again = team.post(f"{account}invoices/", follow=True).content.decode()
    assert "already on an invoice" in again and Invoice.objects.count() == 1
    # The client reads it all, and changes nothing.
    mine = login_as(client_user)
    own = mine.get(account).content.decode()
    assert "Your account" in own and "$350.00" in own and "Record a payment" not in own and "Hardship" not in own
    assert "Statements and invoices" in mine.get("/records/portal/").content.decode()
    text = " ".join(pdf_text(mine.get(f"/billing/invoices/{invoice.pk}/").content).split())
    assert "Invoice 1" in text and "Casey Client" in text and "Total $475.00" in text and "11/24/2026" not in text
    statement = mine.get(f"{account}statements/2026-11/")
    assert statement["Content-Type"] == "application/pdf" and "no-store" in statement["Cache-Control"]
    text = " ".join(pdf_text(statement.content).split())
    assert "Statement, November 2026" in text and "Balance brought forward $0.00" in text
    assert "Payment, card -$100.00" in text and "Write-off -$25.00" in text
    assert "Balance at the end of the month $350.00" in text and "Amount due: $350.00" in text
    assert mine.get(f"{account}statements/2026-13/").status_code == 400
    for post in ("payments/", "adjustments/", "invoices/", "coverage/", "claims/"):
        assert mine.post(f"{account}{post}", {"amount": "5"}).status_code == 403
    # The superbill now says what was paid.
    bill = " ".join(pdf_text(mine.get(f"/records/charts/{chart.pk}/superbill/?month=2026-11").content).split())
    assert "Paid to the practice for these services: $100.00" in bill
    reads = AuditEvent.objects.filter(action="records.billing_view", subject_client_id=client_user.pk)
    assert reads.filter(actor_id=client_user.pk).count() >= 4 and reads.filter(actor_id=therapist.pk).exists()


def test_who_reaches_an_account(billed, chart, admin, colleague, guardian, stranger, make_user, login_as):
    account = f"/billing/clients/{chart.pk}/"
    assert login_as(admin).get(account).status_code == 200
    assert login_as(guardian).get(account).status_code == 200  # the chart is a minor's (the fixture)
    assert "Record a payment" not in login_as(guardian).get(account).content.decode()
    assert login_as(colleague).get(account).status_code == 404
    assert login_as(stranger).get(account).status_code == 404
    other_guardian = make_user(Role.GUARDIAN)
    assert login_as(other_guardian).get(account).status_code == 404
    assert login_as(colleague).post(f"{account}payments/", {"amount": "5"}).status_code == 404
    assert login_as(make_user(Role.THERAPIST)).get("/billing/").status_code == 403


def test_the_aging_view_spends_credits_on_the_oldest_charges(billed, chart, admin, client_user, login_as):
    from billing.services.ledger import payment_record

    payment_record(actor=admin, chart=chart, access=Access.ADMIN, amount="200", method="cheque",
                   received_on="2026-11-20", context=None)  # fmt: skip
    page = login_as(admin).get("/billing/").content.decode()
    row = page.split("Casey Client", 1)[1].split("</tr>", 1)[0]
    # Today the November sessions are weeks old; 300 - 200 + 175 = 275 owed in all.
    assert "$275.00" in row
    assert (
        "Owed to the practice" in page
        and AuditEvent.objects.filter(
            action="records.billing_view", actor_id=admin.pk, subject_client_id=client_user.pk
        ).exists()
    )


def test_a_claim_as_an_837p_that_pyx12_accepts_and_as_a_cms1500(billed, chart, therapist, login_as):
    team = login_as(therapist)
    account = f"/billing/clients/{chart.pk}/"
    refused = team.post(f"{account}claims/", {"charges": [str(billed[0].pk)]}, follow=True).content.decode()
    assert "Record the client&#x27;s insurance" in refused
    team.post(f"{account}coverage/", {"payer_name": "Acme Health", "payer_id": "ACME1", "member_id": "XYZ123456",
                                      "group_number": "G100", "sex": "F"})  # fmt: skip
    # One session, then the other two together.
    team.post(f"{account}claims/", {"charges": [str(billed[0].pk)]})
    team.post(f"{account}claims/", {"charges": [str(billed[1].pk), str(billed[2].pk)]})
    one, many = Claim.objects.order_by("number")
    assert (one.number, one.total, many.total) == (1, Decimal("150.00"), Decimal("325.00"))
    # A charge already on a live claim cannot be claimed twice.
    twice = team.post(f"{account}claims/", {"charges": [str(billed[0].pk)]}, follow=True).content.decode()
    assert "no claim holds yet" in twice and Claim.objects.count() == 2
    for claim, services in ((one, 1), (many, 2)):
        response = team.get(f"/billing/claims/{claim.pk}/837p/")
        assert response.status_code == 200 and response["Content-Type"] == "application/edi-x12"
        text = response.content.decode()
        valid, ack = validate_837p(text)
        assert valid and "IK5*A" in ack and "AK9*A*1*1*1" in ack, ack
        assert text.count("LX*") == services and "NM1*IL*1*CLIENT*CASEY****MI*XYZ123456" in text
        assert "N4*SPRINGFIELD*IL*627011234" in text and "REF*EI*123456789" in text
    assert "HI*ABK:F411*ABF:F329" in team.get(f"/billing/claims/{many.pk}/837p/").content.decode()
    assert "SV1*HC:90837:95*175*UN*1*02**1" in team.get(f"/billing/claims/{many.pk}/837p/").content.decode()
    form = " ".join(pdf_text(team.get(f"/billing/claims/{many.pk}/cms1500/").content).split())
    for expected in ("HEALTH INSURANCE CLAIM FORM", "(NUCC) 02/12", "XYZ123456", "CLIENT, CASEY", "04 02 1990",
                     "A. F41.1 B. F32.9", "90837 95", "175.00", "123456789", "$325.00", "NPI 1234567893",
                     "NPI 1245319599"):  # fmt: skip
        assert expected in form, expected
    # The payer's answers, by hand: sent, then paid, which records the insurer's payment.
    status = f"/billing/claims/{many.pk}/status/"
    assert "cannot become paid" not in team.post(status, {"status": "sent", "on": "2026-12-01"},
                                                 follow=True).content.decode()  # fmt: skip
    team.post(status, {"status": "paid", "on": "2026-12-05", "paid_amount": "260", "payer_reference": "EFT991"})
    many.refresh_from_db()
    assert (many.status, many.paid_amount, str(many.paid_on)) == ("paid", Decimal("260.00"), "2026-12-05")
    assert Payment.objects.get(claim=many).method == "insurance"
    late = team.post(status, {"status": "denied", "on": "2026-12-06"}, follow=True).content.decode()
    assert "A paid claim cannot become denied" in late


def test_pyx12_refuses_a_broken_claim_so_the_check_can_fail(billed, chart, therapist):
    from billing.services.claims import claim_make, coverage_set

    coverage_set(actor=therapist, chart=chart, access=Access.CARE_TEAM, payer_name="Acme", payer_id="ACME1",
                 member_id="M1", context=None)  # fmt: skip
    claim = claim_make(actor=therapist, chart=chart, access=Access.CARE_TEAM, charge_ids=[billed[0].pk], context=None)
    good = claim_837p(claim_data(claim), at=datetime(2026, 12, 7, 10, 0), interchange=1, contact="a@example.org")
    assert validate_837p(good)[0]
    # A date of service that is no date, and a payer responsibility code that is no code.
    for broken in (re.sub(r"DTP\*472\*D8\*\d+", "DTP*472*D8*20261341", good), good.replace("SBR*P*18", "SBR*Q*18")):
        assert broken != good and not validate_837p(broken)[0]


def test_a_claim_missing_what_a_payer_needs_says_what(chart, therapist, login_as):
    from billing.services.claims import claim_make, coverage_set

    confirmed(chart, therapist, "2026-11-03")
    coverage_set(actor=therapist, chart=chart, access=Access.CARE_TEAM, payer_name="Acme", payer_id="ACME1",
                 member_id="M1", context=None)  # fmt: skip
    charge = BillingRecord.objects.get()
    claim = claim_make(actor=therapist, chart=chart, access=Access.CARE_TEAM, charge_ids=[charge.pk], context=None)
    page = login_as(therapist).get(f"/billing/claims/{claim.pk}/837p/", follow=True).content.decode()
    assert "A claim needs" in page and "NPI and tax id" in page and "date of birth" in page


def test_the_copy_of_the_record_holds_the_account_by_the_billing_rule(billed, chart, client_user, colleague, admin):
    from datetime import timedelta

    from django.utils import timezone

    from billing.services.ledger import adjustment_make, payment_record
    from records.copy import copy_contents
    from records.models import EmergencyAccess

    payment_record(actor=admin, chart=chart, access=Access.ADMIN, amount="90", method="cheque",
                   received_on="2026-11-20", reference="1042", context=None)  # fmt: skip
    adjustment_make(actor=admin, chart=chart, access=Access.ADMIN, kind="write_off", amount="15", reason="Hardship",
                    made_on="2026-11-30", context=None)  # fmt: skip
    own = copy_contents(chart=chart, reader=client_user)
    assert [(i["kind"], i["amount"]) for i in own["account"]] == [("payment", "90.00"), ("write_off", "15.00")]
    assert own["account"][0]["reference"] == "1042" and own["account"][1]["reason"] == "Hardship"
    # Under emergency access a therapist reads the clinical record, not the account.
    EmergencyAccess.objects.create(chart=chart, therapist=colleague, reason="Crisis cover",
                                   expires_at=timezone.now() + timedelta(hours=1))  # fmt: skip
    emergency = copy_contents(chart=chart, reader=colleague)
    assert "account" in emergency["withheld"] and "account" not in {k for k in emergency if k != "withheld"}


def test_the_account_over_the_api(billed, chart, therapist, client_user, admin, login_as):
    team = login_as(therapist)
    base = f"/api/v1/billing/accounts/{chart.pk}/"
    made = team.post(f"{base}payments/", {"amount": "120.5", "method": "insurance", "received_on": "2026-11-21",
                                          "reference": "EFT-77"}, content_type="application/json")  # fmt: skip
    assert made.status_code == 201 and made.json()["amount"] == "120.50"
    for bad in ({"amount": "x", "method": "cash", "received_on": "2026-11-21"},
                {"amount": "5", "method": "gold", "received_on": "2026-11-21"},
                {"amount": "5", "method": "cash", "received_on": "soon"}, {}):  # fmt: skip
        answer = team.post(f"{base}payments/", bad, content_type="application/json")
        assert (answer.status_code == 400 and "detail" in answer.json()) or "errors" in answer.json()
    assert team.post(f"{base}adjustments/", {"kind": "adjustment", "amount": "-20", "made_on": "2026-11-22",
                                             "reason": "Refund of a double payment"},
                     content_type="application/json").status_code == 201  # fmt: skip
    own = login_as(client_user).get(base).json()
    assert own["balance"] == "374.50" and own["entries"][0]["kind"] == "adjustment"
    assert login_as(client_user).post(f"{base}payments/", {}, content_type="application/json").status_code == 403
    aging = login_as(admin).get("/api/v1/billing/aging/").json()
    assert aging["accounts"][0]["client"] == "Casey Client" and aging["accounts"][0]["owed"] == "374.50"
    assert team.get("/api/v1/billing/aging/").status_code == 403


def test_claim_forms_take_plain_capitals():
    from billing.claimdata import address_of, plain, split_name

    assert split_name("José María Núñez") == ("Nunez", "Jose Maria")
    assert address_of("12 Rue d'Été\nSpringfield, il 62701", "The client's").city == "SPRINGFIELD"
    assert plain("李小龍") == "" and split_name("李小龍") == ("", "")


def test_invoices_and_statements_are_announced_by_a_link_to_those_who_read_the_account(
    billed, chart, therapist, client_user, guardian, make_user, django_capture_on_commit_callbacks, mailoutbox
):
    from accounts.models import GuardianLink
    from billing.services.invoices import invoice_issue
    from billing.tasks import statements_announce

    # The chart is a minor's (the guardian fixture): the client and their guardian are told; a
    # guardian whose link is to someone else, and the therapist, are not.
    GuardianLink.objects.create(guardian=make_user(Role.GUARDIAN, email="other@example.org"),
                                client=make_user(Role.CLIENT))  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        invoice_issue(actor=therapist, chart=chart, access=Access.CARE_TEAM, context=None,
                      today=datetime(2026, 12, 1).date())  # fmt: skip
    told = sorted(m.to[0] for m in mailoutbox)
    assert told == sorted([client_user.email, guardian.email])
    body = mailoutbox[0].body
    assert f"/billing/clients/{chart.pk}/" in body and "$" not in body and "90834" not in body
    mailoutbox.clear()
    assert statements_announce("2026-11") == 2 and statements_announce("2026-11") == 0
    assert sorted(m.to[0] for m in mailoutbox) == sorted([client_user.email, guardian.email])
    assert "November 2026" in mailoutbox[0].body and "$" not in mailoutbox[0].body
    # A month with nothing on the account: nobody is told.
    assert statements_announce("2026-06") == 0


def test_a_client_with_something_owed_or_in_credit_sees_it_on_their_home(billed, chart, client_user, admin, login_as):
    from billing.services.ledger import payment_record

    home = login_as(client_user).get("/").content.decode()
    assert "You owe <strong>$475.00</strong>" in home and f"/billing/clients/{chart.pk}/" in home
    payment_record(actor=admin, chart=chart, access=Access.ADMIN, amount="475", method="cash",
                   received_on="2026-11-30", context=None)  # fmt: skip
    assert 'id="home-account"' not in login_as(client_user).get("/").content.decode()  # nothing owed: no card
    payment_record(actor=admin, chart=chart, access=Access.ADMIN, amount="25", method="cash", received_on="2026-11-30",
                   context=None)  # fmt: skip
    assert "in credit by $25.00" in login_as(client_user).get("/").content.decode()
    assert 'id="home-account"' not in login_as(admin).get("/").content.decode()
