"""The audit trail at scale, on PostgreSQL (the production configuration):

1. chained appends from 8 concurrent writers, against plain inserts of the same rows by 8
   writers into a table with no chain (goal: at least 50% of the baseline's throughput);
2. verifying 1,000,000 events (goal: under 10 s);
3. the console's first page with 1,000,000 events (goal: p99 under 100 ms) and with 10,000,000
   (``BENCH_EVENTS=10000000``; goal: p99 under 50 ms).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/teletherapy_bench .venv/bin/python benchmarks/audit_scale.py

BENCH_EVENTS changes the size of the log (default 1,000,000). BENCH_PROFILE=<folder> runs one
raw-SQL writer and one chained writer under cProfile after the rounds and prints where each spends
its time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="audit-scale-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teletherapy.settings")
os.environ.pop("REDIS_URL", None)

EVENTS = int(os.environ.get("BENCH_EVENTS", "1000000"))
WRITERS = 8
PER_WRITER = int(os.environ.get("BENCH_PER_WRITER", "250"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PROFILE = os.environ.get("BENCH_PROFILE", "")  # a folder: one writer of each kind under cProfile


def concurrent(fn, label: str) -> float:
    from django.db import connections

    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def run() -> None:
        try:
            barrier.wait()
            for _ in range(PER_WRITER):
                fn()
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(WRITERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert not errors, errors[:1]
    rate = WRITERS * PER_WRITER / elapsed
    print(f"{label:<44} {rate:8.0f} rows/s")
    return rate


def profile_writers(folder: str, writers: dict) -> None:
    """One writer of each kind under cProfile (cProfile sees one thread): where an append's time goes."""
    import cProfile
    import pstats

    Path(folder).mkdir(parents=True, exist_ok=True)
    for name, fn in writers.items():
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(WRITERS * PER_WRITER):
            fn()
        profiler.disable()
        elapsed = time.perf_counter() - started
        path = Path(folder) / f"audit-{name}.prof"
        profiler.dump_stats(path)
        print(f"\none {name} writer, {WRITERS * PER_WRITER} rows under cProfile in {elapsed:.2f}s ({path}):")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def bulk_log(chain: int, practice_id: int, actor_id: int, clients: list[int]) -> None:
    """Write EVENTS genuine chained events fast (COPY), exactly as audit_record would have."""
    from django.db import connection

    from audit.canonical import CONTENT_FIELDS, GENESIS, canonical_bytes, next_digest
    from teletherapy.appendonly import guards_lifted
    from teletherapy.keyring import keyring

    key = keyring().current("audit")
    prev_mac, digest = GENESIS, GENESIS
    start = datetime.now(UTC) - timedelta(days=400)
    columns = [*CONTENT_FIELDS, "mac"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        raw = cursor.cursor
        with raw.copy(f"COPY audit_auditevent ({', '.join(columns)}) FROM STDIN") as copy:
            for seq in range(1, EVENTS + 1):
                content = {
                    "chain": chain, "seq": seq,
                    "occurred_at": (start + timedelta(seconds=seq * 30)).isoformat(timespec="microseconds"),
                    "actor_id": actor_id, "actor_role": "therapist", "action": "records.chart_view",
                    "target_type": "records.clientchart", "target_id": "",
                    "subject_client_id": clients[seq % len(clients)],
                    "practice_id": practice_id, "ip_address": "127.0.0.1", "user_agent": "bench", "request_id": "",
                    "outcome": "allowed", "flagged": False, "details": {}, "key_id": key.key_id, "prev_mac": prev_mac,
                }  # fmt: skip
                mac = hmac.new(key.secret, canonical_bytes(content), hashlib.sha256).hexdigest()
                digest = next_digest(digest, content, mac)
                row = [content[name] for name in CONTENT_FIELDS]
                row[CONTENT_FIELDS.index("details")] = "{}"
                copy.write_row([*row, mac])
                prev_mac = mac
        # The head jumps to the end in one step, which only the owner may do (the guard allows
        # one append at a time): the benchmark runs as the owner.
        with guards_lifted(connection, ["audit_auditchainhead"]):
            cursor.execute(
                "INSERT INTO audit_auditchainhead (chain, seq, mac, digest) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (chain) DO UPDATE SET seq = EXCLUDED.seq, mac = EXCLUDED.mac, digest = EXCLUDED.digest",
                [chain, EVENTS, prev_mac, digest],
            )
        cursor.execute("ANALYZE audit_auditevent")


def main() -> None:
    from benchmarks.audit_append import ensure_postgres_database

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("This benchmark measures the production configuration: set DATABASE_URL to a PostgreSQL database.")
    ensure_postgres_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, models, transaction
    from django.test import Client
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from accounts.models import Practice, RoleGrant, TOTPDevice, User
    from audit.models import LANES, Action, AuditEvent, chain_of
    from audit.services import audit_record
    from audit.verify import verify_chain

    practice = Practice.objects.create(name="Scale", slug="scale")
    writer_practice = Practice.objects.create(name="Writers", slug="writers")
    admin = User.objects.create_user("admin@scale.example", None, practice=practice, full_name="Admin")
    RoleGrant.objects.create(user=admin, role="admin")
    therapist = User.objects.create_user("t@scale.example", None, practice=practice, full_name="T")
    RoleGrant.objects.create(user=therapist, role="therapist")
    writer = User.objects.create_user("w@writers.example", None, practice=writer_practice, full_name="W")
    RoleGrant.objects.create(user=writer, role="therapist")
    clients = []
    for i in range(50):
        client = User.objects.create_user(f"c{i}@scale.example", None, practice=practice, full_name=f"C{i}")
        clients.append(client.pk)

    # 1. Concurrent writers ----------------------------------------------------------------
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_plain_event")
        cursor.execute("CREATE TABLE bench_plain_event (LIKE audit_auditevent INCLUDING DEFAULTS)")
        cursor.execute("ALTER TABLE bench_plain_event ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    template = {
        "chain": -1, "seq": 0, "occurred_at": timezone.now(), "actor_id": writer.pk, "actor_role": "therapist",
        "action": "records.chart_view", "target_type": "", "target_id": "", "subject_client_id": 1,
        "practice_id": writer_practice.pk, "ip_address": "127.0.0.1", "user_agent": "bench", "request_id": "",
        "outcome": "allowed", "flagged": False, "details": "{}", "key_id": "-", "prev_mac": "0" * 64, "mac": "0" * 64,
    }  # fmt: skip
    names = list(template)
    insert_sql = f"INSERT INTO bench_plain_event ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"  # noqa: S608 - fixed column names

    class PlainEvent(models.Model):  # noqa: DJ008 - a bench table, the same columns as AuditEvent
        chain = models.BigIntegerField()
        seq = models.BigIntegerField()
        occurred_at = models.DateTimeField()
        actor_id = models.BigIntegerField(null=True)
        actor_role = models.CharField(max_length=64)
        action = models.CharField(max_length=64)
        target_type = models.CharField(max_length=64)
        target_id = models.CharField(max_length=64)
        subject_client_id = models.BigIntegerField(null=True)
        practice_id = models.BigIntegerField(null=True)
        ip_address = models.GenericIPAddressField(null=True)
        user_agent = models.CharField(max_length=256)
        request_id = models.CharField(max_length=64)
        outcome = models.CharField(max_length=16)
        flagged = models.BooleanField()
        details = models.JSONField()
        key_id = models.CharField(max_length=32)
        prev_mac = models.CharField(max_length=64)
        mac = models.CharField(max_length=64)

        class Meta:
            app_label = "audit"
            db_table = "bench_plain_event"
            managed = False

    orm_fields = {**template, "details": {}}

    def plain_orm() -> None:
        with transaction.atomic():
            PlainEvent.objects.create(**orm_fields)

    def plain() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(insert_sql, [template[n] for n in names])

    def chained() -> None:
        with transaction.atomic():
            audit_record(action=Action.CHART_VIEW, actor=writer, subject_client_id=1)

    print(f"PostgreSQL, {WRITERS} concurrent writers x {PER_WRITER} rows, each row its own transaction")
    # Short runs on a shared machine are noisy: alternate the three, and compare medians.
    rates: dict[str, list[float]] = {"sql": [], "orm": [], "chained": []}
    for _round in range(ROUNDS):
        rates["sql"].append(concurrent(plain, "plain inserts, raw SQL"))
        rates["orm"].append(concurrent(plain_orm, "baseline: plain inserts through the ORM"))
        rates["chained"].append(concurrent(chained, "audit_record (chained, lanes)"))
    baseline_sql, baseline, real = (statistics.median(rates[k]) for k in ("sql", "orm", "chained"))
    print(f"medians of {ROUNDS} rounds: raw SQL {baseline_sql:.0f}, ORM {baseline:.0f}, chained {real:.0f} rows/s")
    lanes = set(AuditEvent.objects.filter(practice_id=writer_practice.pk).values_list("chain", flat=True))
    reports = [verify_chain(chain=lane) for lane in lanes]
    assert all(r.intact for r in reports) and sum(r.events for r in reports) == ROUNDS * WRITERS * PER_WRITER, reports
    print(f"the writers used {len(lanes)} of the practice's {LANES} lanes; each verified intact")
    print(f"ratio chained/plain ORM inserts: {real / baseline:.1%} (goal: at least 50%)")
    print(f"ratio chained/raw SQL inserts:   {real / baseline_sql:.1%}")
    if PROFILE:
        profile_writers(PROFILE, {"sql": plain, "chained": chained})

    # 2. Verification of a million events --------------------------------------------------
    started = time.perf_counter()
    bulk_log(chain_of(practice.pk), practice.pk, therapist.pk, clients)
    print(f"\nwrote {EVENTS:,} chained events in {time.perf_counter() - started:.1f}s (COPY)")
    report = verify_chain(chain=chain_of(practice.pk))
    assert report.intact and report.events == EVENTS, report
    print(f"verified {report.events:,} events in {report.seconds:.2f}s ({report.rate:,.0f} events/s; goal: under 10 s)")

    # 3. Console first page ----------------------------------------------------------------
    device = TOTPDevice(user=admin, name="app", confirmed=True, secret="JBSWY3DPEHPK3PXP")  # noqa: S106 - bench only
    device.save()
    client = Client()
    client.force_login(admin)
    session = client.session
    now = int(time.time())
    session.update({"otp_device_id": device.persistent_id, "auth_at": now, "last_seen": now})
    session.save()
    for _ in range(5):
        client.get("/audit/console/")
    timings = []
    for i in range(200):
        url = "/audit/console/" if i % 2 else f"/audit/console/?client={clients[i % len(clients)]}"
        t0 = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200 and response.content.count(b"/audit/console/events/") == 50
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99) - 1]
    print(f"\nconsole first page over {AuditEvent.objects.filter(practice_id=practice.pk).count():,} events: "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (goal: p99 under 100 ms; under 50 ms at 10,000,000)")  # fmt: skip


if __name__ == "__main__":
    main()
