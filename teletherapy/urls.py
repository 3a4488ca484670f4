from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from sessions import api as sessions_api
from teletherapy import views

handler400 = "teletherapy.views.bad_request"
handler403 = "teletherapy.views.permission_denied"
handler404 = "teletherapy.views.page_not_found"
handler500 = "teletherapy.views.server_error"

urlpatterns = [
    path("healthz", views.health, name="health"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include("accounts.api_urls")),
    path("api/v1/consent/gate/", sessions_api.ConsentGateView.as_view(), name="api-consent-gate"),
    path("api/v1/consent/", include("consent.api_urls")),
    path("api/v1/records/", include("records.api_urls")),
    path("api/v1/sessions/", include("sessions.api_urls")),
    path("api/v1/privacy/", include("review.privacy_api_urls")),
    path("api/v1/vendors/", include("review.vendor_api_urls")),
    path("api/v1/training/", include("review.training_api_urls")),
    path("api/v1/risk-analyses/", include("review.risk_api_urls")),
    path("api/v1/incidents/", include("review.incident_api_urls")),
    path("privacy/", include("review.privacy_urls")),
    path("practice/vendors/", include("review.vendor_urls")),
    path("practice/risk/", include("review.risk_urls")),
    path("practice/safeguards/", include("review.safeguards_urls")),
    path("incidents/", include("review.incident_urls")),
    path("", include("review.training_urls")),
    path("consent/", include("consent.urls")),
    path("records/", include("records.urls")),
    path("messages/", include("messaging.urls")),
    path("intake/", include("intake.urls")),
    path("sessions/", include("sessions.urls")),
    path("audit/", include("review.urls")),
    path("", include("review.home_urls")),
    path("", include("accounts.urls")),
]
