"""Print (or apply) the runtime role's rights on a PostgreSQL database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from teletherapy.dbroles import connected_as, grant_statements, migration_settings, role_problems, runtime_role


class Command(BaseCommand):
    help = (
        "Print the GRANT statements that give the runtime role exactly its rights (read and write the "
        "ordinary tables; only read and add to the append-only ones). --apply runs them as the owner."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, choices=list(connections))
        parser.add_argument("--role", help="The runtime role (default: the user of DATABASE_URL).")
        parser.add_argument("--apply", action="store_true", help="Run them, connected as MIGRATION_DATABASE_URL.")
        parser.add_argument("--check", action="store_true", help="Check the runtime role instead; exit 1 if unsafe.")

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        if connections[alias].vendor != "postgresql":
            raise CommandError("Database roles apply to PostgreSQL only; the embedded SQLite store has none.")
        if options["check"]:
            problems = role_problems(connections[alias])
            for problem in problems:
                self.stdout.write(self.style.ERROR(problem))
            if problems:
                raise CommandError("The runtime role could rewrite the audit trail.")
            self.stdout.write(self.style.SUCCESS("The runtime role owns nothing and holds no special rights."))
            return
        role = options["role"] or runtime_role(alias)
        if not role:
            raise CommandError("No runtime role: give --role, or a user in DATABASE_URL.")
        owner = migration_settings(alias)
        if options["apply"] and not owner:
            raise CommandError("--apply connects as the owner: set MIGRATION_DATABASE_URL.")
        with connected_as(alias, owner) as connection:
            statements = grant_statements(connection, role)
            if options["apply"]:
                with connection.cursor() as cursor:
                    for statement in statements:
                        cursor.execute(statement)
        for statement in statements:
            self.stdout.write(statement + ";")
