"""What the record pages share: the chart door and read events."""

from __future__ import annotations

import json
from typing import Any

from django.http import Http404

from accounts.types import AuthedRequest
from audit.models import Action
from audit.services import audit_denied, audit_record
from records.models import ClientChart
from records.selectors import (
    Access,
    Need,
    chart_get_for_user,
)


def refused(request: AuthedRequest, target_type: str, target_id: object) -> Http404:
    audit_denied(request=request, target_type=target_type, target_id=str(target_id)[:64], reason="not_found")
    return Http404()


def chart_or_refuse(request: AuthedRequest, chart_id: object, need: Need) -> tuple[ClientChart, Access]:
    found = chart_get_for_user(user=request.user, chart_id=chart_id, need=need)
    if found is None:
        raise refused(request, "records.clientchart", chart_id)
    return found


def audit_read(
    request: AuthedRequest, action: Action, target: Any, chart: ClientChart, access: Access, **details: Any
) -> None:
    audit_record(
        action=action,
        actor=request.user,
        request=request,
        target=target,
        subject_client_id=chart.client_id,
        flagged=access is Access.EMERGENCY,
        details={"access": access.value, **details},
    )


def results_of(assessments: Any) -> list[dict[str, Any]]:
    rows = []
    for assessment in assessments:
        result = json.loads(assessment.result) if assessment.result else None
        rows.append({"assessment": assessment, "result": result})
    return rows


# Therapists --------------------------------------------------------------------------------
