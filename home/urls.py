from django.urls import path

from home import views as home

app_name = "home"

urlpatterns = [
    path("", home.dashboard_view, name="dashboard"),
    path("healthz/ready", home.ready_view, name="ready"),
    path("style-guide/", home.style_guide_view, name="style_guide"),
]
