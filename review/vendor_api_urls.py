from django.urls import path

from review import vendor_api

urlpatterns = [
    path("", vendor_api.VendorListView.as_view(), name="api-vendors"),
    path("<str:vendor_id>/", vendor_api.VendorDetailView.as_view(), name="api-vendor"),
    path("<str:vendor_id>/baa/", vendor_api.VendorDocumentView.as_view(), name="api-vendor-document"),
]
