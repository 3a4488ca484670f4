from django.urls import path

from accounts.views import account, auth, password, practice

app_name = "accounts"

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("mfa/", auth.mfa_view, name="mfa"),
    path("mfa/enroll/", auth.mfa_enroll_view, name="mfa_enroll"),
    path("mfa/enroll/link/<str:token>/", auth.enroll_link_view, name="enroll_link"),
    path("mfa/passkey/options/", auth.passkey_options_view, name="passkey_options"),
    path("mfa/recovery/", auth.recovery_view, name="recovery"),
    path("mfa/recovery/cancel/<str:token>/", auth.recovery_cancel_view, name="recovery_cancel"),
    path("password/forgot/", password.forgot_view, name="password_forgot"),
    path("password/reset/", password.reset_view, name="password_reset"),
    path("password/reset/<str:token>/", password.reset_link_view, name="password_reset_link"),
    path("invite/<str:token>/", auth.invitation_accept_view, name="invitation_accept"),
    path("account/security/", account.security_view, name="security"),
    path("account/password/", account.password_change_view, name="password_change"),
    path("account/sessions/revoke-others/", account.sessions_revoke_others_view, name="sessions_revoke_others"),
    path("account/reauth/", account.reauth_view, name="reauth"),
    path("account/mfa/replace/", account.mfa_replace_view, name="mfa_replace"),
    path("account/backup-codes/", account.backup_codes_regenerate_view, name="backup_codes"),
    path("account/passkeys/add/", account.passkey_add_view, name="passkey_add"),
    path("account/passkeys/<str:device_id>/remove/", account.passkey_remove_view, name="passkey_remove"),
    path("account/session/status/", account.session_status_view, name="session_status"),
    path("account/session/keepalive/", account.session_keepalive_view, name="session_keepalive"),
    path("practice/invitations/", practice.invitations_view, name="invitations"),
    path(
        "practice/invitations/<uuid:invitation_id>/revoke/", practice.invitation_revoke_view, name="invitation_revoke"
    ),
    path("practice/members/", practice.members_view, name="members"),
    path("practice/sign-in-policy/", practice.sign_in_policy_view, name="sign_in_policy"),
    path("practice/currency/", practice.practice_currency_view, name="practice_currency"),
    path("practice/office-hours/", practice.practice_office_hours_view, name="practice_office_hours"),
    path("practice/logo/", practice.practice_logo_view, name="practice_logo"),
    path("practice/logo/remove/", practice.practice_logo_remove_view, name="practice_logo_remove"),
    path("practice/logo/<str:digest>.png", practice.practice_logo_image_view, name="practice_logo_image"),
    path("practice/recoveries/", practice.recoveries_view, name="recoveries"),
    path("practice/members/<int:user_id>/", practice.member_view, name="member"),
    path(
        "practice/members/<int:user_id>/password-reset/",
        practice.member_password_reset_view,
        name="member_password_reset",
    ),
    path("practice/members/<int:user_id>/role/", practice.member_role_view, name="member_role"),
    path("practice/members/<int:user_id>/confirm/", practice.member_confirm_view, name="member_confirm"),
    path("practice/members/<int:user_id>/reactivate/", practice.member_reactivate_view, name="member_reactivate"),
    path("practice/members/<int:user_id>/deactivate/", practice.member_deactivate_view, name="member_deactivate"),
]
