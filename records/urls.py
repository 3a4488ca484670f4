from django.urls import path

from records import views

app_name = "records"

urlpatterns = [
    path("charts/", views.charts_view, name="charts"),
    path("charts/<uuid:chart_id>/", views.chart_view, name="chart"),
    path("charts/<uuid:chart_id>/emergency/", views.emergency_view, name="emergency"),
    path("charts/<uuid:chart_id>/notes/new/", views.note_new_view, name="note_new"),
    path("charts/<uuid:chart_id>/assessments/", views.assessment_assign_view, name="assessment_assign"),
    path("charts/<uuid:chart_id>/billing/", views.billing_add_view, name="billing_add"),
    path("billing/<uuid:billing_id>/", views.billing_change_view, name="billing_change"),
    path("charts/<uuid:chart_id>/diagnoses/", views.diagnoses_view, name="diagnoses"),
    path("charts/<uuid:chart_id>/superbill/", views.superbill_view, name="superbill"),
    path("services/", views.services_view, name="services"),
    path("charts/<uuid:chart_id>/psychotherapy-notes/", views.psychotherapy_new_view, name="psychotherapy_new"),
    path("charts/<uuid:chart_id>/exports/", views.export_new_view, name="export_new"),
    path("charts/<uuid:chart_id>/documents/", views.document_upload_view, name="document_upload"),
    path("documents/<uuid:chart_document_id>/", views.document_download_view, name="document"),
    path("documents/<uuid:chart_document_id>/remove/", views.document_remove_view, name="document_remove"),
    path("notes/<uuid:note_id>/", views.note_view, name="note"),
    path("notes/<uuid:note_id>/sign/", views.note_sign_view, name="note_sign"),
    path("notes/<uuid:note_id>/share/", views.note_share_view, name="note_share"),
    path("notes/<uuid:note_id>/unshare/", views.note_unshare_view, name="note_unshare"),
    path("notes/<uuid:note_id>/addenda/", views.note_addendum_view, name="note_addendum"),
    path("psychotherapy-notes/<uuid:note_id>/", views.psychotherapy_note_view, name="psychotherapy_note"),
    path("portal/", views.portal_view, name="portal"),
    path("assessments/<uuid:assessment_id>/", views.assessment_view, name="assessment"),
    path("exports/<uuid:export_id>/", views.export_view, name="export"),
]
