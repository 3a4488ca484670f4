from django.urls import path

from sessions.views import booking as booking_views
from sessions.views import pages as views
from sessions.views import requests as request_views

app_name = "sessions"

urlpatterns = [
    path("", views.list_view, name="list"),
    path("new/", views.schedule_view, name="schedule"),
    path("licenses/", views.licenses_view, name="licenses"),
    path("availability/", views.availability_view, name="availability"),
    path("settings/", views.policy_view, name="policy"),
    path("time-zone/", views.time_zone_view, name="time_zone"),
    path("feed/<str:token>.ics", views.feed_view, name="feed"),
    path("calendar-feed/", views.feed_manage_view, name="feed_manage"),
    path("calendar/", views.calendar_view, name="calendar"),
    path("book/", booking_views.book_view, name="book"),
    path("waitlist/", booking_views.waitlist_view, name="waitlist"),
    path("offers/<uuid:offer_id>/", booking_views.offer_view, name="offer"),
    path("requests/", request_views.requests_view, name="requests"),
    path("ask/<slug:slug>/", request_views.ask_view, name="ask"),
    path("<uuid:appointment_id>/", views.detail_view, name="detail"),
    path("<uuid:appointment_id>/cancel/", views.cancel_view, name="cancel"),
    path("<uuid:appointment_id>/join/", views.join_view, name="join"),
    path("<uuid:appointment_id>/change/", booking_views.change_view, name="change"),
]
