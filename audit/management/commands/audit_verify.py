"""Verify the whole audit trail. Exits 0 only when every chain is intact."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.models import LANES, chain_of
from audit.verify import chains, verify_chain


class Command(BaseCommand):
    help = "Recompute every MAC and link of the audit trail and report the first tampered event."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--chain", type=int, help="Only this chain (one lane of a practice).")
        parser.add_argument("--practice", type=int, help="Only the chains (lanes) of this practice.")
        parser.add_argument("--since", type=int, default=1, help="Start at this sequence number.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["since"] < 1:
            raise CommandError("--since starts at 1.")
        if options["chain"] is not None:
            selected = [options["chain"]]
        elif options["practice"] is not None:
            first = chain_of(options["practice"])
            selected = [c for c in chains() if first <= c < first + LANES]
        else:
            selected = chains()
        failures = 0
        total = 0
        for chain in selected:
            report = verify_chain(chain=chain, since=options["since"])
            total += report.events
            if report.intact:
                self.stdout.write(f"chain {chain}: {report.events} events intact ({report.rate:,.0f} events/s)")
            else:
                failures += 1
                problem = report.problem
                assert problem is not None
                self.stdout.write(
                    self.style.ERROR(f"chain {chain}: {problem.kind} at #{problem.seq}: {problem.detail}")
                )
        if failures:
            raise CommandError(f"{failures} chain(s) failed verification.")
        self.stdout.write(self.style.SUCCESS(f"All {len(selected)} chain(s) intact: {total} events checked."))
