"""The benchmark scripts keep working: each runs a few requests on the embedded default and
prints its comparison (no timing is asserted here; benchmarks/README.md holds the measurements)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.browser import ROOT, embedded_env

pytestmark = pytest.mark.embedded


def test_the_notes_list_benchmark_compares_the_real_endpoint_with_both_baselines(tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/notes_list.py"],
        cwd=ROOT,
        env=embedded_env(tmp_path, BENCH_REQUESTS="3"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "backend: sqlite, 3 requests each, 50 notes" in result.stdout
    assert "throughput ratio real/same endpoint:" in result.stdout
    assert "throughput ratio real/lean endpoint:" in result.stdout


def test_the_audit_append_benchmark_verifies_the_chain_it_wrote(tmp_path):
    result = subprocess.run(
        [sys.executable, "benchmarks/audit_append.py"],
        cwd=ROOT,
        env=embedded_env(tmp_path, BENCH_EVENTS="20"),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "backend: sqlite, events: 20" in result.stdout
    assert "verify whole chain:" in result.stdout
