"""The consent gate: dual consent, couples agreements, minors, withdrawal and re-consent."""

from __future__ import annotations

import pytest

from consent.selectors import consent_missing_for
from consent.services import consent_draft_create, consent_draft_update, consent_publish, consent_withdraw
from teletherapy.errors import ServiceError
from tests.conftest import sign

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def missing(appointment, participant) -> set[tuple[int, str]]:
    return {(m.client.pk, m.kind) for m in consent_missing_for(appointment, participant).missing}


def test_an_individual_needs_both_treatment_and_technology_consent(consent_docs, schedule, client_user, therapist):
    appointment = schedule(client_user)
    assert missing(appointment, client_user) == {(client_user.pk, "treatment"), (client_user.pk, "telehealth")}
    sign(client_user, "treatment")
    assert missing(appointment, client_user) == {(client_user.pk, "telehealth")}
    sign(client_user, "telehealth")
    assert consent_missing_for(appointment, client_user).ready
    assert consent_missing_for(appointment, therapist).ready


def test_one_unsigned_partner_blocks_a_couples_session_for_everyone(consent_docs, schedule, make_user, therapist):
    sam, alex = make_user("client", name="Sam Rivera"), make_user("client", name="Alex Rivera")
    appointment = schedule(sam, alex, kind="couple")
    for partner in (sam, alex):
        sign(partner, "treatment")
        sign(partner, "telehealth")
    sign(sam, "couples_agreement")
    for participant in (sam, alex, therapist):
        assert missing(appointment, participant) == {(alex.pk, "couples_agreement")}
    gate_for_sam = consent_missing_for(appointment, sam)
    assert [m.can_sign for m in gate_for_sam.missing] == [False]  # Sam cannot sign for Alex
    assert [m.can_sign for m in consent_missing_for(appointment, alex).missing] == [True]
    sign(alex, "couples_agreement")
    assert consent_missing_for(appointment, sam).ready


def test_the_agreement_is_not_needed_for_an_individual_session(consent_docs, schedule, client_user):
    sign(client_user, "treatment")
    sign(client_user, "telehealth")
    assert consent_missing_for(schedule(client_user), client_user).ready


def test_for_a_minor_only_the_guardians_signature_counts_for_treatment(consent_docs, schedule, client_user, guardian):
    appointment = schedule(client_user)
    assert missing(appointment, client_user) == {(client_user.pk, "guardian"), (client_user.pk, "telehealth")}
    with pytest.raises(ServiceError, match="guardian"):
        sign(client_user, "treatment")
    with pytest.raises(ServiceError):
        sign(client_user, "guardian")
    sign(client_user, "telehealth")
    assert missing(appointment, client_user) == {(client_user.pk, "guardian")}
    sign(guardian, "guardian", for_=client_user)
    assert consent_missing_for(appointment, client_user).ready
    assert consent_missing_for(appointment, guardian).ready


def test_a_guardian_can_sign_the_technology_consent_for_the_minor(consent_docs, schedule, client_user, guardian):
    appointment = schedule(client_user)
    sign(guardian, "guardian", for_=client_user)
    sign(guardian, "telehealth", for_=client_user)
    assert consent_missing_for(appointment, client_user).ready


def test_nobody_else_can_sign_for_a_client(consent_docs, make_user, client_user):
    other = make_user("client")
    with pytest.raises(ServiceError):
        sign(other, "telehealth", for_=client_user)


def test_withdrawal_takes_effect_at_once(consent_docs, schedule, client_user):
    appointment = schedule(client_user)
    sign(client_user, "treatment")
    signature = sign(client_user, "telehealth")
    assert consent_missing_for(appointment, client_user).ready
    consent_withdraw(actor=client_user, signature=signature, reason="I prefer to meet in person", context=None)
    assert missing(appointment, client_user) == {(client_user.pk, "telehealth")}
    # Signing again restores it, as a new record.
    again = sign(client_user, "telehealth")
    assert again.pk != signature.pk
    assert consent_missing_for(appointment, client_user).ready


def _new_version(admin, kind_version, *, reconsent: bool):
    draft = consent_draft_create(actor=admin, document=kind_version.document, context=None)
    consent_draft_update(actor=admin, version=draft, body=draft.body + "\n\nA new paragraph.", context=None)
    return consent_publish(actor=admin, version=draft, requires_reconsent=reconsent, context=None)


def test_a_new_version_that_needs_reconsent_makes_old_signatures_insufficient(
    consent_docs, schedule, client_user, admin
):
    appointment = schedule(client_user)
    sign(client_user, "treatment")
    sign(client_user, "telehealth")
    _new_version(admin, consent_docs["telehealth"], reconsent=True)
    assert missing(appointment, client_user) == {(client_user.pk, "telehealth")}
    from consent.models import ConsentRequest

    assert ConsentRequest.objects.filter(client=client_user, reason="new_version").exists()
    sign(client_user, "telehealth")
    assert consent_missing_for(appointment, client_user).ready


def test_a_new_version_without_reconsent_keeps_old_signatures_valid(consent_docs, schedule, client_user, admin):
    appointment = schedule(client_user)
    sign(client_user, "treatment")
    sign(client_user, "telehealth")
    v2 = _new_version(admin, consent_docs["telehealth"], reconsent=False)
    assert v2.number == 2 and v2.valid_from_number == 1
    assert consent_missing_for(appointment, client_user).ready
    # A later version that does ask for re-consent resets it.
    _new_version(admin, consent_docs["telehealth"], reconsent=True)
    assert missing(appointment, client_user) == {(client_user.pk, "telehealth")}


def test_without_published_documents_nothing_can_be_signed(schedule, client_user):
    appointment = schedule(client_user)
    gate = consent_missing_for(appointment, client_user)
    assert not gate.ready and all(m.version is None and not m.can_sign for m in gate.missing)
