"""Smoke run of the benchmark harness at tiny sizes, on our engine only (no upstream venv, no
network), so that ``bench/`` keeps working between full benchmark runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from report import check_targets, summarize  # noqa: E402
from run import Run  # noqa: E402
from workloads import TINY, build_workloads  # noqa: E402

pytestmark = pytest.mark.bench


def _steps(recipe: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step object in a recipe, nested substeps included."""
    found: list[dict[str, Any]] = []
    pending = list(recipe["steps"])
    while pending:
        step = pending.pop()
        found.append(step)
        pending.extend(step["config"].get("substeps", []))
    return found


def test_workloads_use_the_nested_step_shape_upstream_requires(tmp_path: Path) -> None:
    cases = build_workloads(tmp_path, TINY)
    assert len({c.name for c in cases}) == len(cases)
    for case in cases:
        recipe = json.loads((tmp_path / case.recipe).read_text())
        for step in _steps(recipe):
            assert set(step) == {"type", "config"}, (case.name, step)


def test_harness_runs_every_workload_on_our_engine_and_writes_the_report(tmp_path: Path) -> None:
    output = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--tiny", "--engines", "ours", "--runs", "1", "--output", str(output)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    raw = json.loads(output.with_suffix(".json").read_text())
    names = [r["name"] for r in raw["results"]]
    assert names == [c.name for c in build_workloads(tmp_path / "w", TINY)]
    for result in raw["results"]:
        runs = result["runs"]["ours"]
        assert [r["status"] for r in runs] == ["ok"], result
        assert runs[0]["seconds"] > 0 and runs[0]["peak_rss_mb"] > 5
        assert result["runs"]["upstream"] == []
    report = output.read_text()
    assert "## Targets (issue 5)" in report and "| workload |" in report
    assert all(r["title"] in report for r in raw["results"])


def test_targets_are_judged_from_the_measured_ratios() -> None:
    def stats(seconds: float, rss: float) -> dict[str, Any] | None:
        return summarize([Run("ok", seconds, rss), Run("ok", seconds * 1.1, rss)])

    measured = {
        "cold_start/ours": stats(0.1, 40), "cold_start/upstream": stats(1.0, 100),
        "sequential_5000/ours": stats(2.0, 50), "sequential_5000/upstream": stats(10.0, 100),
        "sequential_20000/ours": stats(10.0, 60),
        "loop_100000_c16/ours": stats(5.0, 320),
    }
    rows = {row[0]: row for row in check_targets(
        {k: v for k, v in measured.items() if v is not None},
        ["cold_start", "sequential_5000", "sequential_20000", "loop_100000_c16"],
    )}
    assert rows["cold start, time ours/upstream"][3] == "met"
    assert rows["5,000 sequential steps, time ours/upstream"][3] == "MISSED"
    assert rows["20,000 vs 5,000 sequential steps (ours), time"][3] == "MISSED"  # 5.0x
    assert rows["loop_100000_c16, peak RSS (ours)"][3] == "MISSED"


def test_a_failed_run_is_reported_as_such() -> None:
    failed = summarize([Run("ok", 1.0, 50), Run("failed", 0.2, 40, "exit 1: boom")])
    assert failed is not None and failed["status"] == "failed" and "boom" in failed["detail"]
    assert summarize([]) is None
