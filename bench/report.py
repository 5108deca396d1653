"""The markdown report of a benchmark run: machine, per-workload statistics, and the targets of
issue 5 checked against the measured numbers."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["check_targets", "machine_info", "summarize", "write_report"]


def _version(python: Path | None, dist: str) -> str:
    if python is None or not python.exists():
        return "—"
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    done = subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, cwd="/")
    return done.stdout.strip() or "?"


def machine_info(ours: Path | None, upstream_python: Path | None) -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    ours_python = ours.with_name("python") if ours is not None else None
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu}, {os.cpu_count()} cores, {mem} RAM, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "ours": f"recipe-executor {_version(ours_python, 'recipe-executor')} (this repository), "
                f"python-liquid {_version(ours_python, 'python-liquid')}, pydantic {_version(ours_python, 'pydantic')}",
        "upstream": f"recipe-executor {_version(upstream_python, 'recipe-executor')} (PyPI), "
                    f"python-liquid {_version(upstream_python, 'python-liquid')}, "
                    f"pydantic {_version(upstream_python, 'pydantic')}",
    }


def summarize(runs: Sequence[Any]) -> dict[str, Any] | None:
    """Median/min/max seconds and median peak RSS of the successful runs, or the failure."""
    if not runs:
        return None
    bad = [r for r in runs if r.status != "ok"]
    if bad:
        return {"status": bad[0].status, "seconds": bad[0].seconds, "rss": bad[0].peak_rss_mb, "detail": bad[0].detail,
                "n": len(runs)}
    times = [r.seconds for r in runs]
    return {
        "status": "ok",
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "rss": statistics.median(r.peak_rss_mb for r in runs),
        "n": len(runs),
    }


def _cell(stats: dict[str, Any] | None, skipped: str | None) -> tuple[str, str]:
    if stats is None:
        return (f"not run ({skipped})" if skipped else "not run", "—")
    if stats["status"] == "dnf":
        return (f"did not finish ({stats['detail']})", f"{stats['rss']:.0f}")
    if stats["status"] != "ok":
        return (f"failed: {stats['detail']}", "—")
    spread = f" ({stats['min']:.3f}–{stats['max']:.3f})" if stats["n"] > 1 else ""
    return (f"{stats['median']:.3f}{spread} ×{stats['n']}", f"{stats['rss']:.0f}")


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str) -> float | None:
    if not a or not b or a["status"] != "ok" or b["status"] != "ok":
        return None
    return float(a[key]) / float(b[key]) if b[key] else None


Target = tuple[str, Callable[[dict[str, dict[str, Any]]], tuple[float | None, float, str]]]


def _time_ratio(name: str) -> Callable[[dict[str, dict[str, Any]]], float | None]:
    return lambda s: _ratio(s.get(f"{name}/ours"), s.get(f"{name}/upstream"), "median")


def check_targets(stats: dict[str, dict[str, Any]], names: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """``(target, limit, measured, verdict)`` rows for every target whose workloads ran."""
    rows: list[tuple[str, str, str, str]] = []

    def add(label: str, limit: float, value: float | None, unit: str = "×", below: bool = False) -> None:
        if value is None:
            rows.append((label, f"{'<' if below else '≤'} {limit:g}{unit}", "n/a", "not measured"))
            return
        ok = value < limit if below else value <= limit
        bound = f"{'<' if below else '≤'} {limit:g}{unit}"
        rows.append((label, bound, f"{value:.3f}{unit}", "met" if ok else "MISSED"))

    def present(prefix: str) -> list[str]:
        return [n for n in names if n.startswith(prefix)]

    for name in present("cold_start"):
        add("cold start, time ours/upstream", 0.2, _time_ratio(name)(stats))
    for name in present("sequential_5000"):
        add("5,000 sequential steps, time ours/upstream", 0.1, _time_ratio(name)(stats))
    s5, s20 = stats.get("sequential_5000/ours"), stats.get("sequential_20000/ours")
    if s5 or s20:
        add("20,000 vs 5,000 sequential steps (ours), time", 4.5, _ratio(s20, s5, "median"))
    for name in present("parallel_recipes"):
        add(f"{name}, time ours/upstream", 0.25, _time_ratio(name)(stats))
    for name in present("document_"):
        add(f"{name}, time ours/upstream", 0.02, _time_ratio(name)(stats))
        add(f"{name}, peak RSS ours/upstream", 0.8,
            _ratio(stats.get(f"{name}/ours"), stats.get(f"{name}/upstream"), "rss"))
    for name in present("big_string"):
        add(f"{name}, time ours/upstream", 0.1, _time_ratio(name)(stats))
    for name in present("loop_100000"):
        ours = stats.get(f"{name}/ours")
        rss = ours["rss"] if ours and ours["status"] == "ok" else None
        add(f"{name}, peak RSS (ours)", 300, rss, " MB", below=True)
    return rows


def write_report(path: Path, results: Sequence[Any], info: dict[str, str]) -> None:
    """Write the markdown report of ``results`` to ``path``."""
    stats: dict[str, dict[str, Any]] = {}
    lines = ["# Benchmark results: ours vs upstream recipe-executor 0.1.3", "",
             "Generated by `bench/run.py` (`make bench`); raw numbers in `results.json`. Do not edit by hand.", ""]
    lines += [f"- **{k}**: {v}" for k, v in info.items()]
    lines += ["", "Times are wall-clock seconds of the whole process (start-up included): median (min–max) ×runs.",
              "Peak RSS is the median of the processes' `ru_maxrss`, in MB.", "",
              "| workload | ours s | ours MB | upstream s | upstream MB | time ratio | RSS ratio |",
              "|---|---|---|---|---|---|---|"]
    for result in results:
        ours, up = summarize(result.runs["ours"]), summarize(result.runs["upstream"])
        if ours:
            stats[f"{result.name}/ours"] = ours
        if up:
            stats[f"{result.name}/upstream"] = up
        o_time, o_rss = _cell(ours, result.skipped.get("ours"))
        u_time, u_rss = _cell(up, result.skipped.get("upstream"))
        t_ratio, m_ratio = _ratio(ours, up, "median"), _ratio(ours, up, "rss")
        t_text = "—" if t_ratio is None else f"{t_ratio:.3f}"
        m_text = "—" if m_ratio is None else f"{m_ratio:.2f}"
        lines.append(f"| {result.title} | {o_time} | {o_rss} | {u_time} | {u_rss} | {t_text} | {m_text} |")
    lines += ["", "## Targets (issue 5)", "", "| target | limit | measured | verdict |", "|---|---|---|---|"]
    for row in check_targets(stats, [r.name for r in results]):
        lines.append("| " + " | ".join(row) + " |")
    notes = Path(__file__).with_name("notes.md")
    if notes.exists() and info.get("sizes") == "full":
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
