"""Cost of the tamper-evident audit chain.

Appends N events through ``audit_record`` (head-row lock, HMAC over the canonical content and the
previous MAC, insert, head update) and, in the same run, N plain inserts of equivalent rows with
no chain (the baseline). Reports events per second for each and the ratio.

    .venv/bin/python benchmarks/audit_append.py            # SQLite in a temporary folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/teletherapy_bench .venv/bin/python benchmarks/audit_append.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="audit-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teletherapy.settings")
os.environ.pop("REDIS_URL", None)

N = int(os.environ.get("BENCH_EVENTS", "2000"))


def ensure_postgres_database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        for db in (name, f"{name}_psychotherapy"):
            conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
            conn.execute(f'CREATE DATABASE "{db}"')


def main() -> None:
    ensure_postgres_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from accounts.models import Practice, User
    from audit.models import Action, AuditEvent, chain_of
    from audit.selectors import audit_chain_verify
    from audit.services import audit_record

    practice = Practice.objects.create(name="Bench", slug=f"bench-{time.time_ns()}")
    user = User.objects.create_user(f"bench-{time.time_ns()}@example.org", None, practice=practice, full_name="B")

    start = time.perf_counter()
    for i in range(N):
        with transaction.atomic():
            AuditEvent(
                chain=-1,
                seq=i + 1,
                occurred_at=timezone.now(),
                actor_id=user.pk,
                action=Action.LOGIN_SUCCESS,
                target_type="accounts.user",
                target_id=str(user.pk),
                practice_id=practice.pk,
                outcome="allowed",
                details={},
                key_id="-",
                prev_mac="0" * 64,
                mac="0" * 64,
            ).save()
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    for _ in range(N):
        with transaction.atomic():
            audit_record(action=Action.LOGIN_SUCCESS, actor=user, target=user)
    chained = time.perf_counter() - start

    start = time.perf_counter()
    report = audit_chain_verify(chain=chain_of(practice.pk))  # one writer: the practice's first lane
    verify = time.perf_counter() - start
    assert report.intact and report.events == N, report

    print(f"backend: {connection.vendor}, events: {N}")
    print(f"baseline (plain insert):   {N / baseline:8.0f} events/s")
    print(f"audit_record (chained):    {N / chained:8.0f} events/s")
    print(f"ratio chained/baseline time: {chained / baseline:.2f}x")
    print(f"verify whole chain:        {N / verify:8.0f} events/s")


if __name__ == "__main__":
    main()
