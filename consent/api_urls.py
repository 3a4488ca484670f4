from django.urls import path

from consent import api

urlpatterns = [
    path("documents/", api.DocumentListView.as_view(), name="api-consent-documents"),
    path("documents/<int:document_id>/drafts/", api.DraftCreateView.as_view(), name="api-consent-draft-create"),
    path("versions/<uuid:version_id>/", api.VersionView.as_view(), name="api-consent-version"),
    path("versions/<uuid:version_id>/publish/", api.PublishView.as_view(), name="api-consent-publish"),
    path("signatures/", api.SignatureListView.as_view(), name="api-consent-signatures"),
    path("signatures/<uuid:signature_id>/", api.SignatureDetailView.as_view(), name="api-consent-signature"),
    path("signatures/<uuid:signature_id>/withdraw/", api.WithdrawView.as_view(), name="api-consent-withdraw"),
    path("requests/", api.RequestCreateView.as_view(), name="api-consent-requests"),
    path("agreements/", api.AgreementView.as_view(), name="api-consent-agreements"),
]
