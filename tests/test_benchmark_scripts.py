"""The benchmark scripts keep working: each runs a few requests on the embedded default and
prints its comparison (no timing is asserted here; benchmarks/README.md holds the measurements)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.browser import ROOT, embedded_env

pytestmark = pytest.mark.embedded


def _run(script: str, tmp_path, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, f"benchmarks/{script}"],
        cwd=ROOT,
        env=embedded_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_notes_list_benchmark_compares_the_real_endpoint_with_both_baselines(tmp_path):
    printed = _run("notes_list.py", tmp_path, BENCH_REQUESTS="3", BENCH_DEEP_NOTES="100")
    assert "backend: sqlite, 3 requests each, 50 notes" in printed
    assert "a chart of 100 notes, 50 a page" in printed and "page cost, page 2 / first:" in printed
    assert "throughput ratio real/same endpoint:" in printed
    assert "throughput ratio real/lean endpoint:" in printed


def test_the_audit_append_benchmark_verifies_the_chain_it_wrote(tmp_path):
    printed = _run("audit_append.py", tmp_path, BENCH_EVENTS="20")
    assert "backend: sqlite, events: 20" in printed
    assert "verify whole chain:" in printed


def test_the_documents_benchmark_moves_a_20_mib_file_both_ways(tmp_path):
    printed = _run("documents.py", tmp_path, BENCH_ROUNDS="1")
    assert "20 MiB PDF, 1 rounds" in printed
    assert "upload time ratio, ours / plain:" in printed and "download time ratio, ours / plain:" in printed
