"""Restore a backup into empty databases, then verify the audit trail against its manifest."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from operations.backup import BackupRefused, backup_check, backup_restore
from teletherapy.backups import BackupError


class Command(BaseCommand):
    help = (
        "Check a backup whole (manifest, digests, every sealed chunk), restore it into empty databases "
        "and an empty document store, then verify the audit trail, compare its chain heads with the "
        "manifest and open every document against its chart."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("src", type=Path, help="A folder written by `manage.py backup`.")
        parser.add_argument("--check", action="store_true", help="Only check the backup; restore nothing.")
        parser.add_argument(
            "--report", type=Path, help="Also write what was restored and found, as JSON, to this file."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        src: Path = options["src"]
        try:
            if options["check"]:
                manifest = backup_check(src, out=self.stdout)
                self.stdout.write(self.style.SUCCESS(f"The backup of {manifest['created_at']} is whole and opens."))
                return
            report = backup_restore(src, out=self.stdout)
        except (BackupRefused, BackupError, OSError) as error:
            if options["report"]:
                options["report"].write_text(json.dumps({"restored": False, "problems": [str(error)]}))
            raise CommandError(f"Nothing restored: {error}") from None
        if options["report"]:
            options["report"].write_text(json.dumps({"restored": True, **asdict(report)}))
        for problem in report.problems:
            self.stdout.write(self.style.ERROR(problem))
        if report.problems:
            raise CommandError(f"Restored, but what was restored does not check: {len(report.problems)} problem(s).")
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {report.bytes / 1e6:,.1f} MB in {report.seconds:.1f} s; "
                f"the audit trail is intact ({report.events} events in {report.chains} chains) "
                f"and its heads match the manifest; {report.documents} documents open and match their charts."
            )
        )
