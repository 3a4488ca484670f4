from django.urls import path

from review import incident_views

app_name = "incidents"

urlpatterns = [
    path("", incident_views.incident_list_view, name="list"),
    path("new/", incident_views.incident_new_view, name="new"),
    path("lost-device/", incident_views.lost_device_view, name="lost_device"),
    path("log.csv", incident_views.yearly_log_view, name="log"),
    path("<str:incident_id>/", incident_views.incident_detail_view, name="detail"),
    path("<str:incident_id>/letters/", incident_views.letters_view, name="letters"),
]
