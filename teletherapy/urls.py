from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from teletherapy import views

handler400 = "teletherapy.views.bad_request"
handler403 = "teletherapy.views.permission_denied"
handler404 = "teletherapy.views.page_not_found"
handler500 = "teletherapy.views.server_error"

urlpatterns = [
    path("healthz", views.health, name="health"),
    path("healthz/live", views.health, name="health_live"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include("accounts.api_urls")),
    # The sessions API holds the consent gate (api/v1/consent/gate/), so it comes before consent's.
    path("api/v1/", include("sessions.api_urls")),
    path("api/v1/consent/", include("consent.api_urls")),
    path("api/v1/records/", include("records.api_urls")),
    path("api/v1/billing/", include("billing.api_urls")),
    path("api/v1/", include("compliance.api_urls")),
    path("", include("compliance.urls")),
    path("consent/", include("consent.urls")),
    path("records/", include("records.urls")),
    path("messages/", include("messaging.urls")),
    path("intake/", include("intake.urls")),
    path("billing/", include("billing.urls")),
    path("sessions/", include("sessions.urls")),
    path("audit/", include("oversight.urls")),
    path("", include("home.urls")),
    path("", include("accounts.urls")),
]
