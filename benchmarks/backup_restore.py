"""Backup and restore, on PostgreSQL: time and size per 1,000,000 audit events, per 10,000 notes
and per 1,000 documents (2 GiB), against plain pg_dump / pg_restore (and, for the documents, tar
of the document folder) of the same data in the same run.

Ours: `manage.py backup` (pg_dump, sealed in AES-256-GCM chunks, digests, manifest) and
`manage.py restore` (every chunk checked first, pg_restore, the runtime role's grants, and a full
verification of the audit trail against the manifest's heads). Baseline: pg_dump --format=custom
to a file and pg_restore from it, nothing else. The proposed HIPAA Security Rule update asks for
a restore within 72 hours.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/teletherapy_bench .venv/bin/python benchmarks/backup_restore.py

BENCH_EVENTS, BENCH_NOTES, BENCH_DOCUMENTS and BENCH_DOCUMENT_MIB change the sizes (defaults
1,000,000, 10,000, 1,000 and 2,048 MiB in all). Ours also opens every restored document against
its chart; the baseline does not check anything.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="backup-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teletherapy.settings")
os.environ.pop("REDIS_URL", None)
os.environ.setdefault("BENCH_EVENTS", "1000000")

EVENTS = int(os.environ["BENCH_EVENTS"])
NOTES = int(os.environ.get("BENCH_NOTES", "10000"))
DOCUMENTS = int(os.environ.get("BENCH_DOCUMENTS", "1000"))
DOCUMENT_MIB = int(os.environ.get("BENCH_DOCUMENT_MIB", "2048"))


def recreate() -> None:
    """Drop and create both bench databases, empty."""
    from django.db import connections

    from benchmarks.audit_append import ensure_postgres_database

    connections.close_all()
    ensure_postgres_database()


def seed(*, events: int, notes: int) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("migrate", database="psychotherapy", verbosity=0)
    from accounts.models import Practice, RoleGrant, User
    from audit.models import chain_of
    from benchmarks import audit_scale
    from records.models import ClientChart, ProgressNote

    practice = Practice.objects.create(name="Backup bench", slug="backup-bench")
    therapist = User.objects.create_user("t@backup.example", None, practice=practice, full_name="T")
    RoleGrant.objects.create(user=therapist, role="therapist")
    clients = [
        User.objects.create_user(f"c{i}@backup.example", None, practice=practice, full_name=f"C{i}") for i in range(20)
    ]
    charts = []
    for client in clients:
        chart = ClientChart.objects.create(practice=practice, client=client)
        chart.care_team.add(therapist)
        charts.append(chart)
    if events:
        audit_scale.EVENTS = events
        audit_scale.bulk_log(chain_of(practice.pk, 1), practice.pk, therapist.pk, [c.pk for c in clients])
    body = '{"subjective": "' + ("Slept better; talked about work and the move. " * 22) + '"}'
    for start in range(0, notes, 1000):
        ProgressNote.objects.bulk_create(
            [
                ProgressNote(chart=charts[i % len(charts)], author=therapist, template="soap", body=body)
                for i in range(start, min(start + 1000, notes))
            ]
        )


def seed_documents(count: int, total: int) -> None:
    """``count`` documents of ``total`` bytes in all, sealed into the store as an upload is (random
    bytes: neither side can compress them)."""
    import hashlib
    import uuid

    from records import files
    from records.models import ChartDocument, ClientChart, DocumentKind

    charts = list(ClientChart.objects.select_related("practice").order_by("pk"))
    author = charts[0].care_team.all()[0]
    each = max(total // max(count, 1), 1)
    for n in range(count):
        data = os.urandom(each)
        with tempfile.TemporaryFile() as plain:
            plain.write(data)
            plain.seek(0)
            checked = files.Checked(
                plain=plain, kind=DocumentKind.PDF, size=each, sha256=hashlib.sha256(data).hexdigest(),
                scanned=False, name=f"record-{n}.pdf",
            )  # fmt: skip
            document_id, chart = uuid.uuid4(), charts[n % len(charts)]
            stored = files.store(checked, document_id=document_id, chart_id=chart.pk)
        ChartDocument.objects.create(
            id=document_id, chart=chart, uploaded_by=author, name=checked.name, kind=checked.kind,
            size=each, sha256=checked.sha256, stored_as=stored,
        )  # fmt: skip


def documents_folder() -> Path:
    from django.core.files.storage import storages

    return Path(storages["documents"].location)  # type: ignore[attr-defined]


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def _run(tool: str, *args: str, env: dict[str, str]) -> None:
    subprocess.run([shutil.which(tool) or tool, *args], env=env, check=True)  # noqa: S603 - our own arguments


def baseline(work: Path) -> tuple[float, float, int]:
    from django.db import connections

    from teletherapy.backups import _pg_environment

    dumps = {}
    flags = ("--no-owner", "--no-privileges")

    def dump() -> None:
        for alias in connections:
            dumps[alias] = work / f"{alias}.dump"
            _run(
                "pg_dump",
                "--format=custom",
                *flags,
                "--compress=6",
                "-f",
                str(dumps[alias]),
                env=_pg_environment(alias),
            )

    store = documents_folder()
    archive = work / "documents.tar"

    def dump_all() -> None:
        dump()
        if store.exists():
            _run("tar", "-cf", str(archive), "-C", str(store), ".", env=dict(os.environ))

    dumped = timed(dump_all)
    size = sum(p.stat().st_size for p in dumps.values()) + (archive.stat().st_size if archive.exists() else 0)
    environments = {alias: _pg_environment(alias) for alias in connections}
    recreate()
    shutil.rmtree(store, ignore_errors=True)

    def restore() -> None:
        for alias, path in dumps.items():
            where = environments[alias]
            _run("pg_restore", *flags, "--exit-on-error", "--single-transaction", "--dbname", where["PGDATABASE"],
                 str(path), env=where)  # fmt: skip
        if archive.exists():
            store.mkdir(parents=True)
            _run("tar", "-xf", str(archive), "-C", str(store), env=dict(os.environ))

    restored = timed(restore)
    archive.unlink(missing_ok=True)
    return dumped, restored, size


def ours(work: Path) -> tuple[float, float, int]:
    from operations.backup import backup_create, backup_restore

    dest = work / "backup"
    quiet = io.StringIO()
    dumped = timed(lambda: backup_create(dest, out=quiet))
    size = folder_size(dest)
    recreate()
    shutil.rmtree(documents_folder(), ignore_errors=True)
    report = None

    def restore() -> None:
        nonlocal report
        report = backup_restore(dest, out=quiet)

    restored = timed(restore)
    assert report is not None and not report.problems, report
    shutil.rmtree(dest)
    return dumped, restored, size


def scenario(label: str, *, events: int, notes: int, documents: int = 0, document_bytes: int = 0) -> None:
    import django

    recreate()
    django.setup()
    shutil.rmtree(documents_folder(), ignore_errors=True)

    def seeded() -> None:
        seed(events=events, notes=notes)
        if documents:
            seed_documents(documents, document_bytes)

    seed_seconds = timed(seeded)
    with tempfile.TemporaryDirectory(prefix="backup-bench-") as folder:
        work = Path(folder)
        base_dump, base_restore, base_size = baseline(work)
        recreate()
        shutil.rmtree(documents_folder(), ignore_errors=True)
        seeded()
        our_dump, our_restore, our_size = ours(work)
    print(f"\n{label} (seeded in {seed_seconds:.1f} s)")
    print(f"  {'':<10} {'backup':>10} {'restore':>10} {'size':>12}")
    print(f"  {'ours':<10} {our_dump:>9.1f}s {our_restore:>9.1f}s {our_size / 1e6:>10.1f}MB")
    print(f"  {'baseline':<10} {base_dump:>9.1f}s {base_restore:>9.1f}s {base_size / 1e6:>10.1f}MB")
    print(
        f"  ratio ours/baseline: backup {our_dump / base_dump:.2f}x, restore {our_restore / base_restore:.2f}x, "
        f"size {our_size / base_size:.2f}x"
    )


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("This benchmark measures the production configuration: set DATABASE_URL to a PostgreSQL database.")
    scenario(f"{EVENTS:,} audit events", events=EVENTS, notes=0)
    scenario(f"{NOTES:,} progress notes (~1 KiB each, sealed)", events=0, notes=NOTES)
    if DOCUMENTS:
        scenario(
            f"{DOCUMENTS:,} documents, {DOCUMENT_MIB:,} MiB in all (baseline: pg_dump and tar)",
            events=0,
            notes=0,
            documents=DOCUMENTS,
            document_bytes=DOCUMENT_MIB * 1024 * 1024,
        )


if __name__ == "__main__":
    main()
