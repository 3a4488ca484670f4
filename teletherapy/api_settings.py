"""The API's settings: Django REST framework's defaults for every view, and the OpenAPI
description drf-spectacular serves."""

from __future__ import annotations

from typing import Any


def api_framework() -> dict[str, Any]:
    return {
        "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.MFAVerified"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "DEFAULT_PARSER_CLASSES": ["teletherapy.parsers.BoundedJSONParser"],
        "DEFAULT_SCHEMA_CLASS": "teletherapy.schema.ErrorAwareSchema",
        "EXCEPTION_HANDLER": "teletherapy.api.exception_handler",
        "UNAUTHENTICATED_USER": None,
    }


def api_schema() -> dict[str, Any]:
    return {
        "TITLE": "Teletherapy API",
        "DESCRIPTION": "JSON API for the same operations the pages offer. Session auth with CSRF; "
        "every call needs an MFA-verified session.",
        "VERSION": "1",
        "SERVE_INCLUDE_SCHEMA": False,
        "SERVE_PERMISSIONS": ["accounts.permissions.MFAVerified"],
        "ENUM_NAME_OVERRIDES": {
            "ConsentKindEnum": "consent.models.ConsentKind",
            "AssessmentKindEnum": "records.models.AssessmentKind",
            "RoleEnum": "accounts.models.Role",
            "AppointmentStatusEnum": "sessions.models.AppointmentStatus",
            "PaymentMethodEnum": "billing.models.PaymentMethod",
            "AdjustmentKindEnum": "billing.models.AdjustmentKind",
            "NoticeMethodEnum": ["post", "email"],
        },
    }
