"""The restore drill: the newest backup restored, as an operator would restore it, into scratch
databases and a scratch document folder, and checked there.

The drill runs the very command a person runs after a loss (``manage.py restore``), in a process
of its own whose settings name the scratch copies: on PostgreSQL two new databases created by the
owner role (the runtime role is granted its rights there, as after a real restore); on SQLite two
files in a temporary folder. The restore checks the whole backup before writing, verifies every
audit chain, compares the heads with the manifest and opens every document against its chart.
The scratch copies are dropped whatever happens. The key ring goes to the child through its
environment, never through a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from django.conf import settings
from django.db import connections

from teletherapy.dbroles import migration_settings, runtime_role
from teletherapy.keyring import ENV_NAMES

ROOT = Path(settings.BASE_DIR)
_SSL_OPTIONS = ("sslmode", "sslrootcert", "sslcert", "sslkey")
_DATABASE_VARIABLES = (
    "DATABASE_URL",
    "PSYCHOTHERAPY_DATABASE_URL",
    "MIGRATION_DATABASE_URL",
    "PSYCHOTHERAPY_MIGRATION_DATABASE_URL",
    "KEYRING_FILE",
    "DOCUMENT_STORE",
    "DOCUMENTS_DIR",
    "DATA_DIR",
    *ENV_NAMES.values(),
    *(f"{name}_FILE" for name in ENV_NAMES.values()),
    "AUDIT_SIGNING_PUBLIC_KEYS",
)


@dataclass
class DrillResult:
    ok: bool
    seconds: float
    bytes: int = 0
    events: int = 0
    documents: int = 0
    problems: list[str] = field(default_factory=list)


def _url(settings_dict: dict[str, Any], user: str, password: str | None, name: str) -> str:
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or 5432
    options = {k: v for k, v in (settings_dict.get("OPTIONS") or {}).items() if k in _SSL_OPTIONS and v}
    return f"postgres://{auth}@{host}:{port}/{quote(name, safe='')}" + (f"?{urlencode(options)}" if options else "")


class _Scratch:
    """Two empty databases and a document folder that exist for one drill."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.vendor = connections["default"].vendor
        self.names: dict[str, str] = {}
        tag = secrets.token_hex(4)
        for alias in settings.DATABASES:
            base = str(connections[alias].settings_dict["NAME"])
            self.names[alias] = f"drill_{tag}_{'psy' if alias == 'psychotherapy' else 'main'}_{base}"[:63]

    def _owner_sql(self, alias: str, statement: str) -> None:
        live = connections[alias].settings_dict
        owner = migration_settings(alias) or live
        with psycopg.connect(
            host=live.get("HOST") or None,
            port=live.get("PORT") or None,
            user=owner.get("USER") or None,
            password=owner.get("PASSWORD") or None,
            dbname=str(live["NAME"]),
            autocommit=True,
            **{k: v for k, v in (live.get("OPTIONS") or {}).items() if k in _SSL_OPTIONS and v},
        ) as raw:
            raw.execute(statement)  # type: ignore[arg-type]  # names of ours, quoted

    def create(self) -> None:
        if self.vendor == "postgresql":
            for alias, name in self.names.items():
                self._owner_sql(alias, f'CREATE DATABASE "{name}"')

    def drop(self) -> None:
        if self.vendor == "postgresql":
            for alias, name in self.names.items():
                # A copy that will not drop is left for an operator; it never hides this drill's result.
                with contextlib.suppress(psycopg.Error):
                    self._owner_sql(alias, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(self.folder, ignore_errors=True)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DATABASE_VARIABLES}
        ring = settings.KEYRING
        for purpose, variable in ENV_NAMES.items():
            entries = ring.get(purpose) or []
            if entries:
                env[variable] = ",".join(f"{e['id']}:{e['key']}" for e in entries)
        if ring.get("signing_public"):
            env["AUDIT_SIGNING_PUBLIC_KEYS"] = ",".join(f"{e['id']}:{e['key']}" for e in ring["signing_public"])
        env.update(
            DATA_DIR=str(self.folder / "data"),
            DOCUMENT_STORE="local",
            DOCUMENTS_DIR=str(self.folder / "documents"),
            DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "teletherapy.settings"),
        )
        if self.vendor == "postgresql":
            for alias, prefix in (("default", ""), ("psychotherapy", "PSYCHOTHERAPY_")):
                live = connections[alias].settings_dict
                owner = migration_settings(alias)
                runtime = runtime_role(alias) or str(live.get("USER") or "")
                env[f"{prefix}DATABASE_URL"] = _url(live, runtime, live.get("PASSWORD"), self.names[alias])
                if owner:
                    env[f"{prefix}MIGRATION_DATABASE_URL"] = _url(
                        live, str(owner["USER"]), owner.get("PASSWORD"), self.names[alias]
                    )
        return env


def drill_run(src: Path, *, timeout: int | None = None) -> DrillResult:
    """Restore ``src`` into scratch copies, check it there, drop the copies; never raises for a
    backup that fails (that is the drill's finding)."""
    started = time.monotonic()
    scratch = _Scratch(Path(tempfile.mkdtemp(prefix="restore-drill-")))
    report_path = scratch.folder / "report.json"
    try:
        scratch.create()
        finished = subprocess.run(  # noqa: S603 - this interpreter, our manage.py, our arguments
            [sys.executable, str(ROOT / "manage.py"), "restore", str(src), "--report", str(report_path)],
            cwd=ROOT,
            env=scratch.environment(),
            capture_output=True,
            text=True,
            timeout=timeout or int(settings.BACKUP_DRILL_TIMEOUT_SECONDS),
        )
        try:
            report = json.loads(report_path.read_text())
        except (OSError, ValueError):
            said = (finished.stderr or finished.stdout).strip().splitlines()
            report = {"restored": False, "problems": [said[-1] if said else "the restore stopped with no report"]}
        problems = [str(p) for p in report.get("problems", [])]
        if finished.returncode != 0 and not problems:
            problems = ["the restore ended with an error"]
        return DrillResult(
            ok=finished.returncode == 0 and bool(report.get("restored")) and not problems,
            seconds=time.monotonic() - started,
            bytes=int(report.get("bytes", 0)),
            events=int(report.get("events", 0)),
            documents=int(report.get("documents", 0)),
            problems=problems,
        )
    except subprocess.TimeoutExpired:
        return DrillResult(False, time.monotonic() - started, problems=["the restore took longer than allowed"])
    except (OSError, psycopg.Error) as error:
        return DrillResult(False, time.monotonic() - started, problems=[f"the scratch copies: {error}"])
    finally:
        scratch.drop()
