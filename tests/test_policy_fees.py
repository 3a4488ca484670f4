"""What happened decides the charge: a missed session or a late cancellation carries the
practice's policy fee when the therapist says so, and the place of service follows where the
client said they were at check-in (10 at home, 02 elsewhere)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.services.claims import claimable
from billing.services.ledger import balance_of
from records.models import BillingRecord
from sessions.models import Admission, Appointment, SessionPolicy
from sessions.services import appointment_end, appointment_schedule, check_in_record

pytestmark = [pytest.mark.django_db]


def session_at(therapist, client, starts_in: timedelta) -> Appointment:
    made = appointment_schedule(therapist=therapist, clients=[client], kind="individual",
                                starts_at=timezone.now() + timedelta(minutes=5), notify=False)  # fmt: skip
    start = timezone.now() + starts_in
    Appointment.objects.filter(pk=made.pk).update(starts_at=start, ends_at=start + timedelta(minutes=50))
    made.refresh_from_db()
    return made


def test_the_therapist_charges_the_policy_fee_for_a_missed_or_late_cancelled_session(
    therapist, client_user, chart, admin, login_as
):
    team = login_as(therapist)
    missed = session_at(therapist, client_user, -timedelta(minutes=20))
    page = team.get(f"/sessions/{missed.pk}/").content.decode()
    assert "The client did not come" not in page  # the practice charges no fee yet
    refused = team.post(f"/sessions/{missed.pk}/cancel/", {"fee": "no_show"}, follow=True).content.decode()
    assert "charges no fee" in refused
    missed.refresh_from_db()
    assert missed.status == "scheduled" and not BillingRecord.objects.exists()  # nothing changed
    admin_page = login_as(admin)
    policy = {
        "join_before_minutes": 15,
        "join_after_minutes": 30,
        "reminder_hours": 24,
        "last_reminder_hours": 1,
        "late_cancel_hours": 24,
        "audio_only_modifier": "93",
        "no_show_fee": "60",
        "late_cancel_fee": "40",
    }
    assert admin_page.post("/sessions/settings/", policy).status_code in (200, 302)
    assert SessionPolicy.objects.get().no_show_fee == Decimal("60.00")
    page = team.get(f"/sessions/{missed.pk}/").content.decode()
    assert "charge the no-show fee ($60.00)" in page and "late-cancellation fee ($40.00)" in page
    team.post(f"/sessions/{missed.pk}/cancel/", {"fee": "no_show"})
    fee = BillingRecord.objects.get(appointment_id=missed.pk)
    assert (fee.cpt_code, fee.fee, fee.status) == ("NOSHW", Decimal("60.00"), "submitted")
    # Tomorrow's session, cancelled late; next week's is too far ahead for a fee.
    soon = session_at(therapist, client_user, timedelta(hours=20))
    far = session_at(therapist, client_user, timedelta(days=7))
    assert "late-cancellation fee" not in team.get(f"/sessions/{far.pk}/").content.decode()
    too_early = team.post(f"/sessions/{far.pk}/cancel/", {"fee": "late_cancel"}, follow=True).content.decode()
    assert "no late-cancellation fee applies" in too_early
    team.post(f"/sessions/{soon.pk}/cancel/", {"fee": "late_cancel"})
    assert BillingRecord.objects.get(appointment_id=soon.pk).cpt_code == "LATEC"
    assert team.post(f"/sessions/{far.pk}/cancel/", {"fee": "bribe"}, follow=True).status_code == 200
    assert balance_of(chart) == Decimal("100.00")
    # The client sees them by name on their account; no insurer is ever claimed for them.
    own = login_as(client_user).get(f"/billing/clients/{chart.pk}/").content.decode()
    assert "No-show fee" in own and "Late cancellation fee" in own
    assert claimable(chart) == []


def test_the_place_of_service_is_where_the_client_said_they_were(
    therapist, client_user, chart, django_capture_on_commit_callbacks
):
    from sessions.services.charges import charges_for_session

    held = session_at(therapist, client_user, -timedelta(minutes=55))
    check_in_record(user=client_user, appointment=held, location="US-NY", private_device=True, private_network=True,
                    private_space=True, at_home=False, context=None)  # fmt: skip
    left = held.starts_at + timedelta(minutes=45)
    Admission.objects.create(appointment=held, user=client_user, admitted_by=therapist, admitted_at=held.starts_at,
                             departed_at=left)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        appointment_end(therapist=therapist, appointment=held)
    charge = BillingRecord.objects.get(appointment_id=held.pk)
    assert (charge.cpt_code, charge.place_of_service) == ("90834", "02")
    assert charges_for_session(held) == []
