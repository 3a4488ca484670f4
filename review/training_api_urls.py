from django.urls import path

from review import training_api

urlpatterns = [
    path("", training_api.TrainingListView.as_view(), name="api-training"),
    path("<str:training_version_id>/attest/", training_api.TrainingAttestView.as_view(), name="api-training-attest"),
]
