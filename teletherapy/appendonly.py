"""Database-level guards that make a table append-only (UPDATE and DELETE fail, and on
PostgreSQL TRUNCATE too). Installed by migrations for the audit trail and for consent records.

Tests that must flush the database (live-server and threaded tests) lift the guards around the
flush only, through ``guards_lifted``; nothing in the application calls that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper

# Every table guarded by a migration, so test infrastructure can find them all.
GUARDED_TABLES = (
    "audit_auditevent",
    "audit_auditcheckpoint",
    "audit_auditflag",
    "audit_auditflagacknowledgement",
    "consent_consentsignature",
    "consent_consentwithdrawal",
)

_PG_FUNCTION = """CREATE OR REPLACE FUNCTION append_only_refuse() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$"""


def _install_statements(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END",
        ]
    if vendor == "postgresql":
        return [
            _PG_FUNCTION,
            f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}",
            f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION append_only_refuse()",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION append_only_refuse()",
        ]
    raise RuntimeError(f"No append-only guard for the {vendor} backend.")


def _remove_statements(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"]
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        ]
    raise RuntimeError(f"No append-only guard for the {vendor} backend.")


def install_guards(connection: BaseDatabaseWrapper, table: str) -> None:
    with connection.cursor() as cursor:
        for statement in _install_statements(connection.vendor, table):
            cursor.execute(statement)


def remove_guards(connection: BaseDatabaseWrapper, table: str) -> None:
    with connection.cursor() as cursor:
        for statement in _remove_statements(connection.vendor, table):
            cursor.execute(statement)


@contextmanager
def guards_lifted(connection: BaseDatabaseWrapper, tables: Iterable[str] = GUARDED_TABLES) -> Iterator[None]:
    existing = set(connection.introspection.table_names())
    present = [t for t in tables if t in existing]
    for table in present:
        remove_guards(connection, table)
    try:
        yield
    finally:
        for table in present:
            install_guards(connection, table)
