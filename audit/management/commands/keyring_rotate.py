"""Re-encrypt all sealed data under the current keys (the first key of each purpose)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit.models import Action
from audit.services import audit_record
from teletherapy.context import AuditContext
from teletherapy.keyring import CiphertextIntegrityError
from teletherapy.rotation import rotate_all


class Command(BaseCommand):
    help = "Re-encrypt every sealed value under the current keys. Safe to stop and start again."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=200, help="Rows per transaction (default 200).")

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if not 1 <= batch_size <= 10_000:
            raise CommandError("--batch-size must be between 1 and 10000.")
        started = time.monotonic()
        context = AuditContext.background("command", "keyring_rotate")
        with transaction.atomic():
            audit_record(action=Action.KEY_ROTATION, context=context, details={"stage": "started"})

        def progress(label: str, done: int, total: int) -> None:
            width = 30
            filled = int(width * done / total) if total else width
            self.stdout.write(f"{label:<28} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")

        try:
            report = rotate_all(batch_size=batch_size, progress=progress)
        except CiphertextIntegrityError as error:
            with transaction.atomic():
                audit_record(
                    action=Action.KEY_ROTATION,
                    context=context,
                    outcome="failed",
                    details={"stage": "failed", "reason": error.reason},
                )
            raise CommandError(
                f"A sealed value failed its integrity check ({error.reason}); nothing after it was changed."
            ) from None
        with transaction.atomic():
            audit_record(
                action=Action.KEY_ROTATION,
                context=context,
                details={"stage": "finished", "rows": report.rows_seen, "resealed": report.values_resealed},
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Checked {report.rows_seen} rows; re-encrypted {report.values_resealed} values and rebuilt "
                f"{report.indexes_rebuilt} lookup indexes in {time.monotonic() - started:.1f}s."
            )
        )
