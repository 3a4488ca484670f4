from django.urls import path

from review import vendor_views

app_name = "vendors"

urlpatterns = [
    path("", vendor_views.vendors_view, name="list"),
    path("<str:vendor_id>/", vendor_views.vendor_view, name="detail"),
    path("<str:vendor_id>/baa/", vendor_views.vendor_document_view, name="document"),
]
