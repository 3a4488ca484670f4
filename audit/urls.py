from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("record-access/", views.record_access_view, name="record_access"),
]
