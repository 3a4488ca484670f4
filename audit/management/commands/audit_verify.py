"""Verify the audit trail. Exits 0 only when every chain is intact.

A routine run checks each chain from its newest witnessed checkpoint on, so it costs O(new
events); ``--full`` checks every event from the first. ``--witness FILE`` first compares the
database with what the off-host witness received, and fails when the database does not extend
it (a cut tail, a rolled-back head, a rewritten or deleted lane, deleted checkpoints).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.models import LANES, VerificationRun, chain_of
from audit.verify import ChainReport, chains, incremental_start, verify_chain, verify_chain_from
from audit.witness import witness_compare, witness_read
from teletherapy import metrics


class Command(BaseCommand):
    help = "Recompute the MACs and links of the audit trail (from the newest witnessed checkpoint, or --full)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--chain", type=int, help="Only this chain (one lane of a practice).")
        parser.add_argument("--practice", type=int, help="Only the chains (lanes) of this practice.")
        parser.add_argument("--since", type=int, help="Start at this sequence number.")
        parser.add_argument("--full", action="store_true", help="Check every event from the first.")
        parser.add_argument("--witness", type=Path, help="What the witness received (its log file).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["since"] is not None and options["since"] < 1:
            raise CommandError("--since starts at 1.")
        selected = chains()
        if options["chain"] is not None:
            selected = [options["chain"]]
        elif options["practice"] is not None:
            first = chain_of(options["practice"])
            selected = [c for c in selected if first <= c < first + LANES]
        failures = 0
        failed_chains: set[int] = set()
        pinned: dict[int, int] = {}
        if options["witness"] is not None:
            try:
                record = witness_read(options["witness"])
            except OSError as error:
                raise CommandError(f"Cannot read the witness file {options['witness']}: {error}") from None
            problems, pinned = witness_compare(record)
            wanted = set(selected)
            for found in problems:
                if found.chain not in wanted and options["chain"] is None and options["practice"] is None:
                    wanted.add(found.chain)
                if found.chain in wanted:
                    failures += 1
                    failed_chains.add(found.chain)
                    self.stdout.write(
                        self.style.ERROR(f"chain {found.chain}: {found.kind} at #{found.seq} (witness): {found.detail}")
                    )
            self.stdout.write(
                f"Witness: {record.events} events and {len(record.checkpoints)} checkpoints read"
                + (f", {record.unreadable} unreadable line(s)" if record.unreadable else "")
                + "."
            )
        total = empty = 0
        for chain in selected:
            report = self._verify(chain, options, pinned)
            total += report.events
            if report.intact:
                if report.events == 0 and chain not in pinned:
                    empty += 1
                    continue
                self.stdout.write(f"chain {chain}: {report.events} events intact ({report.rate:,.0f} events/s)")
            else:
                failures += 1
                failed_chains.add(chain)
                problem = report.problem
                assert problem is not None
                self.stdout.write(
                    self.style.ERROR(f"chain {chain}: {problem.kind} at #{problem.seq}: {problem.detail}")
                )
        if options["chain"] is None and options["practice"] is None and options["since"] is None:
            VerificationRun.objects.create(
                finished_at=timezone.now(),
                full=bool(options["full"]),
                chains=len(selected),
                events=total,
                failed_chains=sorted(failed_chains),
            )
            metrics.verification_done(len(selected), len(failed_chains))
        if failures:
            raise CommandError(f"{failures} problem(s) found: the audit trail failed verification.")
        scope = "all events" if options["full"] or options["since"] else "events since the newest witnessed checkpoint"
        idle = f" ({empty} with nothing new)" if empty else ""
        self.stdout.write(self.style.SUCCESS(f"All {len(selected)} chain(s) intact{idle}: {total} {scope} checked."))

    def _verify(self, chain: int, options: dict[str, Any], pinned: dict[int, int]) -> ChainReport:
        if options["full"]:
            return verify_chain(chain=chain)
        if options["since"] is not None:
            return verify_chain(chain=chain, since=options["since"])
        if chain in pinned:
            return verify_chain_from(chain=chain, since=pinned[chain])
        return verify_chain_from(chain=chain, start=incremental_start(chain))
