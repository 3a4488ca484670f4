"""The home page: each person's day at a glance, drawn from every app (so it sits on top).

Each section is one question a role asks first thing: a therapist, what is on today and what is
waiting for them; a client or a guardian, when the next session is and what is left to do before
it; an admin, what in the practice needs them. Everything listed is the viewer's own or their
practice's (care team, wards, members); nothing clinical is shown here, so reading it implies no
audit event (opening any of it does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.login_session import practice_zone
from accounts.models import Invitation, Role, User
from accounts.rules import mfa_required
from accounts.selectors import (
    backup_codes_running_low,
    invitations_visible_to,
    practice_members,
    totp_device_pending,
    user_has_confirmed_device,
    wards_of,
)
from accounts.types import AuthedRequest
from audit.models import AuditFlag
from billing.selectors import own_account
from billing.services.ledger import balance_of
from compliance.selectors import incidents_needing_attention
from compliance.services.factsheet import audit_facts
from compliance.services.risk import review_due, review_overdue
from compliance.services.training import staff_overdue, standing_of
from compliance.services.vendors import vendors_needing_attention
from consent.selectors import consent_missing_for, consent_todo_for, consent_withdrawn, next_session_start
from home import health
from intake.selectors import packets_outstanding_for, packets_to_fill, progress
from operations.selectors import backup_status
from records.selectors import (
    drafts_to_sign,
    notes_shared_with,
    questionnaires_to_answer,
    questionnaires_unopened,
    recent_emergency_accesses,
)
from sessions.caseload import consent_gaps, sessions_to_write_up
from sessions.models import Appointment, AppointmentStatus, CheckIn
from sessions.policy import join_window, policy_for
from sessions.selectors import appointments_upcoming_for, caseload_of, waiting_for
from sessions.services.booking import bookable_types_for
from teletherapy.markers import mfa_exempt

INVITATION_SOON = timedelta(days=3)


# The therapist's day ----------------------------------------------------------------------------


@dataclass
class Readiness:
    client: User
    consent: str  # "signed", "missing" or "withdrawn"
    checked_in: bool


@dataclass
class DaySession:
    appointment: Appointment
    day: str  # "Today" or "Tomorrow"
    starts: datetime  # in the viewer's zone
    join_open: bool
    people: list[Readiness] = field(default_factory=list)


def _consent_state(appointment: Appointment, viewer: User) -> dict[int, str]:
    state: dict[int, str] = {}
    for missing in consent_missing_for(appointment, viewer).missing:
        withdrawn = consent_withdrawn(client=missing.client, kind=missing.kind)
        if state.get(missing.client.pk) != "withdrawn":
            state[missing.client.pk] = "withdrawn" if withdrawn else "missing"
    return state


def therapist_day(user: User, now: datetime | None = None) -> list[DaySession]:
    """Today's and tomorrow's sessions the therapist leads (in their zone), with each client's
    readiness: consents in force, and whether they have checked in."""
    now = now or timezone.now()
    zone = practice_zone(user.zone_name)
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    appointments = list(
        Appointment.objects.filter(
            therapist=user,
            status=AppointmentStatus.SCHEDULED,
            ends_at__gt=now,
            starts_at__lt=midnight + timedelta(days=2),
        )
        .prefetch_related("participants__client")
        .order_by("starts_at")
    )
    checked_in = set(CheckIn.objects.filter(appointment__in=appointments).values_list("appointment_id", "user_id"))
    policy = policy_for(user.practice_id)
    day: list[DaySession] = []
    for appointment in appointments:
        starts = appointment.starts_at.astimezone(zone)
        consents = _consent_state(appointment, user)
        entry = DaySession(
            appointment=appointment,
            day="Today" if starts < midnight + timedelta(days=1) else "Tomorrow",
            starts=starts,
            join_open=join_window(appointment, policy=policy, now=now).is_open,
        )
        for participant in appointment.participants.all():
            client = participant.client
            entry.people.append(
                Readiness(
                    client=client,
                    consent=consents.get(client.pk, "signed"),
                    checked_in=(appointment.pk, client.pk) in checked_in,
                )
            )
        day.append(entry)
    return day


# A client's or a guardian's next session ---------------------------------------------------------


@dataclass
class NextSession:
    appointment: Appointment
    join_open: bool
    opens: datetime
    for_whom: User | None = None  # a ward, on a guardian's page


def next_session(appointments: Any, now: datetime | None = None) -> NextSession | None:
    appointment = appointments.first()
    if appointment is None:
        return None
    window = join_window(appointment, now=now)
    return NextSession(appointment=appointment, join_open=window.is_open, opens=window.opens)


def todo_once(user: User) -> list[tuple[Any, Any]]:
    """What the user can sign before their sessions: each form once, under the first session it
    holds up (not once per session)."""
    seen: set[tuple[int, str]] = set()
    todo = []
    for appointment, items in consent_todo_for(user=user):
        fresh = [item for item in items if (item.client.pk, item.kind) not in seen]
        seen.update((item.client.pk, item.kind) for item in fresh)
        if fresh:
            todo.append((appointment, fresh))
    return todo


def ward_sessions(guardian: User) -> list[dict[str, Any]]:
    """For each minor in the guardian's care: their next session and the forms left to sign."""
    todo = todo_once(guardian)
    found = []
    for ward in wards_of(guardian=guardian):
        upcoming = appointments_upcoming_for(user=guardian).filter(participants__client=ward)
        theirs = [(appointment, [i for i in items if i.client == ward]) for appointment, items in todo]
        found.append({"ward": ward, "next": next_session(upcoming), "todo": [pair for pair in theirs if pair[1]]})
    return found


# The admin's practice ------------------------------------------------------------------------------


def members_without_second_factor(admin: User) -> list[tuple[User, str]]:
    """Active members who cannot finish signing in yet: no second factor, or one set up halfway."""
    found = []
    for member in practice_members(practice=admin.practice).filter(is_active=True):
        if user_has_confirmed_device(user=member):
            continue
        found.append((member, "pending" if totp_device_pending(user=member) else "none"))
    return found


def invitations_expiring(admin: User, now: datetime | None = None) -> list[Invitation]:
    now = now or timezone.now()
    return list(
        Invitation.objects.filter(
            practice_id=admin.practice_id,
            accepted_at=None,
            revoked_at=None,
            expires_at__gt=now,
            expires_at__lte=now + INVITATION_SOON,
        ).order_by("expires_at")
    )


def open_flags(admin: User) -> int:
    return AuditFlag.objects.filter(practice_id=admin.practice_id, acknowledgement__isnull=True).count()


def intake_outstanding(user: User) -> list[dict[str, Any]]:
    """Intake packets the therapist's clients have not signed yet, with how far they got."""
    rows = []
    for packet in packets_outstanding_for(therapist=user)[:10]:
        done, total = progress(packet)
        rows.append({"packet": packet, "done": done, "total": total,
                     "before": next_session_start(client=packet.chart.client)})  # fmt: skip
    return rows


@mfa_required
@require_GET
def dashboard_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {
        "is_admin": user.has_role(Role.ADMIN),
        "is_therapist": user.has_role(Role.THERAPIST),
        "is_client": user.has_role(Role.CLIENT),
        "is_guardian": user.has_role(Role.GUARDIAN),
        "backup_codes_low": backup_codes_running_low(user=user),
        "training_due": [s for s in standing_of(user) if s.state != "done"],
        "now_day": timezone.localtime().strftime("%Y%m%d"),
    }
    if context["is_admin"]:
        practice = user.practice
        context |= {
            "no_second_factor": members_without_second_factor(user),
            "audit_facts": audit_facts(practice),
            "open_flags": open_flags(user),
            "invitations_expiring": invitations_expiring(user),
            "members_count": practice_members(practice=practice).filter(is_active=True).count(),
            "emergency_accesses": recent_emergency_accesses(user=user),
            "vendors_attention": vendors_needing_attention(user.practice_id),
            "training_overdue": staff_overdue(user.practice_id),
            "risk_review_due": review_due(user.practice_id),
            "risk_review_overdue": review_overdue(user.practice_id),
            "incidents_attention": incidents_needing_attention(user.practice_id),
            "backups": backup_status(),
        }
    if context["is_therapist"]:
        context |= {
            "day": therapist_day(user),
            "waiting": waiting_for(user),
            "drafts": list(drafts_to_sign(author=user)[:10]),
            "write_ups": sessions_to_write_up(user)[:10],
            "questionnaires": questionnaires_unopened(user=user),
            "consent_gaps": consent_gaps(user),
            "packets_outstanding": intake_outstanding(user),
            "caseload": caseload_of(user).select_related("chart").order_by("full_name"),
        }
    elif context["is_admin"]:
        context["invitations"] = invitations_visible_to(user=user)[:5]
    if context["is_client"]:
        upcoming = appointments_upcoming_for(user=user).filter(participants__client=user)
        context |= {
            "next": next_session(upcoming),
            "later": list(upcoming[1:4]),
            "todo": todo_once(user),
            "to_answer": list(questionnaires_to_answer(client=user)),
            "packets": [p for p in packets_to_fill(user=user) if p.chart.client_id == user.pk],
            "shared_notes": list(notes_shared_with(client=user)),
            "can_book": bookable_types_for(client=user).exists(),
        }
        account = own_account(user=user)
        owed = balance_of(account) if account is not None else None
        context["account"] = {"chart": account, "balance": owed} if owed else None
    if context["is_guardian"]:
        context["wards"] = ward_sessions(user)
        context["ward_packets"] = [p for p in packets_to_fill(user=user) if p.chart.client_id != user.pk]
    return render(request, "accounts/dashboard.html", context)


@mfa_exempt
@never_cache
@require_GET
def ready_view(request: HttpRequest) -> JsonResponse:
    """Readiness (``/healthz/ready``): each part this process needs, how it answered and how long
    it took; 503 when one it needs does not answer (home/health.py)."""
    ready, report = health.run_checks()
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": report}, status=200 if ready else 503)


STYLE_GUIDE_SWATCHES = (
    "text", "muted", "bg", "surface", "line", "line-strong", "primary", "primary-strong", "primary-soft",
    "success", "success-soft", "warning", "warning-soft", "danger", "danger-soft", "focus",
)  # fmt: skip


@mfa_exempt
@require_GET
def style_guide_view(request: HttpRequest) -> HttpResponse:
    """Every component in each of its states, with sample words only (no one's data). Served in
    the demo and development; in production it does not exist."""
    if settings.PRODUCTION:
        raise Http404
    answers = ("Not at all", "Several days", "More than half the days", "Nearly every day")
    return render(request, "home/style_guide.html", {"swatches": STYLE_GUIDE_SWATCHES, "answers": answers})
