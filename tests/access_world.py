"""One practice with every persona the access rules speak of, around two clients: an adult in
couples work and a minor with a guardian. Shared by the access matrix tests."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.models import (
    GuardianLink,
    Invitation,
    Practice,
    PracticeLogo,
    RecoveryRequest,
    Role,
    RoleGrant,
    TOTPDevice,
    User,
)
from audit.models import AuditEvent, AuditFlag
from billing.services.claims import claim_make, coverage_set
from billing.services.invoices import invoice_issue
from compliance.services.incident_people import affected_add
from compliance.services.incidents import incident_report
from consent.selectors import current_version
from consent.services import consent_defaults_seed, consent_sign
from intake import services as intake
from intake.models import FormPurpose, IntakeForm
from intake.selectors import PacketReach
from messaging.selectors import Reach
from messaging.services import conversation_start, message_send
from records.models import BillingIdentity, EmergencyAccess
from records.selectors import Access
from records.services import (
    assessment_assign,
    billing_create,
    billing_set_status,
    chart_create,
    document_upload,
    export_request,
    note_create,
    note_share,
    note_sign,
    psychotherapy_note_write,
)
from sessions.services import appointment_schedule, check_in_record
from tests.conftest import PASSWORD, verified_session

# Who someone is to the subject client.
SELF = "client"
PARTNER = "partner"
TEAM = "care team"
OFF = "off the team"
EMERGENCY = "emergency access"
ADMIN = "admin"
ADMIN_THERAPIST = "admin and therapist"
GUARDIAN = "guardian of this minor"
GUARDIAN_OTHER = "guardian of another minor"
GUARDIAN_ADULT = "guardian linked to an adult"
OUTSIDER = "another practice"

ADULT_PERSONAS = [SELF, PARTNER, TEAM, OFF, EMERGENCY, ADMIN, ADMIN_THERAPIST, GUARDIAN_ADULT, OUTSIDER]
MINOR_PERSONAS = [SELF, TEAM, OFF, ADMIN, ADMIN_THERAPIST, GUARDIAN, GUARDIAN_OTHER, OUTSIDER]


@dataclass
class Subject:
    """A client and one of each thing of theirs, with who is who to them."""

    client: User
    people: dict[str, User]
    objects: dict[str, Any] = field(default_factory=dict)


def person(practice: Practice, role: str, name: str, *extra_roles: str) -> User:
    email = f"{name.split()[0].lower()}-{secrets.token_hex(2)}@example.org"
    user = User.objects.create_user(email, PASSWORD, practice=practice, full_name=name)
    for r in (role, *extra_roles):
        RoleGrant.objects.create(user=user, role=r)
    TOTPDevice(
        user=user,
        name="app",
        confirmed=True,
        confirmed_at=timezone.now(),
        secret=base64.b32encode(secrets.token_bytes(20)).decode(),
    ).save()
    return user


def build() -> tuple[Subject, Subject]:
    practice = Practice.objects.create(name="Matrix Practice", slug=f"matrix-{secrets.token_hex(3)}")
    other = Practice.objects.create(name="Elsewhere Practice", slug=f"elsewhere-{secrets.token_hex(3)}")
    consent_defaults_seed(practice=practice)
    consent_defaults_seed(practice=other)
    intake.forms_ready(practice=practice)
    intake.forms_ready(practice=other)

    team = person(practice, Role.THERAPIST, "Tess Team")
    off = person(practice, Role.THERAPIST, "Otto Off")
    emergency = person(practice, Role.THERAPIST, "Emma Emergency")
    admin = person(practice, Role.ADMIN, "Ada Admin")
    admin_therapist = person(practice, Role.ADMIN, "Bo Both", Role.THERAPIST)
    outsider = person(other, Role.THERAPIST, "Xena Outside")
    adult = person(practice, Role.CLIENT, "Alex Adult")
    partner = person(practice, Role.CLIENT, "Sam Partner")
    minor = person(practice, Role.CLIENT, "Mia Minor")
    other_minor = person(practice, Role.CLIENT, "Noa Otherminor")
    guardian = person(practice, Role.GUARDIAN, "Gil Guardian")
    guardian_other = person(practice, Role.GUARDIAN, "Gus Otherguardian")
    guardian_adult = person(practice, Role.GUARDIAN, "Gwen Adultguardian")

    adult_chart = chart_create(actor=None, client=adult, therapists=[team, admin_therapist])
    chart_create(actor=None, client=partner, therapists=[team])
    minor_chart = chart_create(actor=None, client=minor, therapists=[team, admin_therapist], is_minor=True)
    minor_chart.guardian_sees_notes = True
    minor_chart.save(update_fields=["guardian_sees_notes"])
    chart_create(actor=None, client=other_minor, therapists=[off], is_minor=True)
    GuardianLink.objects.create(guardian=guardian, client=minor)
    GuardianLink.objects.create(guardian=guardian_other, client=other_minor)
    GuardianLink.objects.create(guardian=guardian_adult, client=adult)  # counts for nothing: an adult
    EmergencyAccess.objects.create(
        chart=adult_chart,
        therapist=emergency,
        reason="The client called the crisis line; their therapist is away.",
        expires_at=timezone.now() + timedelta(minutes=60),
    )

    def sign(signer: User, kind: str, client: User) -> Any:
        version = current_version(practice_id=practice.pk, kind=kind)
        signature, _ = consent_sign(
            signer=signer,
            version=version,
            on_behalf_of=client,
            typed_name=signer.full_name,
            confirmed_read=True,
            context=None,
        )
        return signature

    for client in (adult, partner):
        sign(client, "treatment", client)
        sign(client, "couples_agreement", client)
    adult_signature = sign(adult, "telehealth", adult)
    sign(partner, "telehealth", partner)
    sign(guardian, "guardian", minor)
    minor_signature = sign(guardian, "telehealth", minor)

    soon = timezone.now() + timedelta(minutes=5)
    # Back to back (a therapist is in one session at a time), both open to join now.
    couple = appointment_schedule(therapist=team, clients=[adult, partner], kind="couple", starts_at=soon, minutes=10)
    alone = appointment_schedule(
        therapist=team, clients=[minor], kind="individual", starts_at=soon + timedelta(minutes=10)
    )
    for client, appointment in ((adult, couple), (partner, couple), (minor, alone)):
        check_in_record(
            user=client,
            appointment=appointment,
            location="US-NY",
            private_device=True,
            private_network=True,
            private_space=True,
            context=None,
        )
    # Booking online: the care team's therapist keeps hours every day and offers one session type;
    # each subject waits for an earlier time and has been offered one; someone asked for a first
    # session on the practice's public page.
    from sessions.models import FirstSessionRequest, FreedTime, SessionPolicy, WaitlistEntry, WaitlistOffer
    from sessions.services.booking import hours_set, open_times, session_type_save

    hours_set(therapist=team, spans=[(d, time(8), time(20)) for d in range(7)], context=None)
    kind = session_type_save(therapist=team, context=None, name="Session", minutes=50, buffer_minutes=0,
                             notice_hours=0, horizon_days=30)  # fmt: skip
    bookable = next(t for t in open_times(session_type=kind) if t > timezone.now() + timedelta(days=2))
    SessionPolicy.objects.update_or_create(practice=practice, defaults={"first_session_requests": True})
    asked = FirstSessionRequest.objects.create(practice=practice, full_name="Pat Prospect", email="pat@example.org")
    flag = AuditFlag.objects.create(
        practice_id=practice.pk,
        rule="volume",
        key=f"matrix-{secrets.token_hex(3)}",
        actor_id=team.pk,
        summary="Opened 30 different charts in one hour (limit 25).",
        created_at=timezone.now(),
    )
    from compliance.models import FactChange, RiskAssessment, TrainingModule, TrainingVersion, Vendor

    analysis = RiskAssessment.objects.create(
        practice=practice, number=1, finalized_at=timezone.now(), report_pdf=base64.b64encode(b"%PDF-1.4").decode()
    )

    module = TrainingModule.objects.create(practice=practice, title="Privacy basics")
    course = TrainingVersion.objects.create(
        module=module, number=1, body="Lock your screen.", body_sha256="0" * 64, status="published",
        published_at=timezone.now(),
    )  # fmt: skip

    change = FactChange.objects.create(
        practice_id=practice.pk,
        key="video.relay",
        label="Route",
        value="Always through the relay",
        previous="Directly between the participants",
        changed_at=timezone.now(),
    )

    vendor = Vendor.objects.create(
        practice=practice,
        name="Example Hosting",
        service="Hosting",
        data_touched="Everything",
        baa_signed_on=timezone.localdate() - timedelta(days=30),
        baa_document=base64.b64encode(b"%PDF-1.4 signed").decode(),
        baa_document_name="baa.pdf",
        baa_document_type="application/pdf",
        baa_document_size=15,
    )
    form_draft = intake.form_create(actor=admin, title="Sleep diary", context=None)
    logo = PracticeLogo.objects.create(practice=practice, image=b"png", digest="ab" * 32, width=1, height=1)
    invitation = Invitation.objects.create(
        practice=practice,
        email="new-client@example.org",
        role=Role.CLIENT,
        invited_by=team,
        token_hash=secrets.token_hex(32),
        expires_at=timezone.now() + timedelta(hours=72),
    )

    subjects = []
    for client, chart, signature, appointment, people in (
        (
            adult,
            adult_chart,
            adult_signature,
            couple,
            {
                SELF: adult,
                PARTNER: partner,
                TEAM: team,
                OFF: off,
                EMERGENCY: emergency,
                ADMIN: admin,
                ADMIN_THERAPIST: admin_therapist,
                GUARDIAN_ADULT: guardian_adult,
                OUTSIDER: outsider,
            },
        ),
        (
            minor,
            minor_chart,
            minor_signature,
            alone,
            {
                SELF: minor,
                TEAM: team,
                OFF: off,
                ADMIN: admin,
                ADMIN_THERAPIST: admin_therapist,
                GUARDIAN: guardian,
                GUARDIAN_OTHER: guardian_other,
                OUTSIDER: outsider,
            },
        ),
    ):
        note = note_create(
            actor=team,
            chart=chart,
            access=Access.CARE_TEAM,
            template="soap",
            sections={"plan": "Weekly sessions."},
            context=None,
        )
        note_sign(actor=team, note=note, context=None)
        note_share(actor=team, note=note, context=None)
        assessment = assessment_assign(actor=team, chart=chart, access=Access.CARE_TEAM, kind="gad7", context=None)
        billing = billing_create(
            actor=team,
            chart=chart,
            access=Access.CARE_TEAM,
            service_date="2026-11-02",
            cpt_code="90834",
            diagnosis_codes=["F41.1"],
            fee="150",
            context=None,
        )
        # Submitted, so the client's side has a charge to see (a draft is the practice's alone).
        billing = billing_set_status(
            actor=team, record=billing, access=Access.CARE_TEAM, status="submitted", context=None
        )
        psy = psychotherapy_note_write(
            actor=team, chart=chart, access=Access.CARE_TEAM, body="Only mine.", context=None
        )
        # Billing: the identifiers a claim needs, the client's insurance, an invoice and a claim of the charge.
        BillingIdentity.objects.get_or_create(
            practice=practice,
            therapist=None,
            defaults={"npi": "1234567893", "tax_id": "123456789", "address": "12 Main St\nSpringfield, IL 62701-1234"},
        )
        BillingIdentity.objects.get_or_create(practice=practice, therapist=team, defaults={"npi": "1245319599"})
        chart.date_of_birth, chart.address = "1990-01-01", "5 Oak Ave\nSpringfield, IL 62702"
        chart.save(update_fields=["date_of_birth", "address"])
        coverage_set(
            actor=team,
            chart=chart,
            access=Access.CARE_TEAM,
            payer_name="Acme Health",
            payer_id="ACME1",
            member_id="XYZ1",
            context=None,
        )
        invoice = invoice_issue(
            actor=team, chart=chart, access=Access.CARE_TEAM, context=None, today=timezone.localdate()
        )
        claim = claim_make(actor=team, chart=chart, access=Access.CARE_TEAM, charge_ids=[billing.pk], context=None)
        export = export_request(actor=client, chart=chart, access=Access.CLIENT, context=None)
        conversation = conversation_start(actor=client, clients=[client], therapist=team, context=None)
        message = message_send(
            actor=client,
            conversation=conversation,
            reach=Reach.CLIENT,
            body="A question before Tuesday.",
            upload=SimpleUploadedFile("homework.pdf", b"%PDF-1.4\n% Homework.\n%%EOF\n"),
            context=None,
        )
        document = document_upload(
            actor=team,
            chart=chart,
            access=Access.CARE_TEAM,
            upload=SimpleUploadedFile("letter.pdf", b"%PDF-1.4\n% A letter.\n%%EOF\n"),
            shared_with_client=True,
            context=None,
        )
        # An intake packet of the demographics form, filled in and signed by whoever fills it
        # (the client; a minor's guardian), so its answers are filed.
        demographics = IntakeForm.objects.get(practice=practice, purpose=FormPurpose.DEMOGRAPHICS)
        packet = intake.packet_send(actor=team, chart=chart, access=Access.CARE_TEAM, form_ids=[str(demographics.pk)],
                                    consent_kinds=[], questionnaires=[], context=None)  # fmt: skip
        filler = people.get(GUARDIAN, client)
        item = packet.items.get()
        intake.item_save(actor=filler, item=item, reach=PacketReach.FILLER, finish=True, context=None, data={
            "legal_name": client.full_name, "date_of_birth": "1990-01-01", "phone": "555-0101",
            "contact_by": "E-mail", "voicemail": "yes"})  # fmt: skip
        intake.packet_sign(actor=filler, packet=packet, reach=PacketReach.FILLER, typed_name=filler.full_name,
                           context=None)  # fmt: skip
        incident = incident_report(actor=client, summary="Someone saw my screen.", context=None)
        recovery = RecoveryRequest.objects.create(user=client)
        affected_add(incident, [client.pk], by=None, found_by="The reporter")
        entry = WaitlistEntry.objects.create(practice=practice, client=client, session_type=kind)
        freed = FreedTime.objects.create(
            practice=practice, therapist=team, starts_at=bookable + timedelta(days=1), minutes=50
        )
        waitlist_offer = WaitlistOffer.objects.create(freed=freed, entry=entry)
        event = AuditEvent.objects.filter(subject_client_id=client.pk).latest("id")
        version = current_version(practice_id=practice.pk, kind="telehealth")
        subjects.append(
            Subject(
                client=client,
                people=people,
                objects={
                    "chart_id": chart.pk,
                    "note_id": note.pk,
                    "assessment_id": assessment.pk,
                    "billing_id": billing.pk,
                    "invoice_id": invoice.pk,
                    "claim_id": claim.pk,
                    "month": "2026-11",
                    "psychotherapy_note_id": psy.pk,
                    "export_id": export.pk,
                    "chart_document_id": document.pk,
                    "signature_id": signature.pk,
                    "appointment_id": appointment.pk,
                    "invitation_id": invitation.pk,
                    "digest": logo.digest,
                    "flag_id": flag.pk,
                    "vendor_id": vendor.pk,
                    "change_id": change.pk,
                    "module_id": module.pk,
                    "analysis_id": analysis.pk,
                    "training_version_id": course.pk,
                    "incident_id": incident.pk,
                    "recovery_id": recovery.pk,
                    "device_id": "00000000-0000-4000-8000-000000000000",
                    "today": timezone.localdate().isoformat(),
                    "tomorrow": (timezone.localdate() + timedelta(days=1)).isoformat(),
                    "slug": practice.slug,
                    "event_id": event.pk,
                    "version_id": version.pk,
                    "document_id": version.document_id,
                    "client_id": client.pk,
                    "team_id": team.pk,
                    "conversation_id": conversation.pk,
                    "message_id": message.pk,
                    "packet_id": packet.pk,
                    "packet_item_id": item.pk,
                    "form_version_id": form_draft.pk,
                    "user_id": client.pk,
                    "fmt": "csv",
                    "type_id": kind.pk,
                    "starts_at": bookable.isoformat(),
                    "entry_id": entry.pk,
                    "offer_id": waitlist_offer.pk,
                    "request_id": asked.pk,
                    "token": "not-a-real-token",
                },
            )
        )
    return subjects[0], subjects[1]


def signed_in(user: User) -> Client:
    return verified_session(Client(), user)
