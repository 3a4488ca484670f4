from __future__ import annotations

from typing import Any, cast

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.models import User
from accounts.rules import is_mfa_verified


class MFAVerified(BasePermission):
    message = "An MFA-verified session is required."
    code = "mfa_required"

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_mfa_verified(request._request)


class HasRole(MFAVerified):
    roles: tuple[str, ...] = ()

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and cast(User, request.user).has_role(*self.roles)


def roles_permission(*roles: str) -> type[HasRole]:
    return type("HasRole_" + "_".join(roles), (HasRole,), {"roles": roles})
