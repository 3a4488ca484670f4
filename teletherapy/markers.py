"""Marks a view carries for the middleware of higher layers to read."""

from __future__ import annotations

from collections.abc import Callable


def mfa_exempt(view: Callable) -> Callable:
    """Mark a view as reachable without a verified second factor (login, MFA, invitations)."""
    view.mfa_exempt = True  # type: ignore[attr-defined]
    return view


def allow_media(view: Callable) -> Callable:
    """Let this view's page use the camera and microphone (Permissions-Policy)."""
    view.allow_media = True  # type: ignore[attr-defined]
    return view
