from django.urls import path

from review import incident_api as api

urlpatterns = [
    path("", api.IncidentListView.as_view(), name="api-incidents"),
    path("lost-device/", api.LostDeviceView.as_view(), name="api-incident-lost-device"),
    path("log/", api.YearlyLogView.as_view(), name="api-incident-log"),
    path("<str:incident_id>/", api.IncidentDetailView.as_view(), name="api-incident"),
    path("<str:incident_id>/messages/", api.IncidentMessageView.as_view(), name="api-incident-messages"),
    path("<str:incident_id>/triage/", api.IncidentTriageView.as_view(), name="api-incident-triage"),
    path("<str:incident_id>/affected/", api.IncidentAffectedView.as_view(), name="api-incident-affected"),
    path("<str:incident_id>/letter/", api.IncidentLetterView.as_view(), name="api-incident-letter"),
    path("<str:incident_id>/delay/", api.IncidentDelayView.as_view(), name="api-incident-delay"),
    path("<str:incident_id>/notices/", api.IncidentNoticeView.as_view(), name="api-incident-notices"),
    path("<str:incident_id>/status/", api.IncidentStatusView.as_view(), name="api-incident-status"),
]
