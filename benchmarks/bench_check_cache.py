"""`shapels check` on many files: the first run (every file analysed, in worker processes, one per
CPU) and the second (every file answered from the results cache), against today's serial run
(`--no-cache --jobs 1`, each file analysed in one process, as before issue 21).

Each run is a fresh `python -m shapels check --format json FILES` with its own empty cache folder
($SHAPELS_CACHE_DIR in a temporary folder, never the user's); the three runs' outputs and exit
statuses must be identical (checked, the benchmark stops otherwise). The load average (`uptime`) is
recorded before and after: on a shared machine other work slows the parallel run most.

Files: transformers' modeling files (`transformers/models/*/modeling_*.py`, 538 of them in 5.24.0;
the wheel is fetched as corpus/package_sweep.py does, into .tools/transformers), or any folder or
glob given with --files.

Targets (issue 21): first run <= 1/2 of the serial run (161 s on the 2-core machine), second run
<= 5 s. Writes benchmarks/results/check_cache.md (a sample, --every N) or check_cache_all.md (every
file). No assertions on time: this is a measurement.

`--budget SECONDS`: the per-file time budget (default shapels' own, 5 s of wall-clock time). On a loaded
machine a file's wall time can pass the default budget, and its partial result is then neither cached
nor the same from run to run; a larger budget (a pyproject.toml with [tool.shapels] budget_seconds
beside the fetched files, removed afterwards) keeps the runs comparable, and CPU seconds say the work.

Usage: .venv/bin/python benchmarks/bench_check_cache.py [--files GLOB] [--limit N] [--every N] [--jobs N] [--no-serial]
       [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "corpus"))

OUT = ROOT / "benchmarks" / "results" / "check_cache.md"  # a sample (--every N); all the files: OUT_ALL
OUT_ALL = ROOT / "benchmarks" / "results" / "check_cache_all.md"
TRANSFORMERS = ("transformers", "5.24.0", "transformers/models/*/modeling_*.py")


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def cpu() -> float:
    """CPU seconds (user + system) of the finished child processes, their workers included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(files: list, cache: Path, *extra: str) -> tuple:
    """(wall seconds, CPU seconds, exit status, stdout, stderr) of one fresh `shapels check` process."""
    env = dict(os.environ, SHAPELS_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    started, cpu_before = time.perf_counter(), cpu()
    done = subprocess.run([sys.executable, "-m", "shapels", "check", "--format", "json", *extra, *files],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    return time.perf_counter() - started, cpu() - cpu_before, done.returncode, done.stdout, done.stderr


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", help="a folder or a glob (default: transformers' modeling files)")
    parser.add_argument("--limit", type=int, help="only the first N files (a quick look)")
    parser.add_argument("--every", type=int, help="every Nth file only (a sample across the corpus: written to "
                        "the results file, which says so)")
    parser.add_argument("--jobs", type=int, help="--jobs for the first run (default: shapels' own, one per CPU)")
    parser.add_argument("--no-serial", action="store_true", help="skip the serial run (--no-cache --jobs 1)")
    parser.add_argument("--budget", type=float, help="per-file time budget in seconds (default: shapels' own)")
    args = parser.parse_args(argv)
    budget_file = None
    if args.files:
        what = args.files
        files = sorted(glob.glob(args.files, recursive=True)) if not Path(args.files).is_dir() else [args.files]
    else:
        from wheels import fetch

        dist, version, pattern = TRANSFORMERS
        src = fetch(dist, version)
        files = sorted(str(p.relative_to(ROOT)) for p in src.glob(pattern))
        what = f"{dist} {version} `{pattern}`"
        if args.budget:
            budget_file = src / "pyproject.toml"
            budget_file.write_text(f"[tool.shapels]\nbudget_seconds = {args.budget}\n")
            what += f", budget_seconds = {args.budget:g}"
    files = files[: args.limit] if args.limit else files
    if args.every:
        what += f", every {args.every}th file (a sample of {len(files[::args.every])} of {len(files)})"
        files = files[::args.every]
    try:
        return _measure(args, files, what)
    finally:
        if budget_file is not None:
            budget_file.unlink()


def _measure(args, files: list, what: str) -> int:
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    rows = []
    with tempfile.TemporaryDirectory(prefix="shapels-bench-cache-") as tmp:
        runs = [("first run (cache empty)", Path(tmp) / "cache", jobs),
                ("second run (unchanged files)", Path(tmp) / "cache", jobs)]
        if not args.no_serial:
            runs.append(("serial, no cache (`--no-cache --jobs 1`, as before)", Path(tmp) / "unused",
                         ["--no-cache", "--jobs", "1"]))
        outputs = []
        for label, cache, extra in runs:
            before = load()
            seconds, cpu_seconds, status, out, err = run(files, cache, *extra)
            rows.append((label, seconds, cpu_seconds, before, load()))
            outputs.append((status, out))
            print(f"{label}: {seconds:.1f} s, CPU {cpu_seconds:.1f} s (exit {status}; load {before} -> {load()})",
                  flush=True)
            if status == 2:
                print(err[-2000:], file=sys.stderr)
        if any(o != outputs[0] for o in outputs):
            print("the runs' outputs differ: not a valid measurement", file=sys.stderr)
            return 1
    serial = rows[2][1] if len(rows) > 2 else None
    lines = [
        "# `shapels check`: worker processes and the results cache (issue 21)",
        "",
        f"Written by `.venv/bin/python benchmarks/bench_check_cache.py` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"{len(files)} files ({what}), {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}. Each run a fresh process; the outputs of all runs identical "
        f"(exit {outputs[0][0]}). Load average (1, 5, 15 min) before and after each run: the machine is shared, "
        "so these figures are preliminary.",
        "",
        "| run | wall s | wall vs serial | CPU s (all processes) | load before | load after |",
        "|---|---:|---:|---:|---|---|",
    ]
    for label, seconds, cpu_seconds, before, after in rows:
        ratio = f"{seconds / serial:.3f}x" if serial else "-"
        lines.append(f"| {label} | {seconds:.1f} | {ratio} | {cpu_seconds:.1f} | {before} | {after} |")
    lines += ["", "Targets: first run <= 1/2 of the serial run; second run <= 5 s. Where other work holds the "
              "CPUs (a load average above their number), the wall times are the machine's, not shapels': the CPU "
              "seconds say how much work each run was."]
    if not args.limit and not args.files:
        out = OUT if args.every and args.every > 1 else OUT_ALL
        out.write_text("\n".join(lines) + "\n")
        print(f"wrote {out.relative_to(ROOT)}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
