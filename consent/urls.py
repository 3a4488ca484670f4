from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("", views.mine_view, name="mine"),
    path("sign/", views.sign_needed_view, name="sign_needed"),
    path("versions/<uuid:version_id>/sign/", views.sign_view, name="sign"),
    path("signatures/<uuid:signature_id>/", views.signature_view, name="signature"),
    path("signatures/<uuid:signature_id>/withdraw/", views.withdraw_view, name="withdraw"),
    path("caseload/", views.caseload_view, name="caseload"),
    path("caseload/<int:client_id>/request/", views.request_view, name="request"),
    path("caseload/<int:client_id>/agreements/", views.agreements_view, name="agreements"),
    path("manage/", views.documents_view, name="documents"),
    path("manage/documents/<int:document_id>/draft/", views.draft_new_view, name="draft_new"),
    path("manage/versions/<uuid:version_id>/", views.version_view, name="version"),
]
