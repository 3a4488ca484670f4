"""Every page and every API operation, for every persona, reads and writes.

The operations come from the URL resolver and the OpenAPI schema, so a new endpoint fails here
until it is given a rule. For each (operation, persona) the test asserts:

- the status: refused (403/404) exactly when the persona is outside the rule, never a 500;
- a refusal changes nothing stored and writes exactly one ``access.denied``;
- an allowed read of another person's data writes exactly one event, naming the actor and the
  client;
- every status the API gives is one its schema declares.

Each case runs in a savepoint that is rolled back, so every case starts from the same world.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.db import connections, transaction
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import Action, AuditEvent
from records.models import ClientChart
from tests.access_world import (
    ADMIN,
    ADMIN_THERAPIST,
    ADULT_PERSONAS,
    EMERGENCY,
    GUARDIAN,
    GUARDIAN_ADULT,
    GUARDIAN_OTHER,
    MINOR_PERSONAS,
    OFF,
    OUTSIDER,
    PARTNER,
    SELF,
    TEAM,
    build,
    signed_in,
)

pytestmark = [pytest.mark.django_db(databases="__all__")]

# Who may do what, by relation to the subject client ----------------------------------------------

EVERYONE = frozenset(
    {SELF, PARTNER, TEAM, OFF, EMERGENCY, ADMIN, ADMIN_THERAPIST, GUARDIAN, GUARDIAN_OTHER, GUARDIAN_ADULT, OUTSIDER}
)
THERAPISTS = frozenset({TEAM, OFF, EMERGENCY, ADMIN_THERAPIST, OUTSIDER})
ADMINS = frozenset({ADMIN, ADMIN_THERAPIST})
STAFF = THERAPISTS | ADMINS
CLIENTS_AND_GUARDIANS = frozenset({SELF, PARTNER, GUARDIAN, GUARDIAN_OTHER, GUARDIAN_ADULT})
CLIENTS = frozenset({SELF, PARTNER})
SUMMARY = frozenset({SELF, TEAM, EMERGENCY, ADMIN, ADMIN_THERAPIST, GUARDIAN})
CLINICAL = frozenset({SELF, TEAM, EMERGENCY, GUARDIAN})
BILLING = frozenset({SELF, TEAM, ADMIN, ADMIN_THERAPIST, GUARDIAN})
KEEPERS = frozenset({TEAM, ADMIN, ADMIN_THERAPIST})  # who changes a client's account
ONLY_TEAM = frozenset({TEAM})
CONSENT_FULL = frozenset({SELF, TEAM, GUARDIAN})
CONSENT_STATUS = CONSENT_FULL | ADMINS
ACTS_FOR = frozenset({SELF, GUARDIAN})
IN_THE_CALL = frozenset({SELF, PARTNER, TEAM})
ON_THE_SCHEDULE = IN_THE_CALL | {GUARDIAN}
ONLY_SELF = frozenset({SELF})
REPORTER = ONLY_SELF | ADMINS


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    reads: bool = False  # an allowed read of the subject's data: exactly one event names actor and client
    query: tuple[tuple[str, str], ...] = ()  # query string, values formatted with the world's objects
    body: tuple[tuple[str, Any], ...] = ()


R = Rule

# Pages: (route name, method) -> rule. Sign-in, MFA and invitation pages need no session and are
# covered by their own tests.
EXEMPT_PAGES = {
    "health",
    "health_live",
    "home:ready",
    "accounts:login",
    "accounts:logout",
    "accounts:mfa",
    "accounts:mfa_enroll",
    "accounts:invitation_accept",
    "accounts:enroll_link",
    "accounts:passkey_options",
    "accounts:recovery",
    "accounts:recovery_cancel",
    # A forgotten password, before any sign-in (tests/test_password_reset.py).
    "accounts:password_forgot",
    "accounts:password_reset",
    "accounts:password_reset_link",
    # The public page to ask for a first session (tests/test_first_sessions.py).
    "sessions:ask",
    # A calendar app's fetch: the secret address is the credential (tests/test_calendar.py).
    "sessions:feed",
    # Public on purpose, read before signing up (tests/test_factsheet.py).
    "privacy:index",
    "privacy:sheet",
    # Sample components only, and absent in production (tests/test_style_guide.py).
    "home:style_guide",
}
VENDOR = (("name", "Example Mail"), ("service", "E-mail"), ("data_touched", "Addresses"))
PAGES: dict[tuple[str, str], Rule] = {
    ("home:dashboard", "get"): R(EVERYONE),
    ("accounts:security", "get"): R(EVERYONE),
    ("accounts:password_change", "post"): R(EVERYONE),
    ("accounts:sessions_revoke_others", "post"): R(EVERYONE),
    ("accounts:reauth", "get"): R(EVERYONE),
    ("accounts:mfa_replace", "get"): R(EVERYONE),
    ("accounts:backup_codes", "get"): R(EVERYONE),
    ("accounts:passkey_add", "get"): R(EVERYONE),
    ("accounts:passkey_add", "post"): R(EVERYONE, body=(("code", "000000"),)),
    ("accounts:passkey_remove", "get"): R(EVERYONE),
    ("accounts:passkey_remove", "post"): R(EVERYONE),
    ("accounts:sign_in_policy", "post"): R(ADMINS, body=(("passkeys_required_for_staff", "1"),)),
    ("accounts:practice_currency", "post"): R(ADMINS, body=(("currency", "EUR"),)),
    ("accounts:practice_office_hours", "post"): R(
        ADMINS, body=(("days", "0"), ("opens", "09:00"), ("closes", "17:00"))
    ),
    ("accounts:practice_logo", "post"): R(ADMINS),
    ("accounts:practice_logo_remove", "post"): R(ADMINS, body=(("confirmed", "yes"),)),
    ("accounts:practice_logo_image", "get"): R(EVERYONE - {OUTSIDER}),
    ("accounts:recoveries", "get"): R(ADMINS),
    ("accounts:recoveries", "post"): R(
        ADMINS, body=(("action", "approve"), ("recovery", "{recovery_id}"), ("identity_check", "Called them"))
    ),
    ("accounts:session_status", "get"): R(EVERYONE),
    ("accounts:session_keepalive", "post"): R(EVERYONE),
    ("accounts:invitations", "get"): R(STAFF),
    ("accounts:invitations", "post"): R(STAFF),
    ("accounts:invitation_revoke", "post"): R(frozenset({TEAM, ADMIN, ADMIN_THERAPIST})),
    ("accounts:members", "get"): R(ADMINS),
    ("accounts:member_role", "post"): R(ADMINS, body=(("role", "therapist"), ("change", "grant"))),
    ("accounts:member", "get"): R(ADMINS),
    ("accounts:member_password_reset", "post"): R(ADMINS),
    ("sessions:calendar", "get"): R(STAFF),
    ("sessions:availability", "get"): R(THERAPISTS),
    ("sessions:availability", "post"): R(
        THERAPISTS, body=(("action", "hours"), ("d0_from", "09:00"), ("d0_to", "12:00"))
    ),
    ("sessions:feed_manage", "post"): R(THERAPISTS),
    # Booking online: a client books with their care team, moves or cancels their own sessions
    # (a couples session, or one too close, is refused with a reason, not hidden), waits for an
    # earlier time and takes one offered to them; the admins answer requests for a first session.
    ("sessions:book", "get"): R(CLIENTS),
    ("sessions:book", "post"): R(CLIENTS, body=(("type", "{type_id}"), ("starts_at", "{starts_at}"))),
    ("sessions:change", "get"): R(CLIENTS),
    ("sessions:change", "post"): R(CLIENTS, body=(("action", "cancel"),)),
    ("sessions:waitlist", "post"): R(CLIENTS, body=(("type", "{type_id}"),)),
    ("sessions:offer", "get"): R(ONLY_SELF),
    ("sessions:offer", "post"): R(ONLY_SELF),
    ("sessions:requests", "get"): R(ADMINS),
    ("sessions:requests", "post"): R(ADMINS, body=(("request", "{request_id}"), ("answer", "decline"))),
    ("accounts:member_deactivate", "post"): R(ADMINS, body=(("confirmed", "yes"),)),
    ("accounts:member_reactivate", "post"): R(ADMINS),
    ("accounts:member_confirm", "post"): R(ADMINS),
    ("consent:mine", "get"): R(CLIENTS_AND_GUARDIANS),
    ("consent:sign_needed", "get"): R(CLIENTS_AND_GUARDIANS),
    ("consent:sign_needed", "post"): R(CLIENTS_AND_GUARDIANS, body=(("typed_name", "Signer"), ("confirm_read", "on"))),
    ("consent:sign", "get"): R(ACTS_FOR, query=(("for", "{client_id}"),)),
    ("consent:sign", "post"): R(
        ACTS_FOR, query=(("for", "{client_id}"),), body=(("typed_name", "Signer"), ("confirm_read", "on"))
    ),
    ("consent:signature", "get"): R(CONSENT_FULL, reads=True),
    ("consent:withdraw", "get"): R(ACTS_FOR),
    ("consent:withdraw", "post"): R(ACTS_FOR, body=(("reason", "Changed my mind."),)),
    ("consent:caseload", "get"): R(THERAPISTS),
    ("consent:request", "post"): R(frozenset({TEAM, ADMIN, ADMIN_THERAPIST}), body=(("kind", "telehealth"),)),
    ("consent:agreements", "get"): R(ONLY_TEAM, reads=True),
    ("consent:agreements", "post"): R(ONLY_TEAM, body=(("text", "No secrets between sessions."),)),
    ("consent:documents", "get"): R(ADMINS),
    ("consent:draft_new", "post"): R(ADMINS),
    ("consent:version", "get"): R(ADMINS),
    ("consent:version", "post"): R(ADMINS, body=(("save", "1"), ("body", "New text."))),
    ("records:charts", "get"): R(STAFF),
    ("records:chart", "get"): R(frozenset({TEAM, EMERGENCY, ADMIN, ADMIN_THERAPIST}), reads=True),
    ("records:chart", "post"): R(ONLY_TEAM, body=(("phone", "555-0100"),)),
    ("records:emergency", "get"): R(frozenset({TEAM, OFF, EMERGENCY})),
    ("records:emergency", "post"): R(
        frozenset({TEAM, OFF, EMERGENCY}), body=(("reason", "The client called in crisis; cover needed."),)
    ),
    ("records:note_new", "get"): R(ONLY_TEAM),
    ("records:note_new", "post"): R(ONLY_TEAM, body=(("template", "soap"), ("plan", "x"))),
    ("records:assessment_assign", "post"): R(ONLY_TEAM, body=(("kind", "phq9"),)),
    ("records:billing_add", "post"): R(frozenset({TEAM, ADMIN, ADMIN_THERAPIST})),
    # A charge is adjusted or confirmed by the care team or an admin (the one in the world is
    # submitted already, so it is refused with a reason, not hidden); fees are the admins'.
    ("records:billing_change", "post"): R(frozenset({TEAM, ADMIN, ADMIN_THERAPIST}), body=(("fee", "90"),)),
    ("records:diagnoses", "get"): R(ONLY_TEAM, reads=True),
    ("records:diagnoses", "post"): R(ONLY_TEAM, body=(("action", "add"), ("code", "F43.10"))),
    ("records:superbill", "get"): R(BILLING, reads=True, query=(("month", "2026-11"),)),
    # A client's account (billing/): read by the chart's billing rule, kept by the care team and admins.
    ("billing:home", "get"): R(ADMINS),
    ("billing:account", "get"): R(BILLING, reads=True),
    ("billing:statement", "get"): R(BILLING, reads=True),
    ("billing:invoice", "get"): R(BILLING, reads=True),
    ("billing:payment", "post"): R(KEEPERS, body=(("amount", "10"), ("method", "cash"), ("received_on", "2026-11-20"))),
    ("billing:adjustment", "post"): R(
        KEEPERS, body=(("kind", "write_off"), ("amount", "5"), ("reason", "Hardship"), ("made_on", "2026-11-20"))
    ),
    ("billing:invoice_issue", "post"): R(KEEPERS),
    ("billing:coverage", "post"): R(
        KEEPERS, body=(("payer_name", "Acme Health"), ("payer_id", "ACME1"), ("member_id", "XYZ2"))
    ),
    ("billing:claim_make", "post"): R(KEEPERS, body=(("charges", "{billing_id}"),)),
    ("billing:claim_status", "post"): R(KEEPERS, body=(("status", "sent"), ("on", "2026-11-30"))),
    ("billing:claim_cms1500", "get"): R(KEEPERS, reads=True),
    ("billing:claim_837p", "get"): R(KEEPERS, reads=True),
    ("records:services", "get"): R(ADMINS),
    ("records:services", "post"): R(ADMINS, body=(("fee_90834", "130"),)),
    ("records:psychotherapy_new", "get"): R(ONLY_TEAM),
    ("records:psychotherapy_new", "post"): R(ONLY_TEAM, body=(("body", "Mine."),)),
    ("records:export_new", "post"): R(ACTS_FOR),
    ("records:note", "get"): R(CLINICAL, reads=True),
    ("records:note", "post"): R(ONLY_TEAM, body=(("plan", "Edited."),)),
    ("records:note_sign", "post"): R(ONLY_TEAM, body=(("confirmed", "yes"),)),
    ("records:note_share", "post"): R(ONLY_TEAM, body=(("confirmed", "yes"),)),
    ("records:note_unshare", "post"): R(ONLY_TEAM),
    ("records:note_addendum", "post"): R(ONLY_TEAM, body=(("body", "Addendum."),)),
    ("records:psychotherapy_note", "get"): R(ONLY_TEAM),
    ("records:psychotherapy_note", "post"): R(ONLY_TEAM, body=(("body", "Mine, edited."),)),
    ("records:portal", "get"): R(CLIENTS_AND_GUARDIANS),
    ("records:assessment", "get"): R(ONLY_SELF),
    ("records:assessment", "post"): R(ONLY_SELF),
    ("records:export", "get"): R(ONLY_SELF),
    # Documents: the care team, the client and a guardian the chart allows add them (emergency
    # access only reads); the one in the world is the care team's, shared with the client.
    ("records:document_upload", "post"): R(frozenset({SELF, TEAM, GUARDIAN})),
    ("records:document", "get"): R(CLINICAL, reads=True),
    ("records:document_remove", "post"): R(ONLY_TEAM, body=(("confirmed", "yes"),)),
    # Messages: the subject's individual conversation with the care team, which a partner never
    # reads; a guardian where the minor's chart allows. The message in it is the client's.
    ("messaging:list", "get"): R(EVERYONE),
    ("messaging:start", "post"): R(
        frozenset({SELF, TEAM, GUARDIAN}), body=(("client", "{client_id}"), ("therapist", "{team_id}"))
    ),
    ("messaging:conversation", "get"): R(frozenset({SELF, TEAM, GUARDIAN}), reads=True),
    ("messaging:send", "post"): R(frozenset({SELF, TEAM, GUARDIAN}), body=(("body", "Hello."),)),
    ("messaging:edit", "post"): R(ONLY_SELF, body=(("body", "Corrected."),)),
    ("messaging:retract", "post"): R(ONLY_SELF),
    ("messaging:attachment", "get"): R(frozenset({SELF, TEAM, GUARDIAN}), reads=True),
    ("messaging:file", "post"): R(ONLY_TEAM, body=(("into", "{client_id}:new"),)),
    # Intake: the practice's forms are the admins'; a packet is sent by the care team, filled in
    # and signed by whoever acts for the client, and read once filed by the care team and under
    # emergency access. The one in the world is signed, so its answers are filed.
    ("intake:forms", "get"): R(ADMINS),
    ("intake:forms", "post"): R(ADMINS, body=(("title", "Sleep diary"),)),
    ("intake:form_version", "get"): R(ADMINS),
    ("intake:form_version", "post"): R(ADMINS, body=(("action", "add"), ("label", "Hours slept"), ("kind", "text"))),
    ("intake:send", "get"): R(ONLY_TEAM),
    ("intake:send", "post"): R(ONLY_TEAM, body=(("questionnaires", "gad7"),)),
    ("intake:packet", "get"): R(CLINICAL),
    ("intake:sign", "post"): R(ACTS_FOR, body=(("typed_name", "Signer"),)),
    ("intake:withdraw", "post"): R(ONLY_TEAM),
    ("intake:item", "get"): R(CLINICAL, reads=True),
    ("intake:item", "post"): R(ACTS_FOR, body=(("phone", "555-0102"),)),
    ("intake:confirm", "post"): R(ONLY_TEAM),
    ("sessions:list", "get"): R(EVERYONE),
    ("sessions:time_zone", "post"): R(EVERYONE, body=(("time_zone", "Europe/Paris"),)),
    ("sessions:schedule", "get"): R(THERAPISTS),
    ("sessions:schedule", "post"): R(THERAPISTS),
    ("sessions:detail", "get"): R(ONLY_TEAM),
    ("sessions:detail", "post"): R(ONLY_TEAM),
    ("sessions:cancel", "post"): R(ONLY_TEAM),
    ("sessions:join", "get"): R(IN_THE_CALL),
    ("sessions:licenses", "get"): R(THERAPISTS),
    ("sessions:licenses", "post"): R(THERAPISTS, body=(("regions", "US-NY"),)),
    ("sessions:policy", "get"): R(ADMINS),
    ("sessions:policy", "post"): R(ADMINS),
    ("audit:record_access", "get"): R(ACTS_FOR, query=(("client", "{client_id}"),)),
    ("audit:console", "get"): R(ADMINS),
    ("audit:flags", "get"): R(ADMINS),
    ("audit:flags", "post"): R(ADMINS, body=(("flag", "{flag_id}"), ("note", "Reviewed with the therapist."))),
    ("audit:event", "get"): R(ADMINS),
    ("audit:export", "get"): R(ADMINS),
    ("audit:client_report", "get"): R(ADMINS, reads=True),
    ("vendors:list", "get"): R(ADMINS),
    ("vendors:list", "post"): R(ADMINS, body=(("add", "1"), *VENDOR)),
    ("vendors:detail", "get"): R(ADMINS),
    ("vendors:detail", "post"): R(ADMINS, body=VENDOR),
    ("vendors:document", "get"): R(ADMINS),
    ("privacy:reconsent", "post"): R(ADMINS),
    ("privacy:listing", "post"): R(ADMINS, body=(("listed", "1"),)),
    ("training:mine", "get"): R(STAFF),
    ("training:attest", "get"): R(STAFF - {OUTSIDER}),
    ("training:attest", "post"): R(STAFF - {OUTSIDER}, body=(("typed_name", "Somebody Else"),)),
    ("training:admin", "get"): R(ADMINS),
    ("training:admin", "post"): R(ADMINS, body=(("enforcement", "warn"), ("grace_days", "30"))),
    ("training:module", "get"): R(ADMINS),
    ("training:module", "post"): R(ADMINS, body=(("title", "Privacy basics"), ("body", "Lock it."))),
    ("safeguards:overview", "get"): R(ADMINS),
    ("risk:list", "get"): R(ADMINS),
    ("risk:list", "post"): R(ADMINS),
    ("risk:detail", "get"): R(ADMINS),
    ("risk:detail", "post"): R(ADMINS, body=(("threat", "A flood in the office"),)),
    ("risk:report", "get"): R(ADMINS),
    ("incidents:list", "get"): R(EVERYONE),
    ("incidents:new", "get"): R(EVERYONE),
    ("incidents:new", "post"): R(EVERYONE, body=(("summary", "A letter went to the wrong house."),)),
    ("incidents:lost_device", "get"): R(EVERYONE),
    ("incidents:lost_device", "post"): R(EVERYONE, body=(("description", "My phone."), ("lost_on", "{today}"))),
    ("incidents:log", "get"): R(ADMINS),
    # An incident: its reporter (the client) and the admins; nobody else learns it exists.
    ("incidents:detail", "get"): R(REPORTER, reads=True),
    ("incidents:detail", "post"): R(REPORTER, body=(("action", "message"), ("text", "One more thing."))),
    ("incidents:letters", "get"): R(ADMINS),
}

# API operations: (path template, method) -> rule.
API: dict[tuple[str, str], Rule] = {
    ("/api/v1/me/", "get"): R(EVERYONE),
    ("/api/v1/accounts/sessions/", "get"): R(EVERYONE),
    ("/api/v1/accounts/sessions/revoke-others/", "post"): R(EVERYONE),
    ("/api/v1/accounts/invitations/", "get"): R(STAFF),
    ("/api/v1/accounts/invitations/", "post"): R(STAFF, body=(("email", "invitee@example.org"), ("role", "client"))),
    ("/api/v1/accounts/invitations/{invitation_id}/revoke/", "post"): R(frozenset({TEAM, ADMIN, ADMIN_THERAPIST})),
    ("/api/v1/consent/documents/", "get"): R(EVERYONE),
    ("/api/v1/consent/documents/{document_id}/drafts/", "post"): R(ADMINS),
    ("/api/v1/consent/versions/{version_id}/", "get"): R(EVERYONE - {OUTSIDER}),
    ("/api/v1/consent/versions/{version_id}/", "put"): R(ADMINS, body=(("body", "New text."),)),
    ("/api/v1/consent/versions/{version_id}/", "patch"): R(ADMINS, body=(("body", "New text."),)),
    ("/api/v1/consent/versions/{version_id}/publish/", "post"): R(ADMINS, body=(("requires_reconsent", False),)),
    ("/api/v1/consent/signatures/", "get"): R(CONSENT_STATUS, reads=True, query=(("client", "{client_id}"),)),
    ("/api/v1/consent/signatures/", "post"): R(
        ACTS_FOR,
        body=(
            ("version", "{version_id}"),
            ("on_behalf_of", "{client_id}"),
            ("typed_name", "S"),
            ("confirm_read", True),
        ),
    ),
    ("/api/v1/consent/signatures/{signature_id}/", "get"): R(CONSENT_FULL, reads=True),
    ("/api/v1/consent/signatures/{signature_id}/withdraw/", "post"): R(ACTS_FOR, body=(("reason", "No longer."),)),
    ("/api/v1/consent/gate/", "get"): R(ON_THE_SCHEDULE, query=(("appointment", "{appointment_id}"),)),
    ("/api/v1/consent/requests/", "post"): R(
        frozenset({TEAM, ADMIN, ADMIN_THERAPIST}), body=(("client", "{client_id}"), ("kind", "telehealth"))
    ),
    ("/api/v1/consent/agreements/", "post"): R(ONLY_TEAM, body=(("client", "{client_id}"), ("text", "Agreed."))),
    ("/api/v1/records/charts/", "get"): R(EVERYONE),
    ("/api/v1/records/charts/{chart_id}/", "get"): R(SUMMARY, reads=True),
    ("/api/v1/records/charts/{chart_id}/", "patch"): R(ONLY_TEAM, body=(("phone", "555-0100"),)),
    ("/api/v1/records/charts/{chart_id}/notes/", "get"): R(CLINICAL, reads=True),
    ("/api/v1/records/charts/{chart_id}/notes/", "post"): R(ONLY_TEAM, body=(("sections", {"plan": "x"}),)),
    ("/api/v1/records/charts/{chart_id}/assessments/", "get"): R(CLINICAL, reads=True),
    ("/api/v1/records/charts/{chart_id}/assessments/", "post"): R(ONLY_TEAM, body=(("kind", "phq9"),)),
    ("/api/v1/records/charts/{chart_id}/billing/", "get"): R(BILLING, reads=True),
    ("/api/v1/records/charts/{chart_id}/billing/", "post"): R(
        frozenset({TEAM, ADMIN, ADMIN_THERAPIST}),
        body=(("service_date", "2026-11-09"), ("cpt_code", "90837"), ("diagnosis_codes", ["F41.1"]), ("fee", "160")),
    ),
    ("/api/v1/billing/accounts/{chart_id}/", "get"): R(BILLING, reads=True),
    ("/api/v1/billing/accounts/{chart_id}/payments/", "post"): R(
        KEEPERS, body=(("amount", "10"), ("method", "cash"), ("received_on", "2026-11-20"))
    ),
    ("/api/v1/billing/accounts/{chart_id}/adjustments/", "post"): R(
        KEEPERS, body=(("kind", "write_off"), ("amount", "5"), ("reason", "Hardship"), ("made_on", "2026-11-20"))
    ),
    ("/api/v1/billing/aging/", "get"): R(ADMINS),
    ("/api/v1/records/charts/{chart_id}/diagnoses/", "get"): R(BILLING, reads=True),
    ("/api/v1/records/charts/{chart_id}/diagnoses/", "post"): R(ONLY_TEAM, body=(("code", "F43.10"),)),
    ("/api/v1/records/icd10/", "get"): R(EVERYONE, query=(("q", "anxiety"),)),
    ("/api/v1/records/charts/{chart_id}/emergency-access/", "post"): R(
        frozenset({TEAM, OFF, EMERGENCY}), body=(("reason", "The client called in crisis; cover needed."),)
    ),
    ("/api/v1/records/charts/{chart_id}/psychotherapy-notes/", "get"): R(CLINICAL),
    ("/api/v1/records/charts/{chart_id}/psychotherapy-notes/", "post"): R(ONLY_TEAM, body=(("body", "Mine."),)),
    ("/api/v1/records/charts/{chart_id}/exports/", "post"): R(ACTS_FOR),
    ("/api/v1/records/notes/{note_id}/", "get"): R(CLINICAL, reads=True),
    ("/api/v1/records/notes/{note_id}/", "patch"): R(ONLY_TEAM, body=(("sections", {"plan": "y"}),)),
    ("/api/v1/records/notes/{note_id}/sign/", "post"): R(ONLY_TEAM),
    ("/api/v1/records/notes/{note_id}/share/", "post"): R(ONLY_TEAM),
    ("/api/v1/records/notes/{note_id}/addenda/", "post"): R(ONLY_TEAM, body=(("body", "Addendum."),)),
    ("/api/v1/records/assessments/{assessment_id}/submit/", "post"): R(
        ONLY_SELF, body=(("answers", [1, 1, 1, 1, 1, 1, 1]),)
    ),
    ("/api/v1/records/psychotherapy-notes/{note_id}/", "get"): R(ONLY_TEAM),
    ("/api/v1/records/psychotherapy-notes/{note_id}/", "patch"): R(ONLY_TEAM, body=(("body", "Edited."),)),
    ("/api/v1/records/exports/{export_id}/", "get"): R(ONLY_SELF),
    ("/api/v1/records/billing/{billing_id}/", "patch"): R(
        frozenset({TEAM, ADMIN, ADMIN_THERAPIST}), body=(("status", "submitted"),)
    ),
    ("/api/v1/sessions/", "get"): R(EVERYONE),
    ("/api/v1/sessions/", "post"): R(THERAPISTS),
    ("/api/v1/sessions/{appointment_id}/check-in/", "post"): R(
        IN_THE_CALL, body=(("location", "US-NY"), ("private_device", True))
    ),
    ("/api/v1/sessions/{appointment_id}/ice-servers/", "get"): R(IN_THE_CALL),
    ("/api/v1/sessions/{appointment_id}/move/", "post"): R(CLIENTS, body=(("starts_at", "{starts_at}"),)),
    ("/api/v1/sessions/{appointment_id}/cancel/", "post"): R(IN_THE_CALL),
    ("/api/v1/booking/", "post"): R(CLIENTS, body=(("type", "{type_id}"), ("starts_at", "{starts_at}"))),
    ("/api/v1/booking/types/", "get"): R(CLIENTS),
    ("/api/v1/booking/types/{type_id}/times/", "get"): R(CLIENTS),
    ("/api/v1/waitlist/", "get"): R(CLIENTS),
    ("/api/v1/waitlist/", "post"): R(CLIENTS, body=(("type", "{type_id}"),)),
    ("/api/v1/waitlist/{entry_id}/", "delete"): R(ONLY_SELF),
    ("/api/v1/waitlist/offers/{offer_id}/", "get"): R(ONLY_SELF),
    ("/api/v1/waitlist/offers/{offer_id}/accept/", "post"): R(ONLY_SELF),
    ("/api/v1/first-sessions/", "get"): R(ADMINS),
    ("/api/v1/first-sessions/{request_id}/answer/", "post"): R(ADMINS, body=(("answer", "decline"),)),
    # Public: anyone may ask a practice that takes requests (tests/test_first_sessions.py).
    ("/api/v1/first-sessions/ask/{slug}/", "post"): R(
        EVERYONE, body=(("full_name", "Pat Prospect"), ("email", "pat@example.org"))
    ),
    ("/api/v1/privacy/{slug}/", "get"): R(EVERYONE),
    ("/api/v1/vendors/", "get"): R(ADMINS),
    ("/api/v1/vendors/", "post"): R(ADMINS, body=VENDOR),
    ("/api/v1/vendors/{vendor_id}/", "get"): R(ADMINS),
    ("/api/v1/vendors/{vendor_id}/", "put"): R(ADMINS, body=VENDOR),
    ("/api/v1/vendors/{vendor_id}/baa/", "put"): R(ADMINS),
    ("/api/v1/training/", "get"): R(STAFF),
    ("/api/v1/risk-analyses/", "get"): R(ADMINS),
    ("/api/v1/risk-analyses/{analysis_id}/", "get"): R(ADMINS),
    ("/api/v1/risk-analyses/{analysis_id}/", "post"): R(ADMINS, body=(("threat", "A flood"),)),
    ("/api/v1/incidents/", "get"): R(EVERYONE),
    ("/api/v1/incidents/", "post"): R(EVERYONE, body=(("summary", "A letter went to the wrong house."),)),
    ("/api/v1/incidents/lost-device/", "post"): R(
        EVERYONE, body=(("description", "My phone."), ("lost_on", "{today}"))
    ),
    ("/api/v1/incidents/log/", "get"): R(ADMINS),
    ("/api/v1/incidents/{incident_id}/", "get"): R(REPORTER, reads=True),
    ("/api/v1/incidents/{incident_id}/messages/", "post"): R(REPORTER, body=(("text", "One more thing."),)),
    ("/api/v1/incidents/{incident_id}/triage/", "post"): R(
        ADMINS, body=(("discovered_on", "{today}"), ("outcome", "notify"))
    ),
    ("/api/v1/incidents/{incident_id}/affected/", "post"): R(
        ADMINS, body=(("how", "person"), ("person_id", "{client_id}"))
    ),
    ("/api/v1/incidents/{incident_id}/affected/", "put"): R(
        ADMINS, body=(("person_id", "{client_id}"), ("residence", "US-NY"))
    ),
    ("/api/v1/incidents/{incident_id}/letter/", "put"): R(ADMINS, body=(("contact", "Call 1-800-555-0100."),)),
    ("/api/v1/incidents/{incident_id}/delay/", "post"): R(
        ADMINS, body=(("start", "{today}"), ("until", "{tomorrow}"), ("agency", "City police"))
    ),
    ("/api/v1/incidents/{incident_id}/notices/", "post"): R(
        ADMINS, body=(("audience", "individual"), ("method", "post"))
    ),
    ("/api/v1/incidents/{incident_id}/status/", "post"): R(ADMINS, body=(("action", "close"), ("reason", "Done."))),
    ("/api/v1/training/{training_version_id}/attest/", "post"): R(
        STAFF - {OUTSIDER}, body=(("typed_name", "Somebody Else"),)
    ),
}
# Paths whose {note_id} is a psychotherapy note's.
PSYCHOTHERAPY_PATHS = {"/api/v1/records/psychotherapy-notes/{note_id}/"}
PSYCHOTHERAPY_PAGES = {"records:psychotherapy_note"}


# Discovering what exists ---------------------------------------------------------------------------


def page_routes() -> list[tuple[str, str]]:
    def walk(resolver: URLResolver, prefix: str, namespace: str) -> Any:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                ns = ":".join(n for n in (namespace, entry.namespace or "") if n)
                yield from walk(entry, prefix + str(entry.pattern), ns)
            elif isinstance(entry, URLPattern):
                name = ":".join(n for n in (namespace, entry.name or "") if n)
                yield name, prefix + str(entry.pattern)

    return [(name, route) for name, route in walk(get_resolver(), "", "") if not route.startswith("api/")]


def schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def api_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete") and path != "/api/v1/schema/"
    ]


def test_every_page_and_operation_has_a_rule():
    pages = {name for name, _route in page_routes()} - EXEMPT_PAGES
    ruled_pages = {name for name, _method in PAGES}
    assert pages - ruled_pages == set(), "pages without an access rule"
    assert ruled_pages - pages == set(), "rules for pages that no longer exist"
    operations = {(path, method) for path, method, _op in api_operations(schema())}
    assert operations - set(API) == set(), "API operations without an access rule"
    assert set(API) - operations == set(), "rules for API operations that no longer exist"


# Running one case ----------------------------------------------------------------------------------

SNAPSHOT_SKIP = {
    "audit",  # what the test counts
    "sessions",  # django.contrib.sessions: the login sessions themselves
}
SNAPSHOT_SKIP_MODELS = {"accounts.usersession", "accounts.loginthrottle"}


SNAPSHOT_SKIP_APPS = {"admin", "contenttypes", "auth", "otp_static", "otp_totp"}
WRITE = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO)\s+"?(\w+)"?', re.I)


def unwatched_tables() -> set[str]:
    """The tables a refusal may write to: the audit trail it is counted by, the login sessions."""
    return {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in SNAPSHOT_SKIP | SNAPSHOT_SKIP_APPS
        or model._meta.label_lower in SNAPSHOT_SKIP_MODELS
    }


class Writes:
    """Every INSERT, UPDATE and DELETE a request sends to either database, by table: a refusal
    that sends one to a watched table changed stored data (whatever the values; many-to-many
    tables included)."""

    def __init__(self, unwatched: set[str]) -> None:
        self.unwatched = unwatched
        self.tables: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        found = WRITE.match(sql)
        if found and found.group(1) not in self.unwatched:
            self.tables.append(found.group(1))
        return execute(sql, params, many, context)


def fill(template: str, objects: dict[str, Any], *, psychotherapy: bool = False) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[-1]
        if name == "note_id" and psychotherapy:
            name = "psychotherapy_note_id"
        return str(objects[name])

    return re.sub(r"[{<]([^}>]+)[}>]", value, template)


def formatted(value: Any, objects: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        raw = objects[value[1:-1]]
        return raw if isinstance(raw, int) else str(raw)
    return value


@dataclass
class Outcome:
    status: int
    denials: int
    named: int  # allowed events naming this actor and the subject
    events: int
    changed: bool


def run_case(
    client: Any,
    method: str,
    url: str,
    rule: Rule,
    *,
    objects: dict[str, Any],
    json: bool,
    unwatched: set[str],
    expect: bool,
) -> Outcome:
    """One request in a savepoint that is rolled back: every case starts from the same state. The
    statements it sent to either database are watched, and judged where it matters, for refusals
    (expected or given)."""
    query = {k: formatted(v, objects) for k, v in rule.query}
    body = {k: formatted(v, objects) for k, v in rule.body}
    actor = client.session.get("_auth_user_id")
    writes = Writes(unwatched)
    with (
        transaction.atomic(),
        transaction.atomic(using="psychotherapy"),
        connections["default"].execute_wrapper(writes),
        connections["psychotherapy"].execute_wrapper(writes),
    ):
        first_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        call = getattr(client, method)
        if json:
            import json as jsonlib

            target = url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
            response = (
                call(target, jsonlib.dumps(body), content_type="application/json") if method != "get" else call(target)
            )
        else:
            target = url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
            response = call(target, body) if method != "get" else call(target)
        new = AuditEvent.objects.filter(id__gt=first_event)
        outcome = Outcome(
            status=response.status_code,
            denials=new.filter(action=Action.ACCESS_DENIED).count(),
            named=new.filter(actor_id=actor, subject_client_id=objects["client_id"], outcome="allowed").count(),
            events=new.count(),
            changed=False,
        )
        if not expect or outcome.status in (403, 404):
            outcome.changed = bool(writes.tables)
        transaction.set_rollback(True)
        transaction.set_rollback(True, using="psychotherapy")
    return outcome


def judge(
    where: str, persona: str, rule: Rule, outcome: Outcome, *, declared: set[str] | None, subject_self: bool
) -> list[str]:
    problems = []
    allowed = persona in rule.allowed
    refused = outcome.status in (403, 404)
    if outcome.status >= 500:
        problems.append(f"{where} as {persona}: {outcome.status}")
    if declared is not None and str(outcome.status) not in declared:
        problems.append(f"{where} as {persona}: {outcome.status} is not declared in the schema")
    if allowed and refused:
        problems.append(f"{where} as {persona}: refused ({outcome.status}) but the rule allows it")
    if not allowed:
        if not refused and not outcome.denials:
            problems.append(f"{where} as {persona}: allowed ({outcome.status}) but the rule refuses it")
        if outcome.changed:
            problems.append(f"{where} as {persona}: a refusal changed stored data")
        if outcome.denials != 1:
            problems.append(f"{where} as {persona}: {outcome.denials} access.denied events, not 1")
        if outcome.named:
            problems.append(f"{where} as {persona}: a refusal wrote an allowed event about the client")
    elif rule.reads and not subject_self and outcome.status == 200 and (outcome.named != 1 or outcome.events != 1):
        problems.append(
            f"{where} as {persona}: a read of the client's data wrote {outcome.events} events "
            f"({outcome.named} naming actor and client), not exactly 1"
        )
    if allowed and outcome.denials:
        problems.append(f"{where} as {persona}: allowed, but {outcome.denials} access.denied events")
    return problems


@pytest.fixture
def world() -> Any:
    return build()


@pytest.mark.parametrize("subject_kind", ["adult", "minor"])
def test_access_matrix(world, subject_kind):
    adult, minor = world
    subject = adult if subject_kind == "adult" else minor
    personas = ADULT_PERSONAS if subject_kind == "adult" else MINOR_PERSONAS
    spec = schema()
    declared = {(path, method): set(operation["responses"]) for path, method, operation in api_operations(spec)}
    routes = dict(page_routes())
    problems: list[str] = []
    clients = {persona: signed_in(subject.people[persona]) for persona in personas}
    unwatched = unwatched_tables()
    # The watch sees a write when one is made (an update, and a many-to-many row), and not an audit append.
    probe = Writes(unwatched)
    with transaction.atomic(), connections["default"].execute_wrapper(probe):
        ClientChart.objects.filter(pk=subject.objects["chart_id"]).update(guardian_sees_notes=True)
        ClientChart.objects.get(pk=subject.objects["chart_id"]).care_team.add(subject.people[SELF])
        transaction.set_rollback(True)
    assert {ClientChart._meta.db_table, ClientChart.care_team.through._meta.db_table} <= set(probe.tables), probe.tables
    # (label, method, url, rule, json body?, statuses the schema declares or None for pages)
    cases = [
        (
            name,
            method,
            "/" + fill(routes[name], subject.objects, psychotherapy=name in PSYCHOTHERAPY_PAGES),
            rule,
            False,
        )
        for (name, method), rule in PAGES.items()
    ] + [
        (path, method, fill(path, subject.objects, psychotherapy=path in PSYCHOTHERAPY_PATHS), rule, True)
        for (path, method), rule in API.items()
    ]
    for persona in personas:
        for label, method, url, rule, api in cases:
            outcome = run_case(
                clients[persona],
                method,
                url,
                rule,
                objects=subject.objects,
                json=api,
                unwatched=unwatched,
                expect=persona in rule.allowed,
            )
            problems += judge(
                f"{method.upper()} {label}",
                persona,
                rule,
                outcome,
                declared=declared[(label, method)] if api else None,
                subject_self=persona == SELF,
            )
    assert not problems, "\n".join(problems)


@pytest.mark.django_db(transaction=True, databases="__all__")
async def test_the_signaling_socket_admits_exactly_the_people_in_the_call():
    """The socket asks the same gate as the ICE endpoint: the clients of the appointment and its
    therapist get in; everyone else is refused, audited once, with the documented code."""
    from asgiref.sync import sync_to_async

    from sessions.realtime import CloseCode
    from tests.signaling import expect_closed, open_socket, receive

    adult, minor = await sync_to_async(build)()
    for subject, personas in ((adult, ADULT_PERSONAS), (minor, MINOR_PERSONAS)):
        appointment_id = subject.objects["appointment_id"]
        for persona in personas:
            user = subject.people[persona]
            client = await sync_to_async(signed_in)(user)
            refused = AuditEvent.objects.filter(action=Action.VIDEO_REFUSED, actor_id=user.pk)
            before = await sync_to_async(refused.count)()
            socket = await open_socket(appointment_id, client)
            if persona in IN_THE_CALL:
                welcome = await receive(socket)
                assert welcome["type"] == "welcome", (persona, welcome)
                await socket.disconnect()
            else:
                bye = await expect_closed(socket, CloseCode.NOT_FOUND)
                assert bye["reason"] == "not_found", (persona, bye)
                assert await sync_to_async(refused.count)() == before + 1, persona
