"""What the record pages share: the chart door and read events."""

from __future__ import annotations

import json
from typing import Any

from accounts.types import AuthedRequest
from audit.models import Action
from records.files import max_megabytes
from records.models import ClientChart
from records.reads import record_read
from records.scoring import ANSWER_CHOICES, ITEMS
from records.selectors import Access
from teletherapy import scanner
from teletherapy.context import context_of


def audit_read(
    request: AuthedRequest, action: Action, target: Any, chart: ClientChart, access: Access, **details: Any
) -> None:
    record_read(
        actor=request.user,
        context=context_of(request),
        action=action,
        target=target,
        chart=chart,
        access=access,
        **details,
    )


def upload_context() -> dict[str, Any]:
    """What an upload form says: the limits, and whether files are scanned for viruses here."""
    from django.conf import settings

    return {"max_mb": max_megabytes(), "scanned": scanner.configured() or settings.DOCUMENT_SCAN_REQUIRED}


def results_of(assessments: Any) -> list[dict[str, Any]]:
    """Each assessment with its result and, once answered, each question with its answer."""
    choices = dict(ANSWER_CHOICES)
    rows = []
    for assessment in assessments:
        result = json.loads(assessment.result) if assessment.result else None
        given = json.loads(assessment.answers) if assessment.answers else []
        answers = [
            {"number": i + 1, "question": question, "value": value, "answer": choices.get(value, str(value))}
            for i, (question, value) in enumerate(zip(ITEMS.get(assessment.kind, []), given, strict=False))
        ]
        rows.append({"assessment": assessment, "result": result, "answers": answers})
    return rows


# Therapists --------------------------------------------------------------------------------
