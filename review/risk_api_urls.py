from django.urls import path

from review import risk_api

urlpatterns = [
    path("", risk_api.RiskAnalysisListView.as_view(), name="api-risk"),
    path("<str:analysis_id>/", risk_api.RiskAnalysisDetailView.as_view(), name="api-risk-detail"),
]
