"""Two database roles on PostgreSQL: an owner that only ``migrate`` uses, and the runtime role that
daphne, Celery and every other command connect as.

The runtime role owns nothing. It may read and write the ordinary tables, but on the append-only
tables (the audit trail, its checkpoints and alerts, consent signatures and withdrawals) it may
only SELECT and INSERT: no UPDATE, DELETE or TRUNCATE, and, owning no table, no ALTER and no
DROP or DISABLE of a trigger. Whoever holds only its credentials therefore cannot cover their
tracks in the database; someone holding the owner's is caught by the off-host witness.

``migrate`` (teletherapy/management/commands/migrate.py) connects with the owner's URL when one
is configured and applies ``grant_statements`` afterwards, so a new table is never left without
its grants. ``manage.py db_grants`` prints them for a database administrator to apply by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from teletherapy.appendonly import GUARDED_TABLES

# Tables the runtime role may read and add to, never change: the append-only ones, guarded by
# triggers as well. The chain heads move by UPDATE, which a trigger allows only as an append.
APPEND_ONLY_TABLES = GUARDED_TABLES
NO_DELETE_TABLES = ("audit_auditchainhead",)
_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


def migration_settings(alias: str) -> dict[str, Any] | None:
    """The owner's connection settings for ``alias``, if a migration URL is configured."""
    return getattr(settings, "MIGRATION_DATABASES", {}).get(alias)


def runtime_role(alias: str) -> str:
    """The role the platform runs as: the user of the configured (not the migration) URL."""
    return str(settings.RUNTIME_DATABASE_USERS.get(alias) or "")


@contextmanager
def connected_as(alias: str, credentials: dict[str, Any] | None) -> Iterator[BaseDatabaseWrapper]:
    """Use other credentials on ``alias`` for a while (closing its connection before and after).

    The connection's settings are shared by every thread, so only code that runs alone (a
    management command, a test's set-up) may do this."""
    connection = connections[alias]
    if not credentials:
        yield connection
        return
    saved = {key: connection.settings_dict.get(key) for key in _CREDENTIALS}
    connection.close()
    connection.settings_dict.update({key: credentials.get(key) for key in _CREDENTIALS})
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict.update(saved)


def _quote(connection: BaseDatabaseWrapper, name: str) -> str:
    return connection.ops.quote_name(name)


def _tables(connection: BaseDatabaseWrapper) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
        return [row[0] for row in cursor.fetchall()]


def grant_statements(connection: BaseDatabaseWrapper, role: str) -> list[str]:
    """The statements that give ``role`` exactly the runtime role's rights on this database."""
    who = _quote(connection, role)
    tables = _tables(connection)
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {who}",
        f"REVOKE CREATE ON SCHEMA public FROM {who}",
        f"GRANT USAGE ON SCHEMA public TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}",
    ]
    for table in tables:
        name = _quote(connection, table)
        if table in APPEND_ONLY_TABLES:
            statements.append(f"GRANT SELECT, INSERT ON {name} TO {who}")
        elif table in NO_DELETE_TABLES:
            statements.append(f"GRANT SELECT, INSERT, UPDATE ON {name} TO {who}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {who}")
    return statements


def grants_apply(connection: BaseDatabaseWrapper, role: str) -> int:
    statements = grant_statements(connection, role)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return len(statements)


def role_problems(connection: BaseDatabaseWrapper) -> list[str]:
    """What is wrong with the role this connection runs as, for a production runtime role.

    Empty when it is not a superuser, cannot bypass row security or create roles, and owns (or
    can become the owner of) no table, so it cannot alter a table or disable a trigger."""
    if connection.vendor != "postgresql":
        return []
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        user, superuser, bypassrls, createrole = cursor.fetchone()
        for flag, right in ((superuser, "SUPERUSER"), (bypassrls, "BYPASSRLS"), (createrole, "CREATEROLE")):
            if flag:
                problems.append(f"the database role {user!r} has {right}")
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND pg_has_role(current_user, c.relowner, 'MEMBER') ORDER BY c.relname"
        )
        owned = [row[0] for row in cursor.fetchall()]
    guarded = [table for table in owned if table in APPEND_ONLY_TABLES]
    if guarded:
        problems.append(
            f"the database role {user!r} owns the append-only tables {', '.join(guarded)}, "
            "so it could disable their triggers"
        )
    elif owned:
        problems.append(f"the database role {user!r} owns {len(owned)} table(s), e.g. {owned[0]}")
    return problems


def refuse_unsafe_roles() -> None:
    """Called as a production process starts: raise if any database runs as a role that could
    rewrite the audit trail."""
    from django.core.exceptions import ImproperlyConfigured

    problems = []
    for alias in settings.DATABASES:
        for problem in role_problems(connections[alias]):
            problems.append(f"{alias}: {problem}")
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start: the platform must not run as the database owner or a superuser.\n  "
            + "\n  ".join(problems)
            + "\nConnect DATABASE_URL (and PSYCHOTHERAPY_DATABASE_URL) as the runtime role, give the owner's "
            "URL to migrations as MIGRATION_DATABASE_URL (and PSYCHOTHERAPY_MIGRATION_DATABASE_URL), and "
            "run `manage.py migrate` (which applies the runtime role's grants) or `manage.py db_grants`."
        )


def refuse_unsafe_roles_in_production() -> None:
    """At a production process's start (daphne, Celery): refuse a role that could rewrite the
    audit trail. The connections it opened are closed again, for the process to open its own."""
    if not settings.PRODUCTION:
        return
    try:
        refuse_unsafe_roles()
    finally:
        for alias in settings.DATABASES:
            connections[alias].close()
