from django.urls import path

from sessions import views

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
    path("<uuid:appointment_id>/", views.detail_view, name="detail"),
    path("<uuid:appointment_id>/cancel/", views.cancel_view, name="cancel"),
    path("<uuid:appointment_id>/join/", views.join_view, name="join"),
]
