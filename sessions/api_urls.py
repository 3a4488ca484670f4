"""The sessions API, mounted under ``api/v1/``: the appointments (``sessions-api:``) and the consent
gate a call asks before it starts."""

from django.urls import include, path

from sessions.api import booking as booking_api
from sessions.api import calls as api

appointment_routes = [
    path("", api.AppointmentListView.as_view(), name="list"),
    path("connection-test/", api.connection_test_view, name="connection-test"),
    path("<uuid:appointment_id>/check-in/", api.CheckInView.as_view(), name="check-in"),
    path("<uuid:appointment_id>/ice-servers/", api.IceServersView.as_view(), name="ice"),
    path("<uuid:appointment_id>/move/", booking_api.MoveView.as_view(), name="move"),
    path("<uuid:appointment_id>/cancel/", booking_api.CancelView.as_view(), name="cancel"),
]

booking_routes = [
    path("", booking_api.BookView.as_view(), name="book"),
    path("types/", booking_api.TypesView.as_view(), name="types"),
    path("types/<int:type_id>/times/", booking_api.TimesView.as_view(), name="times"),
]

waitlist_routes = [
    path("", booking_api.WaitlistView.as_view(), name="list"),
    path("<int:entry_id>/", booking_api.WaitlistEntryView.as_view(), name="entry"),
    path("offers/<uuid:offer_id>/", booking_api.OfferView.as_view(), name="offer"),
    path("offers/<uuid:offer_id>/accept/", booking_api.OfferAcceptView.as_view(), name="offer-accept"),
]

first_session_routes = [
    path("", booking_api.FirstRequestListView.as_view(), name="list"),
    path("<uuid:request_id>/answer/", booking_api.FirstRequestAnswerView.as_view(), name="answer"),
    path("ask/<slug:slug>/", booking_api.FirstRequestPublicView.as_view(), name="ask"),
]

urlpatterns = [
    path("consent/gate/", api.ConsentGateView.as_view(), name="api-consent-gate"),
    path("sessions/", include((appointment_routes, "sessions-api"))),
    path("booking/", include((booking_routes, "booking-api"))),
    path("waitlist/", include((waitlist_routes, "waitlist-api"))),
    path("first-sessions/", include((first_session_routes, "first-sessions-api"))),
]
