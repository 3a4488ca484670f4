"""Sign a checkpoint of every chain's head now, and print the public key that verifies them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audit.checkpoints import checkpoints_create, public_key_pem


class Command(BaseCommand):
    help = "Sign the current head of every audit chain (the beat task does this every few minutes)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--public-key", action="store_true", help="Only print the public key (PEM).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["public_key"]:
            for checkpoint in checkpoints_create():
                self.stdout.write(f"chain {checkpoint.chain}: signed #{checkpoint.seq}")
        self.stdout.write(public_key_pem())
