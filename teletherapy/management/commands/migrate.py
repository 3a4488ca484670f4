"""Django's ``migrate``, run as the database owner when a migration URL is configured.

With ``MIGRATION_DATABASE_URL`` (or ``PSYCHOTHERAPY_MIGRATION_DATABASE_URL`` for the second
database) set, the migrations run with the owner's credentials, and the runtime role's grants
(teletherapy/dbroles.py) are applied afterwards, so a table a migration adds is never left
without them. Without one it is Django's command unchanged.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate

from teletherapy.dbroles import connected_as, grants_apply, migration_settings, runtime_role


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " Runs as the owner given by MIGRATION_DATABASE_URL, then grants the runtime role."

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        owner = migration_settings(alias)
        with connected_as(alias, owner) as connection:
            super().handle(*args, **options)
            role = runtime_role(alias)
            if owner and connection.vendor == "postgresql" and role and role != owner.get("USER"):
                count = grants_apply(connection, role)
                if options["verbosity"] >= 1:
                    self.stdout.write(f"Granted the runtime role {role!r} its rights ({count} statements).")
