from django.urls import path

from sessions import api

app_name = "sessions-api"

urlpatterns = [
    path("", api.AppointmentListView.as_view(), name="list"),
    path("connection-test/", api.connection_test_view, name="connection-test"),
    path("<uuid:appointment_id>/check-in/", api.CheckInView.as_view(), name="check-in"),
    path("<uuid:appointment_id>/ice-servers/", api.IceServersView.as_view(), name="ice"),
]
