"""Everything that changes clinical records, by resource: charts, notes (progress and
psychotherapy), care (questionnaires and billing), access (emergency access, the copy of the record)
and documents. Each write is audited in the same transaction."""

from records.services.access import (
    emergency_access_start,
    export_request,
)
from records.services.care import (
    assessment_assign,
    assessment_submit,
    billing_adjust,
    billing_create,
    billing_set_status,
)
from records.services.charts import (
    chart_create,
    chart_update,
    charts_find_by_date_of_birth,
)
from records.services.documents import (
    document_remove,
    document_upload,
)
from records.services.notes import (
    NoteConflict,
    note_addendum,
    note_create,
    note_file_excerpt,
    note_share,
    note_sign,
    note_unshare,
    note_update,
    psychotherapy_note_write,
)

__all__ = [
    "NoteConflict",
    "assessment_assign",
    "assessment_submit",
    "billing_adjust",
    "billing_create",
    "billing_set_status",
    "chart_create",
    "chart_update",
    "charts_find_by_date_of_birth",
    "document_remove",
    "document_upload",
    "emergency_access_start",
    "export_request",
    "note_addendum",
    "note_create",
    "note_file_excerpt",
    "note_share",
    "note_sign",
    "note_unshare",
    "note_update",
    "psychotherapy_note_write",
]
