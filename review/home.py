"""The home page: each person's day at a glance, drawn from every app (so it sits on top)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Role
from accounts.rules import mfa_required
from accounts.selectors import (
    backup_codes_remaining,
    clients_of_care_team,
    invitations_visible_to,
    practice_members,
    wards_of,
)
from accounts.types import AuthedRequest
from consent.selectors import consent_todo_for
from records.selectors import recent_emergency_accesses
from review.incidents import incidents_needing_attention
from review.risk import review_due, review_overdue
from review.training import staff_overdue, standing_of
from review.vendors import vendors_needing_attention
from sessions.selectors import appointments_upcoming_for


@mfa_required
@require_GET
def dashboard_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {
        "is_admin": user.has_role(Role.ADMIN),
        "is_therapist": user.has_role(Role.THERAPIST),
        "is_client": user.has_role(Role.CLIENT),
        "is_guardian": user.has_role(Role.GUARDIAN),
        "backup_codes_left": backup_codes_remaining(user=user),
    }
    if context["is_admin"]:
        context["members"] = practice_members(practice=user.practice)
        context["emergency_accesses"] = recent_emergency_accesses(user=user)
        context["vendors_attention"] = vendors_needing_attention(user.practice_id)
        context["training_overdue"] = staff_overdue(user.practice_id)
        context["risk_review_due"] = review_due(user.practice_id)
        context["risk_review_overdue"] = review_overdue(user.practice_id)
        context["incidents_attention"] = incidents_needing_attention(user.practice_id)
    if context["is_admin"] or context["is_therapist"]:
        context["invitations"] = invitations_visible_to(user=user)[:10]
    context["training_due"] = [s for s in standing_of(user) if s.state != "done"]
    if context["is_therapist"]:
        context["clients"] = clients_of_care_team(therapist=user).filter(is_active=True)
    if context["is_guardian"]:
        context["wards"] = wards_of(guardian=user)
    if context["is_client"] or context["is_guardian"]:
        context["todo"] = consent_todo_for(user=user)
        context["appointments"] = appointments_upcoming_for(user=user)[:5]
    return render(request, "accounts/dashboard.html", context)
