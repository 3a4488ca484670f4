"""Two database roles: what the runtime role's own connection cannot do to the audit trail, and a
production process that refuses to run as the owner."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction

from audit.models import Action, AuditChainHead, AuditEvent, chain_of
from audit.services import audit_record
from teletherapy.dbroles import APPEND_ONLY_TABLES, migration_settings, role_problems, runtime_role
from tests.conftest import as_owner, require_infrastructure
from tests.test_security_headers import ROOT, production_env

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def two_roles() -> None:
    require_infrastructure("PostgreSQL", connection.vendor == "postgresql")
    require_infrastructure("an owner role (MIGRATION_DATABASE_URL)", bool(migration_settings("default")))


@pytest.fixture
def chain(two_roles, therapist) -> int:
    for _ in range(3):
        audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=1)
    return chain_of(therapist.practice_id)


def refused(statement: str, params: list | None = None) -> str:
    """Run one statement on the runtime role's own connection; return why it was refused."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params or [])
    return str(caught.value)


def test_the_suite_runs_as_a_runtime_role_without_special_rights(two_roles):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        user, superuser, bypassrls, createrole = cursor.fetchone()
    assert user == runtime_role("default") != migration_settings("default")["USER"]
    assert not (superuser or bypassrls or createrole)
    assert role_problems(connection) == []


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_the_runtime_role_cannot_drop_or_disable_a_trigger_or_alter_an_append_only_table(two_roles, table):
    assert "must be owner" in refused(f"DROP TRIGGER {table}_no_update_delete ON {table}")
    assert "must be owner" in refused(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    assert "must be owner" in refused(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
    assert "must be owner" in refused(f"ALTER TABLE {table} ADD COLUMN innocent integer")
    assert "must be owner" in refused(f"DROP TABLE {table}")
    assert "permission denied" in refused(f"TRUNCATE {table}")


def test_the_runtime_role_cannot_update_or_delete_an_event(chain):
    assert "permission denied" in refused("UPDATE audit_auditevent SET actor_id = 999 WHERE chain = %s", [chain])
    assert "permission denied" in refused("DELETE FROM audit_auditevent WHERE chain = %s AND seq = 3", [chain])
    assert "permission denied" in refused("DELETE FROM audit_auditcheckpoint")
    assert "permission denied" in refused("SELECT * FROM audit_auditevent FOR UPDATE")
    assert AuditEvent.objects.filter(chain=chain).count() == 3


def test_a_chain_head_only_moves_forward_by_an_append(chain, therapist):
    head = AuditChainHead.objects.get(chain=chain)
    newest = AuditEvent.objects.get(chain=chain, seq=3)
    assert "permission denied" in refused("DELETE FROM audit_auditchainhead WHERE chain = %s", [chain])
    assert "only move forward" in refused("UPDATE audit_auditchainhead SET seq = 2 WHERE chain = %s", [chain])
    assert "only move forward" in refused("UPDATE audit_auditchainhead SET seq = 10 WHERE chain = %s", [chain])
    assert "only move forward" in refused(
        "UPDATE audit_auditchainhead SET chain = chain + 1000000 WHERE chain = %s", [chain]
    )
    # One step forward, but to no event that was appended: refused as well.
    assert "names no appended event" in refused(
        "UPDATE audit_auditchainhead SET seq = 4, mac = %s WHERE chain = %s", ["f" * 64, chain]
    )
    assert "starts at zero" in refused(
        "INSERT INTO audit_auditchainhead (chain, seq, mac, digest) VALUES (%s, 5, %s, %s)",
        [chain + 1000000, newest.mac, "0" * 64],
    )
    head.refresh_from_db()
    assert (head.seq, head.mac) == (3, newest.mac)
    # The append itself still moves it, by exactly one.
    audit_record(action=Action.CHART_VIEW, actor=therapist, subject_client_id=1)
    head.refresh_from_db()
    assert head.seq == 4 and AuditEvent.objects.get(chain=chain, seq=4).prev_mac == newest.mac


@pytest.mark.django_db(transaction=True)  # the owner's connection is a new one
def test_the_owner_is_named_as_unsafe(two_roles):
    with as_owner("default"):
        problems = role_problems(connections["default"])
    assert problems and "owns the append-only tables" in problems[0] and "audit_auditevent" in problems[0]


@pytest.mark.django_db(transaction=True)
def test_db_grants_prints_select_and_insert_only_for_the_append_only_tables(two_roles):
    out = io.StringIO()
    call_command("db_grants", stdout=out)
    text = out.getvalue()
    role = connection.ops.quote_name(runtime_role("default"))
    assert f'GRANT SELECT, INSERT ON "audit_auditevent" TO {role};' in text
    assert f'GRANT SELECT, INSERT ON "consent_consentsignature" TO {role};' in text
    assert f'GRANT SELECT, INSERT, UPDATE ON "audit_auditchainhead" TO {role};' in text
    assert f'GRANT SELECT, INSERT, UPDATE, DELETE ON "records_progressnote" TO {role};' in text
    assert "TRUNCATE" not in text.replace("REVOKE ALL", "")
    call_command("db_grants", "--check", stdout=io.StringIO())
    with as_owner("default"), pytest.raises(CommandError, match="could rewrite the audit trail"):
        call_command("db_grants", "--check", stdout=io.StringIO())


def _url(alias: str, user: str) -> str:
    settings = connections[alias].settings_dict
    return f"postgres://{user}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


def _start(tmp_path, user: str) -> subprocess.CompletedProcess:
    env = production_env(
        tmp_path,
        DATABASE_URL=_url("default", user),
        PSYCHOTHERAPY_DATABASE_URL=_url("psychotherapy", user),
        DJANGO_SETTINGS_MODULE="teletherapy.settings",
    )
    return subprocess.run(
        [sys.executable, "-c", "import teletherapy.asgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_as_the_owner_and_says_what_to_fix(two_roles, tmp_path):
    started = _start(tmp_path, migration_settings("default")["USER"])
    assert started.returncode != 0
    assert "Refusing to start" in started.stderr and "owns the append-only tables" in started.stderr
    assert "MIGRATION_DATABASE_URL" in started.stderr and "db_grants" in started.stderr


def test_production_starts_as_the_runtime_role(two_roles, tmp_path):
    started = _start(tmp_path, runtime_role("default"))
    assert started.returncode == 0, started.stderr


def test_the_deploy_check_of_the_database_names_an_unsafe_role(two_roles, tmp_path):
    def check(user: str) -> subprocess.CompletedProcess:
        env = production_env(
            tmp_path,
            DATABASE_URL=_url("default", user),
            PSYCHOTHERAPY_DATABASE_URL=_url("psychotherapy", user),
        )
        return subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--database", "default"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    unsafe = check(migration_settings("default")["USER"])
    assert unsafe.returncode != 0 and "teletherapy.E001" in unsafe.stderr and "owns the append-only" in unsafe.stderr
    assert "teletherapy.E001" not in (check(runtime_role("default")).stderr)
