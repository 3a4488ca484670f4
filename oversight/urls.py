from django.urls import path

from oversight import views

app_name = "audit"

urlpatterns = [
    path("record-access/", views.record_access_view, name="record_access"),
    path("console/", views.console_view, name="console"),
    path("alerts/", views.flags_view, name="flags"),
    path("console/events/<int:event_id>/", views.console_event_view, name="event"),
    path("console/export.<str:fmt>", views.console_export_view, name="export"),
    path("console/clients/<int:client_id>/report/", views.client_report_view, name="client_report"),
]
