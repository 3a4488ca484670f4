"""The practice's own safeguards at a glance (admins): the privacy fact sheet, vendors and BAAs,
staff training, the security risk analysis and privacy incidents, each with what needs attention."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.rules import mfa_required
from accounts.types import AuthedRequest
from compliance.models import Incident, TrainingModule, Vendor
from compliance.selectors import admin_only, incidents_needing_attention
from compliance.services.risk import review_due, review_overdue
from compliance.services.training import staff_overdue
from compliance.services.vendors import vendors_needing_attention


@mfa_required
@require_GET
def safeguards_view(request: AuthedRequest) -> HttpResponse:
    admin_only(request.user, "compliance.views.safeguards")
    practice_id = request.user.practice_id
    context = {
        "vendors": Vendor.objects.filter(practice_id=practice_id).count(),
        "vendors_attention": vendors_needing_attention(practice_id),
        "modules": TrainingModule.objects.filter(practice_id=practice_id).count(),
        "training_overdue": staff_overdue(practice_id),
        "risk_due": review_due(practice_id),
        "risk_overdue": review_overdue(practice_id),
        "incidents": Incident.objects.filter(practice_id=practice_id).count(),
        "incidents_attention": incidents_needing_attention(practice_id),
    }
    return render(request, "safeguards.html", context)
