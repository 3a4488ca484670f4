"""Statements for a whole practice: 500 clients with a year of weekly sessions (26,000 confirmed
charges), a payment after most sessions and an adjustment or write-off now and then. It times,
and measures the peak Python memory of, the month's statements for every client
(``billing.services.ledger.statements``: opening balances, then every charge, payment and
adjustment of the month, client by client), a year of them (twelve such runs), and every
account's balance (``balances``, the practice's three grouped sums); against the baseline, a plain
SQL sum over the same rows in the same run (one statement per table, grouped by chart), which is
the least any balance can cost. Runs alternate, so drift lands on both sides.

    .venv/bin/python benchmarks/statements.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/teletherapy_bench .venv/bin/python benchmarks/statements.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="statements-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teletherapy.settings")
os.environ.pop("REDIS_URL", None)

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "500"))
WEEKS = 52
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
START = date(2026, 1, 5)


def main() -> None:
    from benchmarks.audit_append import ensure_postgres_database

    ensure_postgres_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Role, RoleGrant, User
    from accounts.services.practices import practice_create
    from billing.models import Adjustment, Payment
    from billing.services.ledger import balances, statements
    from records.models import BillingRecord, ClientChart

    call_command("migrate", verbosity=0)
    call_command("migrate", database="psychotherapy", verbosity=0)
    practice = practice_create(name="Bench", slug=f"bench-{os.getpid()}")
    therapist = User.objects.create_user(f"t{os.getpid()}@bench.example", None, practice=practice, full_name="T")
    RoleGrant.objects.create(user=therapist, role=Role.THERAPIST)
    clients = User.objects.bulk_create(
        [User(email=f"c{i}-{os.getpid()}@bench.example", practice=practice, full_name=f"Client {i}")
         for i in range(CLIENTS)]
    )  # fmt: skip
    charts = ClientChart.objects.bulk_create([ClientChart(practice=practice, client=c) for c in clients])
    rng = random.Random(7)  # noqa: S311 - made-up data, the same every run
    made = time.perf_counter()
    charges, payments, adjustments = [], [], []
    for chart in charts:
        fee = Decimal(rng.choice(["120.00", "150.00", "175.00"]))
        for week in range(WEEKS):
            day = START + timedelta(weeks=week)
            charges.append(BillingRecord(chart=chart, service_date=day, cpt_code="90834", modifier="95",
                                         place_of_service="10", diagnosis_codes="F41.1", fee=fee,
                                         status="submitted", created_by=therapist))  # fmt: skip
            if rng.random() < 0.8:
                payments.append(Payment(chart=chart, amount=fee, method=rng.choice(["cash", "card", "insurance"]),
                                        received_on=day + timedelta(days=rng.randint(0, 20)),
                                        recorded_by=therapist))  # fmt: skip
            if rng.random() < 0.05:
                adjustments.append(Adjustment(chart=chart, kind=rng.choice(["adjustment", "write_off"]),
                                              amount=Decimal("20.00"), reason="Bench", made_on=day,
                                              recorded_by=therapist))  # fmt: skip
    BillingRecord.objects.bulk_create(charges, batch_size=2000)
    Payment.objects.bulk_create(payments, batch_size=2000)
    Adjustment.objects.bulk_create(adjustments, batch_size=2000)
    print(f"{connection.vendor}: {CLIENTS} clients, {len(charges)} charges, {len(payments)} payments, "
          f"{len(adjustments)} adjustments (made in {time.perf_counter() - made:.1f} s)")  # fmt: skip
    ids = [c.pk for c in charts]
    month = date(2026, 11, 1)
    sql = [
        "SELECT chart_id, SUM(fee) FROM records_billingrecord WHERE status IN ('submitted', 'paid') GROUP BY chart_id",
        "SELECT chart_id, SUM(amount) FROM billing_payment GROUP BY chart_id",
        "SELECT chart_id, SUM(amount) FROM billing_adjustment GROUP BY chart_id",
    ]

    def baseline() -> dict[object, Decimal]:
        total: dict[object, Decimal] = {}
        with connection.cursor() as cursor:
            for sign, statement in zip((1, -1, -1), sql, strict=True):
                cursor.execute(statement)
                for chart_id, amount in cursor.fetchall():
                    total[chart_id] = total.get(chart_id, Decimal(0)) + sign * Decimal(str(amount))
        return total

    runs = {
        "plain SQL sum (baseline)": baseline,
        "balances of every account": lambda: balances(practice_id=practice.pk),
        "a month's statements, every client": lambda: statements(charts=ids, month=month),
        "a year's statements, every client": lambda: [
            statements(charts=ids, month=date(2026, m, 1)) for m in range(1, 13)
        ],
    }
    # The answers agree: each account's balance from the plain sum and from balances(), and its
    # balance at the year's end from balances() and from December's statement.
    plain = {uuid.UUID(str(k)): v for k, v in baseline().items()}
    ours = balances(practice_id=practice.pk)
    year_end = balances(practice_id=practice.pk, through=date(2026, 12, 31))
    december = {s.chart_id: s.closing for s in statements(charts=ids, month=date(2026, 12, 1))}
    wrong = [k for k in ids if plain[k] != ours[k] or year_end[k] != december[k]]
    assert not wrong, f"balances disagree for {len(wrong)} accounts"
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(ROUNDS):
        for name, run in runs.items():
            began = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - began)
    peaks = {}
    for name, run in runs.items():
        tracemalloc.start()
        run()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    base_time, base_peak = statistics.median(times["plain SQL sum (baseline)"]), peaks["plain SQL sum (baseline)"]
    print(f"{'run':<40} {'median':>10} {'time ratio':>11} {'peak memory':>12} {'memory ratio':>13}")
    for name in runs:
        median = statistics.median(times[name])
        print(f"{name:<40} {median * 1000:>8.1f} ms {median / base_time:>10.1f}x {peaks[name] / 2**20:>9.2f} MiB "
              f"{peaks[name] / base_peak:>12.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
