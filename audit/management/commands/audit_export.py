"""Export the audit log, its signed checkpoints and the public key, for verification off this host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import checkpoint_export, public_key_pem
from audit.content import event_content
from audit.models import AuditCheckpoint, AuditEvent


class Command(BaseCommand):
    help = "Write events.jsonl, checkpoints.json and public_key.pem into a folder."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--chain", type=int, help="Only this chain.")

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["folder"]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CommandError(f"Cannot create {folder}: {error}") from None
        events = AuditEvent.objects.order_by("chain", "seq")
        checkpoints = AuditCheckpoint.objects.order_by("chain", "seq")
        if options["chain"] is not None:
            events = events.filter(chain=options["chain"])
            checkpoints = checkpoints.filter(chain=options["chain"])
        count = 0
        with open(folder / "events.jsonl", "w", encoding="utf-8") as handle:
            for event in events.iterator(chunk_size=2000):
                handle.write(json.dumps({**event_content(event), "mac": event.mac}) + "\n")
                count += 1
        (folder / "checkpoints.json").write_text(json.dumps([checkpoint_export(c) for c in checkpoints], indent=1))
        (folder / "public_key.pem").write_text(public_key_pem())
        self.stdout.write(f"Exported {count} events and {checkpoints.count()} checkpoints to {folder}.")
