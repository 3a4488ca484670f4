"""Sign a checkpoint of every chain's head, send it to the witness, and print the public key.

Where the signing key is kept out of the web and worker processes, this command is the signer:
run it with ``--every SECONDS`` as its own process, the only one given ``AUDIT_SIGNING_KEYS``;
the others get the public half (``--public-key --raw`` prints it as AUDIT_SIGNING_PUBLIC_KEYS
takes it) and verify checkpoints without being able to make one.
"""

from __future__ import annotations

import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from audit.checkpoints import checkpoints_create, public_key_pem, public_key_raw
from audit.witness import witness_ship
from teletherapy.dbroles import refuse_unsafe_roles_in_production
from teletherapy.keyring import KeyRingError, keyring


class Command(BaseCommand):
    help = "Sign the current head of every audit chain (the beat task does this every few minutes)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--public-key", action="store_true", help="Only print the public key.")
        parser.add_argument("--raw", action="store_true", help="With --public-key: as id:base64, not PEM.")
        parser.add_argument("--every", type=int, metavar="SECONDS", help="Keep signing, every SECONDS (the signer).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["public_key"]:
            self.stdout.write(public_key_raw() if options["raw"] else public_key_pem())
            return
        if not keyring().has("signing"):
            raise CommandError("This process holds no signing key: set AUDIT_SIGNING_KEYS for the signer.")
        every = options["every"]
        if every is None:
            self._sign_once()
            self.stdout.write(public_key_pem())
            return
        if every < 1:
            raise CommandError("--every takes a number of seconds, at least 1.")
        refuse_unsafe_roles_in_production()  # the signer runs as the runtime role too
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        self.stdout.write(f"Signing audit checkpoints every {every} s (stop with SIGTERM or Ctrl-C).")
        try:
            while not stopping:
                try:
                    self._sign_once()
                except (DatabaseError, KeyRingError) as error:
                    self.stderr.write(f"Could not sign this round: {error}")
                    close_old_connections()
                for _ in range(every * 10):
                    if stopping:
                        break
                    time.sleep(0.1)
        except KeyboardInterrupt:
            pass

    def _sign_once(self) -> None:
        made = checkpoints_create()
        for checkpoint in made:
            self.stdout.write(f"chain {checkpoint.chain}: signed #{checkpoint.seq}")
        if made:
            shipped = witness_ship()
            if not shipped.delivered:
                self.stderr.write(f"The witness did not take the checkpoints yet (queued): {shipped.error}")
