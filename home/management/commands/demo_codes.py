"""Print the current authenticator code of each account of the demo practice, so every role can be
tried without adding ten keys to an app. Refused in production, where the demo practice cannot be
signed in to at all."""

from __future__ import annotations

import base64
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP

from accounts.models import TOTPDevice


class Command(BaseCommand):
    help = "Print each demo account's current authenticator code (the demo practice only; refused in production)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo codes are not available in production.")
        devices = (
            TOTPDevice.objects.filter(user__practice__is_demo=True, confirmed=True, user__is_active=True)
            .select_related("user")
            .order_by("user__email")
        )
        if not devices:
            raise CommandError("No demo account has an authenticator here. Load the demo with `make run` first.")
        now = time.time()
        left = int(30 - now % 30)
        self.stdout.write(f"Codes for the next {left} seconds (each works once):")
        for device in devices:
            totp = TOTP(base64.b32decode(device.secret), step=device.step, t0=0, digits=device.digits, drift=0)
            totp.time = now
            self.stdout.write(f"  {totp.token():0{device.digits}d}  {device.user.email}")
