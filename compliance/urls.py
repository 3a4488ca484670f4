"""The pages of the practice's own safeguards: each part keeps its own namespace
(``privacy:``, ``vendors:``, ``risk:``, ``safeguards:``, ``incidents:``, ``training:``)."""

from django.urls import include, path

from compliance.views import incidents, privacy, risk, safeguards, training, vendors

privacy_pages = [
    path("", privacy.index_view, name="index"),
    path("<slug:slug>/", privacy.sheet_view, name="sheet"),
    path("<slug:slug>/listing/", privacy.listing_view, name="listing"),
    path("<slug:slug>/changes/<int:change_id>/reconsent/", privacy.reconsent_view, name="reconsent"),
]

vendor_pages = [
    path("", vendors.vendors_view, name="list"),
    path("<str:vendor_id>/", vendors.vendor_view, name="detail"),
    path("<str:vendor_id>/baa/", vendors.vendor_document_view, name="document"),
]

risk_pages = [
    path("", risk.risk_list_view, name="list"),
    path("<str:analysis_id>/", risk.risk_detail_view, name="detail"),
    path("<str:analysis_id>/report.pdf", risk.risk_report_view, name="report"),
]

incident_pages = [
    path("", incidents.incident_list_view, name="list"),
    path("new/", incidents.incident_new_view, name="new"),
    path("lost-device/", incidents.lost_device_view, name="lost_device"),
    path("log.csv", incidents.yearly_log_view, name="log"),
    path("<str:incident_id>/", incidents.incident_detail_view, name="detail"),
    path("<str:incident_id>/letters/", incidents.letters_view, name="letters"),
]

training_pages = [
    path("training/", training.my_training_view, name="mine"),
    path("training/<str:training_version_id>/", training.attest_view, name="attest"),
    path("practice/training/", training.admin_view, name="admin"),
    path("practice/training/<str:module_id>/", training.module_view, name="module"),
]

urlpatterns = [
    path("privacy/", include((privacy_pages, "privacy"))),
    path("practice/vendors/", include((vendor_pages, "vendors"))),
    path("practice/risk/", include((risk_pages, "risk"))),
    path("practice/safeguards/", include(([path("", safeguards.safeguards_view, name="overview")], "safeguards"))),
    path("incidents/", include((incident_pages, "incidents"))),
    path("", include((training_pages, "training"))),
]
