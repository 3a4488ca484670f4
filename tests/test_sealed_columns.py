"""Every free-text column a person types about themself or a client is sealed with the key ring.

This walks every text column of every model of the project. A column is fine if it is an
EncryptedTextField, holds one of a fixed list of choices, or is on the short list below, each
with the reason it may stay plain. A new plain text column fails here until it is sealed or
argued onto the list.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import models

from teletherapy.fields import EncryptedTextField

pytestmark = [pytest.mark.embedded]

PROJECT_APPS = {"accounts", "audit", "consent", "records", "messaging", "intake", "video"}

PLAIN_ALLOWED = {
    # The witness's connection error (host, port, the socket's message): about this server only.
    "audit.WitnessOutage.last_error": "a network error message",
    # Names and addresses people are known by: needed to sign in, to address e-mail, to list members.
    "accounts.Practice.name": "the practice's own name",
    "accounts.Practice.office_days": "the weekdays the practice answers messages",
    "accounts.PracticeLogo.digest": "the hash of the practice's logo, which is its address",
    "records.ChartDocument.sha256": "the hash of a document's checked bytes, to check a download",
    "records.ChartDocument.stored_as": "a random name in the document store, which says nothing of whose file it is",
    "accounts.User.email": "the sign-in address",
    "accounts.User.full_name": "a name",
    "accounts.Invitation.email": "an address to send the invitation to",
    "accounts.Invitation.full_name": "a name",
    "consent.ConsentSignature.typed_name": "a name, typed as the signature itself",
    "consent.ConsentDocument.title": "a document title",
    "consent.ConsentVersion.body": "the practice's published document text, the same for everyone",
    "intake.IntakeForm.title": "the title of a practice's form, the same for everyone",
    "intake.IntakeFormVersion.fields": "a practice's form questions (never the answers), the same for everyone",
    "intake.IntakePacket.typed_name": "a name, typed as the signature itself",
    # Identifiers, digests and values the system makes, never typed by a person.
    "accounts.Practice.slug": "made from the practice name",
    "accounts.Practice.time_zone": "an IANA zone name",
    "accounts.User.time_zone": "an IANA zone name",
    "accounts.User.password": "an Argon2 hash",
    "accounts.Invitation.token_hash": "a SHA-256 digest",
    "accounts.EnrollmentLink.token_hash": "a SHA-256 digest",
    "accounts.PasswordResetLink.token_hash": "a SHA-256 digest",
    "video.SessionType.name": "the name of a kind of session a therapist offers, such as 'Individual session'",
    "accounts.KnownBrowser.token_hash": "a SHA-256 digest",
    "accounts.RecoveryRequest.cancel_token_hash": "a SHA-256 digest",
    "video.CalendarFeed.token_hash": "a SHA-256 digest",
    # A passkey's public half and its id: public by design (the private key never leaves the device).
    "accounts.PasskeyDevice.credential_id": "a credential id the browser sends in the clear",
    "accounts.PasskeyDevice.public_key": "a public key",
    "accounts.PasskeyDevice.name": "what the person called their device, shown to them to tell passkeys apart",
    "accounts.LoginThrottle.key": "the e-mail or address being throttled",
    "accounts.TOTPDevice.name": "a fixed device label",
    "accounts.BackupCodeDevice.name": "a fixed device label",
    "accounts.BackupCode.key_id": "a key id",
    "accounts.BackupCode.digest": "an HMAC digest",
    "accounts.UserSession.session_key": "a session key",
    "audit.AuditEvent.actor_role": "role names",
    "audit.AuditEvent.action": "an action code",
    "audit.AuditEvent.target_type": "a model label",
    "audit.AuditEvent.target_id": "a primary key",
    "audit.AuditEvent.request_id": "a random id",
    "audit.AuditEvent.key_id": "a key id",
    "audit.AuditEvent.prev_mac": "an HMAC",
    "audit.AuditEvent.mac": "an HMAC",
    "audit.AuditChainHead.mac": "an HMAC",
    "audit.AuditChainHead.digest": "a SHA-256 digest",
    "audit.AuditCheckpoint.head_mac": "an HMAC",
    "audit.AuditCheckpoint.head_digest": "a SHA-256 digest",
    "audit.AuditCheckpoint.key_id": "a key id",
    "audit.AuditCheckpoint.signature": "an Ed25519 signature",
    "audit.AuditFlag.key": "rule, subject and hour",
    "audit.AuditFlag.summary": "written by the anomaly rules, with counts and no names",
    "consent.ConsentVersion.body_sha256": "a SHA-256 digest",
    "consent.ConsentSignature.version_sha256": "a SHA-256 digest",
    "consent.ConsentRequest.reason": "a fixed reason code",
    "records.ClientChart.date_of_birth_index": "a keyed blind index",
    "records.BillingRecord.cpt_code": "a five-character procedure code, checked against its format",
    "records.BillingRecord.modifier": "a two-character telehealth modifier from a fixed list (95, 93, FQ)",
    "records.BillingRecord.place_of_service": "a two-digit place-of-service code from a fixed list (10, 02)",
    "records.BillingIdentity.npi": "a provider's National Provider Identifier, public in the NPI registry",
    "records.BillingIdentity.taxonomy": "a provider's specialty code from the public taxonomy, no one's data",
    "records.ServiceCode.code": "the practice's list of CPT codes it bills, the same for every client",
    "records.ServiceCode.description": "what each CPT code stands for, from the catalog; no one's data",
    # What the browser sends about itself.
    "accounts.UserSession.user_agent": "the browser's user agent",
    "audit.AuditEvent.user_agent": "the browser's user agent",
    "consent.ConsentSignature.user_agent": "the browser's user agent",
    "consent.ConsentWithdrawal.user_agent": "the browser's user agent",
}


def plain_text_columns() -> list[str]:
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.CharField | models.TextField):
                continue
            if isinstance(field, EncryptedTextField) or field.choices:
                continue
            found.append(f"{model._meta.label}.{field.name}")
    return sorted(found)


def test_every_plain_text_column_is_sealed_or_argued_for():
    unexplained = [name for name in plain_text_columns() if name not in PLAIN_ALLOWED]
    assert not unexplained, f"Seal these with EncryptedTextField, or argue them onto PLAIN_ALLOWED: {unexplained}"


def test_the_list_names_only_columns_that_exist():
    stale = sorted(set(PLAIN_ALLOWED) - set(plain_text_columns()))
    assert not stale, f"No longer plain text columns; drop them from the list: {stale}"


def test_free_text_about_people_is_sealed():
    sealed = {
        f"{m._meta.label}.{f.name}"
        for m in apps.get_models()
        for f in m._meta.concrete_fields
        if isinstance(f, EncryptedTextField)
    }
    assert {
        "consent.ConsentWithdrawal.reason",
        "consent.ParticipantAgreement.text",
        "audit.AuditFlagAcknowledgement.note",
        "records.ProgressNote.body",
        "records.EmergencyAccess.reason",
    } <= sealed


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("app", "before", "after"),
    [("consent", "0002_append_only_guards", "0003_seal_withdrawal_reason")],
)
def test_sealing_in_place_keeps_every_stored_reason(app, before, after, consent_docs, client_user):
    """Migrating back opens the sealed reasons into the plain column; forward seals them again,
    readable and append-only afterwards."""
    from django.db import DatabaseError, connection, transaction
    from django.db.migrations.executor import MigrationExecutor

    from consent.models import ConsentWithdrawal
    from consent.services import consent_withdraw
    from tests.conftest import sign

    reasons = ["I moved abroad; please stop.", "", "Zu viel — ich höre auf."]
    for reason in reasons:
        signature = sign(client_user, "telehealth")
        consent_withdraw(actor=client_user, signature=signature, reason=reason, context=None)

    def raw(column):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {column} FROM consent_consentwithdrawal ORDER BY withdrawn_at")
            return [row[0] for row in cursor.fetchall()]

    from tests.conftest import as_owner

    with as_owner():  # migrations run as the owner
        executor = MigrationExecutor(connection)
        executor.migrate([(app, before)])
    assert [value or "" for value in raw("reason")] == reasons  # opened into the plain column
    with as_owner():
        executor = MigrationExecutor(connection)
        executor.migrate([(app, after)])
    sealed = raw("reason")
    assert all(value is None or value.startswith("tt1:") for value in sealed)
    assert "abroad" not in str(sealed)
    assert [w.reason or "" for w in ConsentWithdrawal.objects.order_by("withdrawn_at")] == reasons
    with pytest.raises(DatabaseError), transaction.atomic():
        ConsentWithdrawal.objects.update(reason=None)
