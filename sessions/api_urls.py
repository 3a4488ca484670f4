"""The sessions API, mounted under ``api/v1/``: the appointments (``sessions-api:``) and the consent
gate a call asks before it starts."""

from django.urls import include, path

from sessions import api

appointment_routes = [
    path("", api.AppointmentListView.as_view(), name="list"),
    path("connection-test/", api.connection_test_view, name="connection-test"),
    path("<uuid:appointment_id>/check-in/", api.CheckInView.as_view(), name="check-in"),
    path("<uuid:appointment_id>/ice-servers/", api.IceServersView.as_view(), name="ice"),
]

urlpatterns = [
    path("consent/gate/", api.ConsentGateView.as_view(), name="api-consent-gate"),
    path("sessions/", include((appointment_routes, "sessions-api"))),
]
