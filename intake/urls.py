from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("forms/", views.forms_view, name="forms"),
    path("forms/<uuid:form_version_id>/", views.form_version_view, name="form_version"),
    path("charts/<uuid:chart_id>/send/", views.send_view, name="send"),
    path("<uuid:packet_id>/", views.packet_view, name="packet"),
    path("<uuid:packet_id>/sign/", views.sign_view, name="sign"),
    path("<uuid:packet_id>/withdraw/", views.withdraw_view, name="withdraw"),
    path("items/<uuid:packet_item_id>/", views.item_view, name="item"),
    path("items/<uuid:packet_item_id>/confirm/", views.confirm_view, name="confirm"),
]
