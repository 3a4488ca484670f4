"""JSON API for clinical records, under /api/v1/records/, one module per resource. Every read and write is audited."""

from records.api.assessments import AssessmentListView, AssessmentSubmitView
from records.api.billing import BillingDetailView, BillingListView, DiagnosisListView, IcdSearchView
from records.api.charts import ChartDetailView, ChartListView, EmergencyAccessView
from records.api.exports import ExportCreateView, ExportDetailView
from records.api.notes import NoteActionView, NoteDetailView, NoteListView, NoteSerializer
from records.api.psychotherapy import PsychotherapyNoteDetailView, PsychotherapyNoteListView

__all__ = [
    "AssessmentListView",
    "AssessmentSubmitView",
    "BillingDetailView",
    "BillingListView",
    "ChartDetailView",
    "ChartListView",
    "DiagnosisListView",
    "EmergencyAccessView",
    "ExportCreateView",
    "ExportDetailView",
    "IcdSearchView",
    "NoteActionView",
    "NoteDetailView",
    "NoteListView",
    "NoteSerializer",
    "PsychotherapyNoteDetailView",
    "PsychotherapyNoteListView",
]
