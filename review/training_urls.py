from django.urls import path

from review import training_views

app_name = "training"

urlpatterns = [
    path("training/", training_views.my_training_view, name="mine"),
    path("training/<str:training_version_id>/", training_views.attest_view, name="attest"),
    path("practice/training/", training_views.admin_view, name="admin"),
    path("practice/training/<str:module_id>/", training_views.module_view, name="module"),
]
