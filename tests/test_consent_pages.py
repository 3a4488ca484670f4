"""Consent through the pages people use: signing, signed copies, withdrawal, admin and therapist views."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.db import DatabaseError, connection, transaction

from audit.models import Action, AuditEvent
from consent.models import ConsentSignature, ConsentVersion, ConsentWithdrawal, ParticipantAgreement
from tests.conftest import password_only_session, sign, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _sign_page(client, version, **query):
    suffix = "".join(f"?for={v}" for v in query.values())
    return f"/consent/versions/{version.pk}/sign/{suffix}"


def test_a_client_signs_with_their_typed_name(login_as, client_user, consent_docs):
    version = consent_docs["treatment"]
    client = login_as(client_user)
    page = client.get(_sign_page(client, version))
    assert page.status_code == 200 and b"Consent to treatment" in page.content
    assert version.body_sha256.encode() in page.content
    response = client.post(
        _sign_page(client, version),
        {"typed_name": "  casey   CLIENT ", "confirm_read": "on"},
        HTTP_USER_AGENT="TestBrowser/2",
    )
    assert response.status_code == 302
    signature = ConsentSignature.objects.get()
    assert signature.signer == client_user and signature.on_behalf_of == client_user
    assert signature.version_sha256 == version.body_sha256 and signature.version_number == 1
    assert signature.ip_address == "127.0.0.1" and signature.user_agent == "TestBrowser/2"
    assert AuditEvent.objects.filter(action=Action.CONSENT_SIGN, subject_client_id=client_user.pk).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"typed_name": "Someone Else", "confirm_read": "on"}, b"exactly as it is on your account"),
        ({"typed_name": "Casey Client"}, b"confirm you have read"),
        ({"typed_name": "", "confirm_read": "on"}, b"required"),
    ],
)
def test_a_bad_signature_is_refused_and_stores_nothing(login_as, client_user, consent_docs, data, message):
    client = login_as(client_user)
    response = client.post(_sign_page(client, consent_docs["treatment"]), data)
    assert response.status_code == 400
    assert message in response.content
    assert not ConsentSignature.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.CONSENT_SIGN).exists()


def test_a_draft_cannot_be_signed(login_as, client_user, consent_docs, admin):
    from consent.services import consent_draft_create

    draft = consent_draft_create(actor=admin, document=consent_docs["treatment"].document, context=None)
    client = login_as(client_user)
    response = client.post(_sign_page(client, draft), {"typed_name": "Casey Client", "confirm_read": "on"})
    assert response.status_code == 400 and b"draft" in response.content
    assert not ConsentSignature.objects.exists()


def test_a_superseded_version_cannot_be_signed(login_as, client_user, consent_docs, admin):
    from consent.services import consent_draft_create, consent_publish

    old = consent_docs["treatment"]
    draft = consent_draft_create(actor=admin, document=old.document, context=None)
    consent_publish(actor=admin, version=draft, requires_reconsent=True, context=None)
    client = login_as(client_user)
    response = client.post(_sign_page(client, old), {"typed_name": "Casey Client", "confirm_read": "on"})
    assert response.status_code == 400 and b"newer version" in response.content
    assert not ConsentSignature.objects.exists()


def test_another_practices_document_is_not_found(login_as, client_user, consent_docs, stranger, other_practice):
    from consent.selectors import current_version
    from consent.services import consent_defaults_seed

    consent_defaults_seed(practice=other_practice)
    theirs = current_version(practice_id=other_practice.pk, kind="treatment")
    client = login_as(client_user)
    response = client.post(_sign_page(client, theirs), {"typed_name": "Casey Client", "confirm_read": "on"})
    assert response.status_code == 404
    assert not ConsentSignature.objects.exists()
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, actor_id=client_user.pk).exists()


def test_signing_twice_is_idempotent(login_as, client_user, consent_docs):
    client = login_as(client_user)
    for _ in range(2):
        client.post(
            _sign_page(client, consent_docs["telehealth"]), {"typed_name": "Casey Client", "confirm_read": "on"}
        )
    assert ConsentSignature.objects.count() == 1


def test_a_guardian_signs_for_the_minor(login_as, guardian, client_user, consent_docs):
    client = login_as(guardian)
    mine = client.get("/consent/").content.decode()
    assert "For Casey Client" in mine
    response = client.post(
        _sign_page(client, consent_docs["guardian"], for_=client_user.pk),
        {"typed_name": "Gale Guardian", "confirm_read": "on"},
    )
    assert response.status_code == 302
    signature = ConsentSignature.objects.get()
    assert signature.signer == guardian and signature.on_behalf_of == client_user


def test_the_signed_copy_shows_the_exact_text_and_hash(
    login_as, client_user, therapist, chart, colleague, admin, stranger, consent_docs
):
    signature = sign(client_user, "telehealth")
    for viewer in (client_user, therapist):
        page = login_as(viewer).get(f"/consent/signatures/{signature.pk}/")
        assert page.status_code == 200
        assert signature.version_sha256.encode() in page.content
        assert b"never recorded" in page.content
    download = login_as(client_user).get(f"/consent/signatures/{signature.pk}/?download=1")
    assert download["Content-Disposition"].startswith("attachment;")
    text = download.content.decode()
    body = text.split("\n\n---\n")[0]
    import hashlib

    assert hashlib.sha256(body.encode()).hexdigest() == signature.version_sha256
    # Off the care team, the admin (status only) and another practice: the signed copy does not exist.
    for outsider in (colleague, admin, stranger):
        assert login_as(outsider).get(f"/consent/signatures/{signature.pk}/").status_code == 404
    assert AuditEvent.objects.filter(action=Action.CONSENT_SIGNATURE_VIEW).count() == 3
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, target_id=str(signature.pk)).count() == 3


def test_withdrawing_explains_itself_and_records_a_new_row(login_as, client_user, consent_docs):
    signature = sign(client_user, "telehealth")
    client = login_as(client_user)
    page = client.get(f"/consent/signatures/{signature.pk}/withdraw/")
    assert b"only from now on" in page.content
    assert (
        client.post(f"/consent/signatures/{signature.pk}/withdraw/", {"reason": "Not comfortable"}).status_code == 302
    )
    withdrawal = ConsentWithdrawal.objects.get()
    assert withdrawal.reason == "Not comfortable" and withdrawal.signature_id == signature.pk
    assert ConsentSignature.objects.filter(pk=signature.pk).exists()
    again = client.post(f"/consent/signatures/{signature.pk}/withdraw/", {"reason": ""})
    assert again.status_code == 400 and b"already been withdrawn" in again.content
    assert AuditEvent.objects.filter(action=Action.CONSENT_WITHDRAW).count() == 1


def test_a_therapist_cannot_withdraw_for_a_client(login_as, client_user, therapist, consent_docs):
    signature = sign(client_user, "telehealth")
    assert login_as(therapist).post(f"/consent/signatures/{signature.pk}/withdraw/").status_code == 403
    assert not ConsentWithdrawal.objects.exists()


def test_signatures_and_withdrawals_are_append_only_in_the_database(client_user, consent_docs):
    signature = sign(client_user, "telehealth")
    from consent.services import consent_withdraw

    consent_withdraw(actor=client_user, signature=signature, reason="", context=None)
    for statement in (
        "UPDATE consent_consentsignature SET typed_name = 'x'",
        "DELETE FROM consent_consentsignature",
        "UPDATE consent_consentwithdrawal SET reason = 'x'",
        "DELETE FROM consent_consentwithdrawal",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert ConsentSignature.objects.count() == 1 and ConsentWithdrawal.objects.count() == 1


def test_after_sign_in_a_client_is_led_to_what_is_missing(client_user, consent_docs, schedule):
    schedule(client_user)
    client = password_only_session(client_user)
    response = client.post("/mfa/", {"code": totp_code(client_user.totp_secret)})
    # One page holds both documents the session needs, and nothing optional.
    assert response["Location"] == "/consent/sign/"
    page = client.get("/consent/sign/").content.decode()
    assert "Read and sign 2 documents" in page
    for kind in ("treatment", "telehealth"):
        assert consent_docs[kind].document.title in page
    for kind in ("couples_agreement", "privacy", "guardian"):
        assert consent_docs[kind].document.title not in page
    versions = [str(consent_docs["treatment"].pk), str(consent_docs["telehealth"].pk)]
    # One typed name signs both, each a signature of its own.
    done = client.post("/consent/sign/", {"typed_name": "Casey Client", "confirm_read": "on", "version": versions})
    assert done["Location"] == "/consent/"
    assert sorted(ConsentSignature.objects.filter(on_behalf_of=client_user).values_list("kind", flat=True)) == [
        "telehealth",
        "treatment",
    ]
    assert AuditEvent.objects.filter(action=Action.CONSENT_SIGN).count() == 2


def test_the_dashboard_lists_what_to_sign_before_the_sessions_once(login_as, client_user, consent_docs, schedule):
    schedule(client_user)
    schedule(client_user, in_hours=48)  # a second session needs the same forms: listed once
    page = login_as(client_user).get("/").content.decode()
    assert "Before your sessions" in page
    assert page.count("Read and sign: Consent to treatment") == 1
    assert page.count("Read and sign: Consent to telehealth technology") == 1


def test_the_therapist_sees_consent_status_and_requests_a_signature(
    login_as, therapist, client_user, chart, consent_docs, django_capture_on_commit_callbacks
):
    sign(client_user, "treatment")
    client = login_as(therapist)
    page = client.get("/consent/caseload/").content.decode()
    assert "Casey Client" in page and "v1 signed" in page and "missing" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/consent/caseload/{client_user.pk}/request/", {"kind": "telehealth"})
    assert response.status_code == 302
    assert mail.outbox[-1].to == [client_user.email]
    assert "Consent to telehealth technology" in mail.outbox[-1].body
    assert AuditEvent.objects.filter(action=Action.CONSENT_REQUEST, subject_client_id=client_user.pk).exists()


def test_a_therapist_records_a_per_participant_agreement_encrypted(
    login_as, therapist, client_user, chart, consent_docs
):
    client = login_as(therapist)
    text = "Sam asked that the affair stays out of joint sessions; I explained the no-secrets policy."
    assert client.post(f"/consent/caseload/{client_user.pk}/agreements/", {"text": text}).status_code == 302
    assert text.encode() in client.get(f"/consent/caseload/{client_user.pk}/agreements/").content
    raw = ParticipantAgreement.objects.values_list("text", flat=True).get()
    assert raw.startswith("tt1:") and "affair" not in raw
    assert AuditEvent.objects.filter(action=Action.CONSENT_AGREEMENT_RECORD).exists()


def test_a_client_cannot_see_the_caseload(login_as, client_user):
    assert login_as(client_user).get("/consent/caseload/").status_code == 403


def test_the_admin_drafts_and_publishes_a_new_version(
    login_as, admin, client_user, consent_docs, django_capture_on_commit_callbacks
):
    sign(client_user, "privacy")
    client = login_as(admin)
    document = consent_docs["privacy"].document
    response = client.post(f"/consent/manage/documents/{document.pk}/draft/")
    draft = ConsentVersion.objects.get(document=document, status="draft")
    assert response["Location"] == f"/consent/manage/versions/{draft.pk}/"
    client.post(response["Location"], {"save": "1", "body": "# Privacy\n\nNew words."})
    draft.refresh_from_db()
    assert draft.body == "# Privacy\n\nNew words."
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"], {"publish": "1", "requires_reconsent": "on"})
    draft.refresh_from_db()
    assert draft.status == "published" and draft.number == 2
    assert ConsentVersion.objects.get(document=document, number=1).status == "superseded"
    assert AuditEvent.objects.filter(action=Action.CONSENT_PUBLISH, actor_id=admin.pk).exists()
    assert any(client_user.email in m.to for m in mail.outbox)
    signers = client.get(f"/consent/manage/versions/{consent_docs['privacy'].pk}/").content.decode()
    assert "Casey Client" in signers


def test_a_published_version_cannot_be_edited_through_the_page(login_as, admin, consent_docs):
    version = consent_docs["treatment"]
    response = login_as(admin).post(f"/consent/manage/versions/{version.pk}/", {"save": "1", "body": "Changed!"})
    assert response.status_code == 409
    version.refresh_from_db()
    assert version.body.startswith("# Consent to treatment")


def test_a_published_version_cannot_be_saved_even_by_code(consent_docs):
    version = consent_docs["treatment"]
    version.body = "tampered"
    with pytest.raises(PermissionError):
        version.save()


def test_markdown_with_script_renders_inert(login_as, admin, client_user, consent_docs):
    from consent.services import consent_draft_create, consent_draft_update, consent_publish

    draft = consent_draft_create(actor=admin, document=consent_docs["privacy"].document, context=None)
    nasty = "# Hi\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1))\n\n<img src=x onerror=alert(2)>"
    consent_draft_update(actor=admin, version=draft, body=nasty, context=None)
    consent_publish(actor=admin, version=draft, requires_reconsent=True, context=None)
    client = login_as(client_user)
    html = client.get(f"/consent/versions/{draft.pk}/sign/").content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
    assert "<img src=x" not in html and re.search(r"&lt;img src=x onerror=alert\(2\)&gt;", html)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (
            "client",
            ["Home", "Sessions", "Messages", "My record", "Who opened it", "Consent", "Report a concern", "Security"],
        ),
        (
            "therapist",
            # Grouped by task: Today, Clients, Practice, Compliance, You.
            [
                "Home",
                "Sessions",
                "Availability",
                "Charts",
                "Messages",
                "Client consent",
                "Invitations",
                "Training",
                "Report a concern",
                "Security",
            ],
        ),
        (
            "admin",
            [
                "Home",
                "Sessions",
                "Charts",
                "Members",
                "Requests",
                "Billing",
                "Fees",
                "Consent forms",
                "Settings",
                "Audit log",
                "Safeguards",
                "Incidents",
                "Security",
            ],
        ),
    ],
)
def test_the_navigation_fits_the_role(login_as, make_user, role, expected):
    html = login_as(make_user(role)).get("/").content.decode()
    nav = html.split('<nav aria-label="Main" id="main-nav">')[1].split("</nav>")[0]
    assert re.findall(r'<a href="[^"]+"[^>]*>([^<]+)</a>', nav) == expected
    # Staff see the groups named; clients and guardians a short list without headings.
    headings = re.findall(r'<p class="nav-heading" id="nav-group-\d+">([^<]+)</p>', nav)
    assert headings == ([] if role == "client" else ["Today", "Clients", "Practice", "Compliance", "You"])
    # The page shown is marked, and only it.
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', nav) == ["/"]


def test_the_consent_grid_says_withdrawn_and_signed_by_guardian_where_true(
    login_as, therapist, client_user, guardian, chart, consent_docs
):
    from consent.services import consent_withdraw

    # Casey is a minor: the guardian signs for them, and that is what the grid says.
    sign(guardian, "guardian", for_=client_user)
    telehealth = sign(guardian, "telehealth", for_=client_user)
    page = login_as(therapist).get("/consent/caseload/").content.decode()
    assert "v1 signed by guardian" in page and "withdrawn" not in page
    consent_withdraw(actor=guardian, signature=telehealth, reason="", context=None)
    page = login_as(therapist).get("/consent/caseload/").content.decode()
    assert "withdrawn" in page


@pytest.mark.parametrize(
    ("path", "marked"),
    [
        ("/sessions/settings/", "/sessions/settings/"),
        ("/sessions/", "/sessions/"),
        ("/records/charts/", "/records/charts/"),
    ],
)
def test_one_item_is_current_the_most_specific(login_as, make_user, path, marked):
    """Settings lives under /sessions/ (/sessions/settings/): on its page Settings is current, and Sessions is not."""
    html = login_as(make_user("admin")).get(path).content.decode()
    nav = html.split('<nav aria-label="Main" id="main-nav">')[1].split("</nav>")[0]
    assert re.findall(r'<a href="([^"]+)" aria-current="page">', nav) == [marked]


def statuses(page: str) -> dict[str, str]:
    """Each row's document kind and the words of its status cell."""
    found = re.findall(r'<tr data-kind="(\w+)">.*?<td class="status">(.*?)</td>', page, re.S)
    return {kind: re.sub(r"<[^>]+>|\s+", " ", cell).strip() for kind, cell in found}


def test_an_adult_seen_alone_sees_two_needed_and_the_privacy_notice_to_read(
    login_as, client_user, therapist, make_user, consent_docs, schedule
):
    schedule(client_user)
    page = login_as(client_user).get("/consent/").content.decode()
    adult = statuses(page)
    assert adult == {"treatment": "Needed", "telehealth": "Needed", "privacy": "Optional"}
    assert "2 documents are needed" in page and "Read and sign them" in page
    # Seen with a partner, the agreement is needed of them too.
    schedule(client_user, make_user("client", name="Robin Partner"), kind="couple", in_hours=50)
    assert statuses(login_as(client_user).get("/consent/").content.decode())["couples_agreement"] == "Needed"


def test_a_minor_and_their_guardian_see_who_signs_what(login_as, client_user, guardian, consent_docs, schedule):
    schedule(client_user)
    minor = statuses(login_as(client_user).get("/consent/").content.decode())
    # The guardian's consent waits for the guardian: never "signed by a guardian" when nobody has.
    assert minor["guardian"] == "Waiting for your guardian" and "treatment" not in minor
    assert minor["telehealth"] == "Needed"
    for_the_minor = statuses(login_as(guardian).get("/consent/").content.decode())
    assert for_the_minor["guardian"] == "Needed" and "couples_agreement" not in for_the_minor
    sign(guardian, "guardian", for_=client_user)
    minor = statuses(login_as(client_user).get("/consent/").content.decode())
    assert minor["guardian"].startswith("Signed") and f"by {guardian.full_name}" in minor["guardian"]
    assert statuses(login_as(guardian).get("/consent/").content.decode())["guardian"].endswith("by you")


def test_the_therapist_grid_asks_the_couples_agreement_only_of_clients_seen_jointly(
    login_as, therapist, client_user, make_user, chart, consent_docs, schedule
):
    schedule(client_user)
    page = login_as(therapist).get("/consent/caseload/").content.decode()
    row = page[page.index(client_user.full_name) :].split("</tr>")[0]
    assert row.count("missing") == 2 and row.count("not needed") == 2
    partner = make_user("client", name="Robin Partner")
    schedule(client_user, partner, kind="couple", in_hours=50)
    page = login_as(therapist).get("/consent/caseload/").content.decode()
    row = page[page.index(client_user.full_name) :].split("</tr>")[0]
    assert row.count("missing") == 3 and row.count("not needed") == 1


def test_signing_together_is_all_or_nothing_and_refuses_a_document_changed_meanwhile(
    login_as, client_user, consent_docs, schedule
):
    schedule(client_user)
    browser = login_as(client_user)
    wrong_name = browser.post(
        "/consent/sign/",
        {
            "typed_name": "Someone Else",
            "confirm_read": "on",
            "version": [str(consent_docs["treatment"].pk), str(consent_docs["telehealth"].pk)],
        },
    )
    assert wrong_name.status_code == 400 and "Type your full name exactly" in wrong_name.content.decode()
    unread = browser.post("/consent/sign/", {"typed_name": "Casey Client", "confirm_read": "on", "version": []})
    assert unread.status_code == 302 and unread["Location"] == "/consent/sign/"
    no_box = browser.post(
        "/consent/sign/",
        {
            "typed_name": "Casey Client",
            "version": [str(consent_docs["treatment"].pk), str(consent_docs["telehealth"].pk)],
        },
    )
    assert no_box.status_code == 400
    assert not ConsentSignature.objects.exists()


def test_a_guardian_signs_nothing_for_an_adult_nor_for_another_familys_minor(
    login_as, client_user, guardian, make_user, consent_docs, schedule
):
    from accounts.models import GuardianLink
    from records.models import ClientChart

    other_minor = make_user("client", name="Other Minor")
    ClientChart.objects.create(client=other_minor, practice_id=other_minor.practice_id, is_minor=True)
    schedule(other_minor)
    # Casey (this guardian's ward) turns out to be an adult: the guardian acts for nobody.
    ClientChart.objects.filter(client=client_user).update(is_minor=False)
    schedule(client_user, in_hours=30)
    assert GuardianLink.objects.filter(guardian=guardian, client=client_user).exists()
    browser = login_as(guardian)
    page = browser.get("/consent/").content.decode()
    assert "There is nothing for you to sign." in page and "Other Minor" not in page
    assert browser.get("/consent/sign/")["Location"] == "/consent/"
