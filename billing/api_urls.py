from django.urls import path

from billing import api

urlpatterns = [
    path("accounts/<uuid:chart_id>/", api.AccountView.as_view(), name="api-billing-account"),
    path("accounts/<uuid:chart_id>/payments/", api.PaymentsView.as_view(), name="api-billing-payments"),
    path("accounts/<uuid:chart_id>/adjustments/", api.AdjustmentsView.as_view(), name="api-billing-adjustments"),
    path("aging/", api.AgingView.as_view(), name="api-billing-aging"),
]
