from django.urls import path

from review import risk_views

app_name = "risk"

urlpatterns = [
    path("", risk_views.risk_list_view, name="list"),
    path("<str:analysis_id>/", risk_views.risk_detail_view, name="detail"),
    path("<str:analysis_id>/report.pdf", risk_views.risk_report_view, name="report"),
]
