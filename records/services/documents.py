"""Documents on a chart: uploaded (checked, scanned, sealed) and removed."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from records import files
from records.models import (
    ChartDocument,
    ClientChart,
)
from records.selectors import DOCUMENT_UPLOADERS, Access
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, ServiceError

# Documents ------------------------------------------------------------------------------------


def document_upload(
    *,
    actor: User,
    chart: ClientChart,
    access: Access,
    upload: object,
    shared_with_client: bool = True,
    context: AuditContext | None,
) -> ChartDocument:
    """Check an upload (records.files), seal it into the store and file it on the chart. A refusal
    stores nothing, and is audited with its reason (a virus found is something admins should see)."""

    if access not in DOCUMENT_UPLOADERS:
        raise NotAllowed(
            "Only the care team, the client or their guardian adds documents.",
            target_type=chart._meta.label_lower,
            target_id=chart.pk,
        )
    if upload is None:
        raise ServiceError("Choose a file to upload.", field="file")
    try:
        checked = files.check_upload(upload)
    except files.DocumentRefused as refusal:
        audit_record(
            action=Action.DOCUMENT_REFUSED,
            actor=actor,
            context=context,
            target=chart,
            subject_client_id=chart.client_id,
            details={"reason": refusal.code},
        )
        raise
    document = ChartDocument(
        chart=chart,
        uploaded_by=actor,
        name=checked.name,
        kind=checked.kind,
        size=checked.size,
        sha256=checked.sha256,
        scanned=checked.scanned,
        # What a client or guardian adds is theirs to see; the care team chooses.
        shared_with_client=bool(shared_with_client) or access is not Access.CARE_TEAM,
    )
    try:
        document.stored_as = files.store(checked, document_id=document.pk, chart_id=chart.pk)
    finally:
        checked.plain.close()
    try:
        with transaction.atomic():
            document.save()
            audit_record(
                action=Action.DOCUMENT_UPLOAD,
                actor=actor,
                context=context,
                target=document,
                subject_client_id=chart.client_id,
                details={"kind": checked.kind, "size": checked.size, "scanned": checked.scanned},
            )
    except BaseException:
        files.unstore(document.stored_as)  # no row, no file
        raise
    return document


def document_remove(*, actor: User, document: ChartDocument, context: AuditContext | None) -> ChartDocument:
    """Take a document out of view. It is kept, with who removed it and when, like a signed note."""
    with transaction.atomic():
        locked = ChartDocument.objects.select_for_update().get(pk=document.pk)
        if locked.removed_at is not None:
            raise ServiceError("This document was removed already.", code="removed")
        locked.removed_at = timezone.now()
        locked.removed_by = actor
        locked.save(update_fields=["removed_at", "removed_by"])
        audit_record(
            action=Action.DOCUMENT_REMOVE,
            actor=actor,
            context=context,
            target=locked,
            subject_client_id=locked.chart.client_id,
        )
    return locked
