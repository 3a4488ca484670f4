from django.urls import path

from accounts import api

urlpatterns = [
    path("me/", api.MeView.as_view(), name="api-me"),
    path("accounts/sessions/", api.SessionListView.as_view(), name="api-sessions"),
    path("accounts/sessions/revoke-others/", api.SessionRevokeOthersView.as_view(), name="api-sessions-revoke-others"),
    path("accounts/invitations/", api.InvitationListView.as_view(), name="api-invitations"),
    path(
        "accounts/invitations/<uuid:invitation_id>/revoke/",
        api.InvitationRevokeView.as_view(),
        name="api-invitation-revoke",
    ),
]
