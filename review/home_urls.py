from django.urls import path

from review import home

app_name = "home"

urlpatterns = [
    path("", home.dashboard_view, name="dashboard"),
]
