"""Database-level guards that make a table append-only (UPDATE and DELETE fail, and on
PostgreSQL TRUNCATE too). Installed by migrations for the audit trail and for consent records.

Tests that must flush the database (live-server and threaded tests) lift the guards around the
flush only, through ``guards_lifted``, connected as the owner; nothing in the application calls
that, and the runtime role, owning no table, could not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper

# Every table guarded by a migration, so test infrastructure can find them all.
GUARDED_TABLES = (
    "audit_auditevent",
    "audit_auditsubject",
    "audit_auditcheckpoint",
    "audit_auditflag",
    "audit_auditflagacknowledgement",
    "audit_verificationrun",
    "review_factchange",
    "review_factchangereconsent",
    "review_trainingattestation",
    "review_incident",
    "review_incidententry",
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


# Tables whose rows may only move forward (the audit chain heads): a row starts at zero and each
# UPDATE advances it by exactly one position, to an event that exists with that MAC and follows
# the previous head. Nothing deletes or truncates them.
HEAD_TABLES = ("audit_auditchainhead",)
_GENESIS = "0" * 64
_PG_HEAD_FUNCTIONS = [
    f"""CREATE OR REPLACE FUNCTION audit_head_forward_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NEW.seq <> 0 OR NEW.mac <> '{_GENESIS}' OR NEW.digest <> '{_GENESIS}' THEN
                RAISE EXCEPTION 'a new audit chain head starts at zero'
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        ELSIF TG_OP = 'UPDATE' THEN
            IF NEW.chain <> OLD.chain OR NEW.seq <> OLD.seq + 1 THEN
                RAISE EXCEPTION 'audit chain % head may only move forward by one append (#% to #% refused)',
                    OLD.chain, OLD.seq, NEW.seq USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '% of an audit chain head refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END $$""",
    # After the statement (so an append that moves the head and inserts its event in one
    # statement is seen whole): the head must name an event that follows the previous head.
    """CREATE OR REPLACE FUNCTION audit_head_names_event() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (
            SELECT 1 FROM audit_auditevent
            WHERE chain = NEW.chain AND seq = NEW.seq AND mac = NEW.mac AND prev_mac = OLD.mac
        ) THEN
            RAISE EXCEPTION 'audit chain % head #% names no appended event', NEW.chain, NEW.seq
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NULL;
    END $$""",
]


def _head_install_statements(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        # The embedded store appends by moving the head first, so only the order is guarded.
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_forward_only BEFORE UPDATE ON {table} "
            "WHEN NEW.chain <> OLD.chain OR NEW.seq <> OLD.seq + 1 "
            f"BEGIN SELECT RAISE(ABORT, '{table} may only move forward'); END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows cannot be deleted'); END",
        ]
    if vendor == "postgresql":
        return [
            *_PG_HEAD_FUNCTIONS,
            _PG_FUNCTION,
            *_head_remove_statements(vendor, table),
            f"CREATE TRIGGER {table}_forward_only BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only()",
            f"CREATE CONSTRAINT TRIGGER {table}_names_event AFTER UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_head_names_event()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION append_only_refuse()",
        ]
    raise RuntimeError(f"No head guard for the {vendor} backend.")


def _head_remove_statements(vendor: str, table: str) -> list[str]:
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_forward_only", f"DROP TRIGGER IF EXISTS {table}_no_delete"]
    return [
        f"DROP TRIGGER IF EXISTS {table}_forward_only ON {table}",
        f"DROP TRIGGER IF EXISTS {table}_names_event ON {table}",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
    ]


def _execute(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install_head_guard(connection: BaseDatabaseWrapper, table: str) -> None:
    _execute(connection, _head_install_statements(connection.vendor, table))


def remove_head_guard(connection: BaseDatabaseWrapper, table: str) -> None:
    _execute(connection, _head_remove_statements(connection.vendor, table))


def install_guards(connection: BaseDatabaseWrapper, table: str) -> None:
    _execute(connection, _install_statements(connection.vendor, table))


def remove_guards(connection: BaseDatabaseWrapper, table: str) -> None:
    _execute(connection, _remove_statements(connection.vendor, table))


@contextmanager
def guards_lifted(
    connection: BaseDatabaseWrapper, tables: Iterable[str] = GUARDED_TABLES + HEAD_TABLES
) -> Iterator[None]:
    """Lift the guards of these tables for a while: the owner's power, which migrations and the
    tests' own clean-up use (the runtime role owns no table and cannot)."""
    existing = set(connection.introspection.table_names())
    present = [t for t in tables if t in existing]
    for table in present:
        (remove_head_guard if table in HEAD_TABLES else remove_guards)(connection, table)
    try:
        yield
    finally:
        for table in present:
            (install_head_guard if table in HEAD_TABLES else install_guards)(connection, table)


def guards_operation(*tables: str) -> object:
    """The migration operation that installs these tables' append-only guards (and removes them
    when the migration is reversed), on the main database."""
    from django.db import migrations

    def install(apps: object, schema_editor: object) -> None:
        for table in tables:
            install_guards(schema_editor.connection, table)  # type: ignore[attr-defined]

    def remove(apps: object, schema_editor: object) -> None:
        for table in tables:
            remove_guards(schema_editor.connection, table)  # type: ignore[attr-defined]

    return migrations.RunPython(install, remove, hints={"target_db": "default"})
