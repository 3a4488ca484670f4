from django.urls import path

from messaging import views

app_name = "messaging"

urlpatterns = [
    path("", views.list_view, name="list"),
    path("new/", views.start_view, name="start"),
    path("<uuid:conversation_id>/", views.conversation_view, name="conversation"),
    path("<uuid:conversation_id>/send/", views.send_view, name="send"),
    path("m/<uuid:message_id>/edit/", views.edit_view, name="edit"),
    path("m/<uuid:message_id>/retract/", views.retract_view, name="retract"),
    path("m/<uuid:message_id>/attachment/", views.attachment_view, name="attachment"),
    path("m/<uuid:message_id>/file/", views.file_view, name="file"),
]
