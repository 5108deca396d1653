"""Benchmark harness: our engine against upstream ``recipe-executor`` 0.1.3, side by side.

    .venv/bin/python bench/run.py                 # everything, 5 runs each (``make bench``)
    .venv/bin/python bench/run.py --runs 2 --only sequential cold
    .venv/bin/python bench/run.py --tiny --engines ours --output /tmp/r.md   # smoke run

It creates ``bench/.upstream-venv`` (pinned as in the compat README) unless it exists, writes the
workload recipes into a temporary folder, then runs every workload on both engines in fresh
subprocesses, alternating ours, upstream, ours, upstream…, each with that folder as its working
directory. Wall time is measured around the process; peak RSS is the child's ``ru_maxrss`` from
``os.wait4``. An upstream run over the cap (10 minutes) is killed and recorded as "did not finish".
Results go to ``bench/results.md`` (and the raw numbers to ``results.json`` beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine_info, write_report
from workloads import FULL, TINY, Workload, build_workloads

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
UPSTREAM_VENV = BENCH_DIR / ".upstream-venv"
UPSTREAM_PINS = [
    "recipe-executor==0.1.3",
    "pydantic-ai-slim[openai,anthropic,mcp]==0.3.1",
    "opentelemetry-api==1.33.1",
    "mcp==1.28.1",
    "openai==1.82.0",
    "anthropic==0.52.0",
    "pydantic==2.12.5",
    "python-liquid==2.2.1",
]
ENGINES = ("ours", "upstream")


@dataclass
class Run:
    """One process run: ``status`` is ok, failed or dnf (killed at the cap)."""

    status: str
    seconds: float
    peak_rss_mb: float
    detail: str = ""


@dataclass
class Result:
    """All runs of one workload on both engines."""

    name: str
    title: str
    group: str
    meta: dict[str, object]
    runs: dict[str, list[Run]] = field(default_factory=lambda: {e: [] for e in ENGINES})
    skipped: dict[str, str] = field(default_factory=dict)


def ensure_upstream_venv(venv: Path = UPSTREAM_VENV) -> Path:
    """The upstream console script, creating the pinned venv first if it is missing."""
    script = venv / "bin" / "recipe-executor"
    if script.exists():
        return script
    print(f"creating {venv} (upstream recipe-executor 0.1.3 with pinned dependencies)…", flush=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    log = venv / "pip-install.log"
    with log.open("w") as out:
        done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *UPSTREAM_PINS], stdout=out, stderr=out)
    if done.returncode != 0 or not script.exists():
        raise SystemExit(f"installing upstream failed; see {log}")
    return script


def ours_script() -> Path:
    """Our console script: the one beside the running interpreter, else the project venv's."""
    for candidate in (Path(sys.executable).with_name("recipe-executor"), ROOT / ".venv" / "bin" / "recipe-executor"):
        if candidate.exists():
            return candidate
    raise SystemExit("our recipe-executor is not installed: run `make venv` first")


def registered_steps(script: Path, env: dict[str, str] | None = None) -> set[str]:
    """Step types the engine behind ``script`` registers (asked in a subprocess)."""
    code = "import recipe_executor; from recipe_executor.steps.registry import STEP_REGISTRY; print(*STEP_REGISTRY)"
    out = subprocess.run([str(script.with_name("python")), "-c", code], capture_output=True, text=True, check=True,
                         cwd="/", env=env)
    return set(out.stdout.split())


# Peak RSS must not include the harness: Linux keeps ``ru_maxrss`` across ``exec``, so a child
# forked from this (large) process would report at least our own size. A small launcher process
# (``python -S``, a few MB) spawns the engine, times it, enforces the cap and reports
# ``wait4``'s rusage of exactly that child.
_LAUNCHER = """
import os, signal, sys, time
out, cap, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
killed = []
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ)
def on_alarm(signum, frame):
    killed.append(1)
    os.kill(pid, signal.SIGKILL)
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, cap)
_, status, usage = os.wait4(pid, 0)
elapsed = time.perf_counter() - started
signal.setitimer(signal.ITIMER_REAL, 0)
with open(out, "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {elapsed} {usage.ru_maxrss} {len(killed)}")
"""


def measure(argv: list[str], cwd: Path, cap_s: float, env: dict[str, str] | None = None) -> Run:
    """Run ``argv`` in ``cwd``: wall time and peak RSS of that process, killed after ``cap_s`` s."""
    err_path, stats_path = cwd / ".stderr", cwd / ".stats"
    stats_path.unlink(missing_ok=True)
    with err_path.open("wb") as err:
        subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(stats_path), str(cap_s), *argv], cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, check=False, env=env)
    try:
        code_s, elapsed_s, rss_s, killed_s = stats_path.read_text().split()
    except (OSError, ValueError):
        return Run("failed", 0.0, 0.0, f"launcher failed: {err_path.read_text(errors='replace')[-300:]}")
    code, elapsed, rss_mb = int(code_s), float(elapsed_s), int(rss_s) / 1024  # ru_maxrss is KiB on Linux
    if killed_s != "0":
        return Run("dnf", elapsed, rss_mb, f"killed after {cap_s:g} s")
    if code != 0:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-3:]
        return Run("failed", elapsed, rss_mb, f"exit {code}: {' | '.join(tail)}"[:400])
    return Run("ok", elapsed, rss_mb)


def command(engine: str, script: Path, case: Workload, log_dir: Path) -> list[str]:
    """The command line for one engine; upstream takes ``--context`` pairs only."""
    argv = [str(script), case.recipe, "--log-dir", str(log_dir)]
    if case.context:
        argv += ["--context", *case.context]
    return argv


def run_all(args: argparse.Namespace, progress: Callable[[list[Result]], None] = lambda _: None) -> list[Result]:
    """Run the selected workloads; ``progress`` gets the results so far after each workload."""
    engines = [e for e in ENGINES if e in args.engines]
    scripts: dict[str, Path] = {}
    if "ours" in engines:
        scripts["ours"] = ours_script()
    if "upstream" in engines:
        scripts["upstream"] = ensure_upstream_venv()
    envs: dict[str, dict[str, str] | None] = {engine: None for engine in engines}
    if args.ours_pythonpath:  # profile a snapshot of the package without reinstalling it
        envs["ours"] = {**os.environ, "PYTHONPATH": str(args.ours_pythonpath)}
    available = {engine: registered_steps(path, envs[engine]) for engine, path in scripts.items()}

    work = Path(tempfile.mkdtemp(prefix="recipe-bench-"))
    try:
        cases = build_workloads(work, TINY if args.tiny else FULL)
        if args.only:
            cases = [c for c in cases if any(pattern in c.name for pattern in args.only)]
        results: list[Result] = []
        for case in cases:
            result = Result(case.name, case.title, case.group, dict(case.meta))
            results.append(result)
            active = []
            for engine in engines:
                missing = case.needs - available[engine]
                if missing:
                    result.skipped[engine] = f"step type {', '.join(sorted(missing))} not available"
                else:
                    active.append(engine)
            for round_no in range(args.runs):
                for engine in active:
                    cap = case.upstream_runs if engine == "upstream" else None
                    done = result.runs[engine]
                    if (cap is not None and round_no >= cap) or any(r.status != "ok" for r in done):
                        continue  # capped, or it failed / did not finish: do not repeat it
                    argv = command(engine, scripts[engine], case, work / f"logs-{engine}")
                    run = measure(argv, work, args.cap, envs[engine])
                    done.append(run)
                    print(f"{case.name:<28} {engine:<9} {run.status:<6} {run.seconds:8.3f} s "
                          f"{run.peak_rss_mb:7.1f} MB {run.detail}", flush=True)
            progress(results)
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark our engine against upstream recipe-executor 0.1.3.")
    parser.add_argument("--runs", type=int, default=5, help="runs per engine and workload (default 5)")
    parser.add_argument("--only", nargs="+", default=[], metavar="TEXT", help="workloads whose name contains TEXT")
    parser.add_argument("--engines", type=lambda s: [e.strip() for e in s.split(",")], default=list(ENGINES),
                        help="comma-separated: ours,upstream (default both)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument("--cap", type=float, default=600.0, help="seconds before a run is killed (default 600)")
    parser.add_argument("--ours-pythonpath", type=Path, default=None,
                        help="run our engine with this PYTHONPATH (e.g. an exported snapshot of the package)")
    parser.add_argument("--from-json", type=Path, default=None, metavar="RESULTS_JSON",
                        help="run nothing: rewrite the report from a results.json (e.g. after editing notes.md)")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results.md", help="the markdown report")
    args = parser.parse_args(argv)
    unknown = set(args.engines) - set(ENGINES)
    if unknown or args.runs < 1:
        parser.error(f"--engines takes ours and/or upstream; --runs at least 1 (got {args.engines}, {args.runs})")
    return args


def _save(output: Path, results: list[Result], info: dict[str, str]) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    write_report(output, results, info)
    raw = {"machine": info, "results": [asdict(r) for r in results]}
    output.with_suffix(".json").write_text(json.dumps(raw, indent=1), encoding="utf-8")


def load_results(path: Path) -> tuple[list[Result], dict[str, str]]:
    """Results and machine info saved by an earlier run."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    results = []
    for item in raw["results"]:
        runs = {engine: [Run(**r) for r in item["runs"].get(engine, [])] for engine in ENGINES}
        results.append(Result(item["name"], item["title"], item["group"], item["meta"], runs, item["skipped"]))
    return results, raw["machine"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        results, info = load_results(args.from_json)
        _save(args.output, results, info)
        print(f"wrote {args.output}")
        return 0
    started = time.time()
    info: dict[str, str] = {"runs": str(args.runs), "sizes": "tiny (smoke)" if args.tiny else "full"}

    def progress(results: list[Result]) -> None:  # a partial report survives an interrupted run
        _save(args.output, results, {**info, "duration": f"{(time.time() - started) / 60:.1f} min (in progress)"})

    results = run_all(args, progress)
    info = {**machine_info(ours_script() if "ours" in args.engines else None,
                           UPSTREAM_VENV / "bin" / "python" if "upstream" in args.engines else None), **info}
    info["duration"] = f"{(time.time() - started) / 60:.1f} min"
    _save(args.output, results, info)
    print(f"wrote {args.output}")
    failed = [r.name for r in results for runs in r.runs.values() for run in runs if run.status == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
