"""Dumping and restoring one database, as a stream: ``pg_dump`` / ``pg_restore`` on PostgreSQL,
SQLite's online backup API on the embedded store. What the dump becomes (sealed, checked,
described in a manifest) is the backup command's business (operations/backup.py).

Both run as the owner when a migration URL is configured: the dump then holds every object, and
the restore creates them owned by the owner, so the runtime role is granted its rights again
afterwards, exactly as after a migration.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.db import connections

from teletherapy.dbroles import migration_settings


class BackupError(Exception):
    """A dump or restore could not be done; the message says why and what to do."""


def _pg_environment(alias: str) -> dict[str, str]:
    database = connections[alias].settings_dict
    owner = migration_settings(alias) or {}
    values = {
        "PGHOST": owner.get("HOST") or database.get("HOST"),
        "PGPORT": owner.get("PORT") or database.get("PORT"),
        "PGUSER": owner.get("USER") or database.get("USER"),
        "PGPASSWORD": owner.get("PASSWORD") or (database.get("PASSWORD") if not owner else None),
        "PGDATABASE": database.get("NAME"),
    }
    options = database.get("OPTIONS", {})
    for option, variable in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
    ):
        if options.get(option):
            values[variable] = options[option]
    return {**os.environ, **{k: str(v) for k, v in values.items() if v}}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return path


def vendor(alias: str) -> str:
    return connections[alias].vendor


@contextmanager
def dump(alias: str) -> Iterator[IO[bytes]]:
    """A readable stream of the database's dump (pg_dump's custom format, or the SQLite file)."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        process = subprocess.Popen(  # noqa: S603 - a fixed tool, arguments of ours
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--compress=6"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_pg_environment(alias),
        )
        assert process.stdout is not None
        try:
            yield process.stdout
        finally:
            process.stdout.close()
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            if process.wait() != 0:
                raise BackupError(f"pg_dump of the {alias!r} database failed: {error.strip()}")
        return
    if connection.vendor == "sqlite":
        # The online backup API copies a consistent snapshot while the platform runs; the copy
        # goes to a private folder and is removed once sealed.
        folder = Path(tempfile.mkdtemp(prefix="backup-"))
        try:
            copy = folder / "copy.sqlite3"
            source = sqlite3.connect(str(connection.settings_dict["NAME"]))
            target = sqlite3.connect(str(copy))
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
            with open(copy, "rb") as stream:
                yield stream
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    raise BackupError(f"No backup for the {connection.vendor} backend.")


def is_empty(alias: str) -> bool:
    connection = connections[alias]
    if connection.vendor == "sqlite":
        path = Path(str(connection.settings_dict["NAME"]))
        if not path.exists() or path.stat().st_size == 0:
            return True
    connection.close()
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    return not tables


def restore(alias: str, chunks: Iterable[bytes]) -> int:
    """Load a dump into the (empty) database; returns the bytes read."""
    connection = connections[alias]
    total = 0
    if connection.vendor == "postgresql":
        connection.close()
        process = subprocess.Popen(  # noqa: S603 - a fixed tool, arguments of ours
            [
                _tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                str(connection.settings_dict["NAME"]),
            ],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_pg_environment(alias),
        )
        assert process.stdin is not None
        try:
            for chunk in chunks:
                process.stdin.write(chunk)
                total += len(chunk)
            process.stdin.close()
        except BrokenPipeError:
            pass
        error = process.stderr.read().decode(errors="replace") if process.stderr else ""
        if process.wait() != 0:
            raise BackupError(f"pg_restore into the {alias!r} database failed: {error.strip()}")
        return total
    if connection.vendor == "sqlite":
        connection.close()
        path = Path(str(connection.settings_dict["NAME"]))
        partial = path.with_name(path.name + ".restoring")
        with open(partial, "wb") as target:
            for chunk in chunks:
                target.write(chunk)
                total += len(chunk)
            target.flush()
            os.fsync(target.fileno())
        for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        os.replace(partial, path)
        return total
    raise BackupError(f"No restore for the {connection.vendor} backend.")


def describe(alias: str) -> dict[str, Any]:
    connection = connections[alias]
    return {"alias": alias, "vendor": connection.vendor, "database": Path(str(connection.settings_dict["NAME"])).name}
