"""The API of the practice's own safeguards, mounted under ``api/v1/``."""

from django.urls import path

from compliance.api import incidents, privacy, risk, training, vendors

urlpatterns = [
    path("privacy/<slug:slug>/", privacy.FactSheetView.as_view(), name="api-privacy"),
    path("vendors/", vendors.VendorListView.as_view(), name="api-vendors"),
    path("vendors/<str:vendor_id>/", vendors.VendorDetailView.as_view(), name="api-vendor"),
    path("vendors/<str:vendor_id>/baa/", vendors.VendorDocumentView.as_view(), name="api-vendor-document"),
    path("training/", training.TrainingListView.as_view(), name="api-training"),
    path(
        "training/<str:training_version_id>/attest/",
        training.TrainingAttestView.as_view(),
        name="api-training-attest",
    ),
    path("risk-analyses/", risk.RiskAnalysisListView.as_view(), name="api-risk"),
    path("risk-analyses/<str:analysis_id>/", risk.RiskAnalysisDetailView.as_view(), name="api-risk-detail"),
    path("incidents/", incidents.IncidentListView.as_view(), name="api-incidents"),
    path("incidents/lost-device/", incidents.LostDeviceView.as_view(), name="api-incident-lost-device"),
    path("incidents/log/", incidents.YearlyLogView.as_view(), name="api-incident-log"),
    path("incidents/<str:incident_id>/", incidents.IncidentDetailView.as_view(), name="api-incident"),
    path(
        "incidents/<str:incident_id>/messages/", incidents.IncidentMessageView.as_view(), name="api-incident-messages"
    ),
    path("incidents/<str:incident_id>/triage/", incidents.IncidentTriageView.as_view(), name="api-incident-triage"),
    path(
        "incidents/<str:incident_id>/affected/", incidents.IncidentAffectedView.as_view(), name="api-incident-affected"
    ),
    path("incidents/<str:incident_id>/letter/", incidents.IncidentLetterView.as_view(), name="api-incident-letter"),
    path("incidents/<str:incident_id>/delay/", incidents.IncidentDelayView.as_view(), name="api-incident-delay"),
    path("incidents/<str:incident_id>/notices/", incidents.IncidentNoticeView.as_view(), name="api-incident-notices"),
    path("incidents/<str:incident_id>/status/", incidents.IncidentStatusView.as_view(), name="api-incident-status"),
]
