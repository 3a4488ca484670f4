"""Clinical record pages for therapists, clients and guardians, one module per resource."""

from records.views.assessments import assessment_assign_view, assessment_view
from records.views.billing import billing_add_view, billing_change_view, diagnoses_view, services_view, superbill_view
from records.views.charts import chart_view, charts_view, emergency_view
from records.views.documents import document_download_view, document_remove_view, document_upload_view
from records.views.notes import (
    note_addendum_view,
    note_new_view,
    note_share_view,
    note_sign_view,
    note_unshare_view,
    note_view,
)
from records.views.portal import export_new_view, export_view, portal_view
from records.views.psychotherapy import psychotherapy_new_view, psychotherapy_note_view

__all__ = [
    "assessment_assign_view",
    "assessment_view",
    "billing_add_view",
    "billing_change_view",
    "chart_view",
    "charts_view",
    "diagnoses_view",
    "document_download_view",
    "document_remove_view",
    "document_upload_view",
    "emergency_view",
    "export_new_view",
    "export_view",
    "note_addendum_view",
    "note_new_view",
    "note_share_view",
    "note_sign_view",
    "note_unshare_view",
    "note_view",
    "portal_view",
    "psychotherapy_new_view",
    "psychotherapy_note_view",
    "services_view",
    "superbill_view",
]
