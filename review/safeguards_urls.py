from django.urls import path

from review import safeguards

app_name = "safeguards"

urlpatterns = [path("", safeguards.safeguards_view, name="overview")]
