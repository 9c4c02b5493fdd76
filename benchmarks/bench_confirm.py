"""Confirm benchmark: the first confirm (cold worker) and repeat confirms (warm) of each seed example,
next to `python FILE` in a fresh process.

- Cold: a fresh WorkerPool per example, timed from the call to the report: it includes starting
  the worker process and importing torch, the run, and the static analysis (overlapped with the run).
- Warm: after the cold one, N more confirms of the same file on the same worker; best, median, p90,
  and the part spent running the script inside the worker (`run_ms`).
- Fresh: `python FILE` in a new process (imports torch and runs the example), best and median of M.

Target (issue 4): a warm confirm <= 100 ms. Writes benchmarks/results/confirm.md. No assertions.

Usage: .venv/bin/python benchmarks/bench_confirm.py [--repeat N] [--fresh-repeat M] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shapels.confirm.api import confirm_file  # noqa: E402
from shapels.confirm.pool import WorkerPool  # noqa: E402

SEEDS = ROOT.parent / "shared" / "examples" / "torch"
OUT = ROOT / "benchmarks" / "results" / "confirm.md"
TARGET_MS = 100.0


def ms(seconds: float) -> float:
    return seconds * 1000.0


def p90(values: list) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def fresh_python(path: Path, repeat: int) -> list:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, str(path)], cwd=path.parent, capture_output=True, timeout=300)
        times.append(ms(time.perf_counter() - started))
    return times


def bench_file(path: Path, device: str, repeat: int, fresh_repeat: int) -> dict:
    pool = WorkerPool()
    try:
        started = time.perf_counter()
        cold_report = confirm_file(str(path), device=device, pool=pool)
        cold = ms(time.perf_counter() - started)
        warm, run = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            report = confirm_file(str(path), device=device, pool=pool)
            warm.append(ms(time.perf_counter() - started))
            run.append(ms(report.run_seconds or 0.0))
    finally:
        pool.close()
    fresh = fresh_python(path, fresh_repeat)
    outcome = f"raises at {cold_report.error.line}" if cold_report.error else f"-> {cold_report.output_shape}"
    return {
        "name": path.name, "device": cold_report.device, "outcome": outcome, "agreed": report.agreed,
        "cold": cold, "warm_best": min(warm), "warm_median": statistics.median(warm), "warm_p90": p90(warm),
        "run_median": statistics.median(run), "fresh_best": min(fresh), "fresh_median": statistics.median(fresh),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20, help="warm confirms per example")
    parser.add_argument("--fresh-repeat", type=int, default=3, help="`python FILE` runs per example")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    rows = []
    for path in sorted(SEEDS.glob("*.py")):
        row = bench_file(path, args.device, args.repeat, args.fresh_repeat)
        rows.append(row)
        print(f"{row['name']}: cold {row['cold']:.0f} ms, warm median {row['warm_median']:.1f} ms "
              f"(run {row['run_median']:.1f} ms), python FILE {row['fresh_median']:.0f} ms", flush=True)

    worst = max(r["warm_median"] for r in rows)
    lines = [
        "# confirm: cold and warm, against `python FILE`",
        "",
        f"Measured by `benchmarks/bench_confirm.py` on {time.strftime('%Y-%m-%d')}: {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, device `{args.device}` "
        f"(ran on {rows[0]['device']}).",
        f"Warm: {args.repeat} confirms per file after the cold one; `python FILE`: {args.fresh_repeat} fresh processes.",
        f"Load average (1 min) {load_before:.1f} before and {os.getloadavg()[0]:.1f} after: other work shared the CPUs.",
        "",
        "A confirm includes the static analysis (overlapped with the run) and the comparison; `run` is the",
        "part spent executing the script inside the worker.",
        "",
        "| example | outcome | cold confirm (ms) | warm best | warm median | warm p90 | run median | `python FILE` best | `python FILE` median |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['outcome']} | {r['cold']:.0f} | {r['warm_best']:.1f} | {r['warm_median']:.1f} | "
            f"{r['warm_p90']:.1f} | {r['run_median']:.1f} | {r['fresh_best']:.0f} | {r['fresh_median']:.0f} |"
        )
    lines += [
        "",
        f"Target: warm confirm <= {TARGET_MS:.0f} ms. Worst warm median here: {worst:.1f} ms "
        f"({'met' if worst <= TARGET_MS else 'NOT met'}).",
        "",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
