from __future__ import annotations

from django.http import HttpRequest

from accounts.models import User


class AuthedRequest(HttpRequest):
    """A request that the MFA middleware has let through: its user is a signed-in User."""

    user: User
