"""Everything that changes account data goes through these functions."""

from accounts.services.auth import (
    LoginRefused,
    login_with_password,
    logout_user,
    password_change,
    session_timeout_end,
    sessions_end_for_user,
    sessions_revoke_others,
    throttle_locked_until,
)
from accounts.services.invitations import (
    invitation_accept,
    invitation_lookup,
    invitation_revoke,
    invitation_send,
)
from accounts.services.members import role_change, user_deactivate, user_reactivate
from accounts.services.mfa import (
    backup_codes_regenerate,
    mfa_verify,
    reauthenticate,
    totp_device_confirm,
    totp_device_start,
    totp_provisioning_uri,
    totp_qr_svg,
)

__all__ = [
    "LoginRefused",
    "backup_codes_regenerate",
    "invitation_accept",
    "invitation_lookup",
    "invitation_revoke",
    "invitation_send",
    "login_with_password",
    "logout_user",
    "mfa_verify",
    "password_change",
    "reauthenticate",
    "role_change",
    "session_timeout_end",
    "sessions_end_for_user",
    "sessions_revoke_others",
    "throttle_locked_until",
    "totp_device_confirm",
    "totp_device_start",
    "totp_provisioning_uri",
    "totp_qr_svg",
    "user_deactivate",
    "user_reactivate",
]
