from django.urls import path

from records import api

urlpatterns = [
    path("charts/", api.ChartListView.as_view(), name="api-records-charts"),
    path("charts/<uuid:chart_id>/", api.ChartDetailView.as_view(), name="api-records-chart"),
    path("charts/<uuid:chart_id>/notes/", api.NoteListView.as_view(), name="api-records-notes"),
    path("charts/<uuid:chart_id>/assessments/", api.AssessmentListView.as_view(), name="api-records-assessments"),
    path("charts/<uuid:chart_id>/billing/", api.BillingListView.as_view(), name="api-records-billing"),
    path("charts/<uuid:chart_id>/diagnoses/", api.DiagnosisListView.as_view(), name="api-records-diagnoses"),
    path("icd10/", api.IcdSearchView.as_view(), name="api-records-icd10"),
    path("charts/<uuid:chart_id>/emergency-access/", api.EmergencyAccessView.as_view(), name="api-records-emergency"),
    path(
        "charts/<uuid:chart_id>/psychotherapy-notes/",
        api.PsychotherapyNoteListView.as_view(),
        name="api-records-psychotherapy-notes",
    ),
    path("charts/<uuid:chart_id>/exports/", api.ExportCreateView.as_view(), name="api-records-exports"),
    path("notes/<uuid:note_id>/", api.NoteDetailView.as_view(), name="api-records-note"),
    path("notes/<uuid:note_id>/sign/", api.NoteActionView.as_view(action_name="sign"), name="api-records-note-sign"),
    path("notes/<uuid:note_id>/share/", api.NoteActionView.as_view(action_name="share"), name="api-records-note-share"),
    path(
        "notes/<uuid:note_id>/addenda/",
        api.NoteActionView.as_view(action_name="addendum"),
        name="api-records-note-addendum",
    ),
    path(
        "assessments/<uuid:assessment_id>/submit/",
        api.AssessmentSubmitView.as_view(),
        name="api-records-assessment-submit",
    ),
    path(
        "psychotherapy-notes/<uuid:note_id>/",
        api.PsychotherapyNoteDetailView.as_view(),
        name="api-records-psychotherapy-note",
    ),
    path("exports/<uuid:export_id>/", api.ExportDetailView.as_view(), name="api-records-export"),
    path("billing/<uuid:billing_id>/", api.BillingDetailView.as_view(), name="api-records-billing-record"),
]
