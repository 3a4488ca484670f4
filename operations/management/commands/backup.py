"""Back up both databases, sealed with the backup key, with a manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from operations.backup import BackupRefused, backup_bytes, backup_create
from teletherapy.backups import BackupError


class Command(BaseCommand):
    help = (
        "Dump both databases (pg_dump, or SQLite's online backup) and pack the document store, seal them "
        "with the backup key (AES-256-GCM, streamed) and write a manifest of sizes, SHA-256 digests and "
        "audit chain heads into DEST."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("dest", type=Path, help="A new (or empty) folder for this backup.")

    def handle(self, *args: Any, **options: Any) -> None:
        dest: Path = options["dest"]
        try:
            manifest = backup_create(dest, out=self.stdout)
        except (BackupRefused, BackupError, OSError) as error:
            raise CommandError(f"No backup made: {error}") from None
        size = backup_bytes(manifest)
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up to {dest}: {size / 1e6:,.1f} MB sealed with key {manifest['key_id']!r}, "
                f"{manifest['events']} audit events, {len(manifest['heads'])} chain heads, "
                f"{manifest['documents']['count']} documents, "
                f"in {manifest['seconds']:.1f} s."
            )
        )
        self.stdout.write("Keep the key ring apart from the backup: the backup is useless without it, and safe.")
