"""Instruction counts: shapels' analyze() against libcst's parse of the same file, under valgrind.

Wall-clock times on a shared 2-core machine move by 10-25% between runs, enough to hide or invent a
change of that size. Instructions counted by valgrind's callgrind are repeatable (within ~0.1% here,
with PYTHONHASHSEED fixed), so this is the benchmark to judge an engine change by; bench_engine.py
gives the times the targets are stated in.

For each file (the same files and configuration as bench_engine.py's verdict: imports resolved by the
CLI's loader), a child Python process under `valgrind --tool=callgrind --instr-atstart=no` imports
everything and warms up with one analysis; only then does this script switch counting on
(`callgrind_control -i on`), the child runs one analysis (or one parse) and waits, and counting goes
off before the child exits. The ratio is analysis instructions over parse instructions.

Needs valgrind (Debian package `valgrind`); skips with a message without it. Two children run at once.
Writes benchmarks/results/instructions.md; with --files, only the measured files' rows change in it (the
other rows and the notes stay). No assertions: this is a measurement.

Usage: .venv/bin/python benchmarks/bench_instructions.py [--files swin_transformer,regnet+driver]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "instructions.md"
POLL = 0.05


def _child(label: str, mode: str, flag: str) -> int:
    """Runs under valgrind: warm up, say ready, run once when counting is on, say done, wait."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import libcst

    import bench_engine
    from shapels.analysis.engine import analyze

    [(path, text)] = [(p, t) for name, p, t in bench_engine.files() if name == label]
    # No time budget: under valgrind an analysis runs ~50x slower and would stop part-way.
    options = replace(bench_engine.configurations()[0][1], budget_seconds=None)
    analyze(text, str(path), options)  # imports read and cached, caches warm
    libcst.parse_module(text)
    gc.collect()  # the same collector state at the start of every count: collections inside repeat
    flag_path = Path(flag)
    flag_path.write_text("ready")
    while flag_path.exists():  # the parent switches counting on, then removes the flag
        time.sleep(POLL)
    if mode == "parse":
        libcst.parse_module(text)
        partial = False
    else:
        partial = analyze(text, str(path), options).partial
    flag_path.write_text("partial" if partial else "done")
    while flag_path.exists():  # exit (and its teardown) only once counting is off
        time.sleep(POLL)
    return 0


def _wait_for(flag: Path, words: tuple, process: subprocess.Popen) -> bool:
    while process.poll() is None:
        if flag.exists() and flag.read_text() in words:
            return True
        time.sleep(POLL)
    return False


def count(label: str, mode: str) -> int | None:
    """Instructions of one analysis (or parse) of the file `label`, or None if the child failed."""
    with tempfile.TemporaryDirectory(prefix="shapels-instr-") as tmp:
        flag, log = Path(tmp) / "flag", Path(tmp) / "valgrind.log"
        env = dict(os.environ, PYTHONHASHSEED="0")
        with open(log, "w") as err:
            process = subprocess.Popen(
                ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
                 sys.executable, __file__, "--child", label, mode, str(flag)],
                stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=str(ROOT))
            control = ["callgrind_control", "-i"]
            for words, switch in ((("ready",), "on"), (("done", "partial"), "off")):
                if not _wait_for(flag, words, process):
                    return None
                if flag.read_text() == "partial":
                    print(f"  {label}: the analysis was partial; not counted", flush=True)
                    process.kill()
                    return None
                subprocess.run(control + [switch, str(process.pid)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False)
                flag.unlink()
            process.wait()
        found = re.search(r"Collected : (\d+)", log.read_text())
        return int(found.group(1)) if found else None


def measure(labels: list) -> list:
    jobs = [(label, mode) for label in labels for mode in ("analyze", "parse")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: count(*job), jobs)))
    rows = []
    for label in labels:
        analyzed, parsed = counts[(label, "analyze")], counts[(label, "parse")]
        ratio = analyzed / parsed if analyzed and parsed else None
        rows.append({"file": label, "analyze": analyzed, "parse": parsed, "ratio": ratio})
        shown = f"{ratio:.3f}x" if ratio else "failed"
        print(f"  {label}: analyze {analyzed / 1e6 if analyzed else 0:.1f} M, parse "
              f"{parsed / 1e6 if parsed else 0:.1f} M instructions: {shown}", flush=True)
    return rows


def render(rows: list) -> str:
    lines = [
        "# Instruction counts: analyze() against libcst's parse",
        "",
        f"`.venv/bin/python benchmarks/bench_instructions.py`, {time.strftime('%Y-%m-%d')}, Python "
        f"{sys.version.split()[0]}, valgrind callgrind, PYTHONHASHSEED=0. One warm analysis (imports resolved, "
        "as `shapels check` runs) and one parse per file, counted in separate processes. Repeatable to about "
        "0.1%: compare engine changes here, and read times in engine.md.",
        "",
        "| file | analyze (M instructions) | parse (M instructions) | analyze ÷ parse |",
        "| --- | --- | --- | --- |",
    ]
    for r in rows:
        a = f"{r['analyze'] / 1e6:.1f}" if r["analyze"] else "failed"
        p = f"{r['parse'] / 1e6:.1f}" if r["parse"] else "failed"
        ratio = f"{r['ratio']:.3f}×" if r["ratio"] else "-"
        lines.append(f"| {r['file']} | {a} | {p} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("LABEL", "MODE", "FLAG"), help=argparse.SUPPRESS)
    parser.add_argument("--files", help="comma-separated labels of bench_engine.py (default: every large file)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    if args.child:
        return _child(*args.child)
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        print("valgrind is not installed (Debian: apt-get install valgrind): nothing measured")
        return 0
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_engine

    labels = [name for name, _, text in bench_engine.files() if text.count("\n") >= 200]
    if args.files:
        wanted = args.files.split(",")
        labels = [name for name in labels if any(w in name.replace(" + driver", "+driver") for w in wanted)]
    print("instructions, analyze() vs libcst parse (valgrind):", flush=True)
    rows = measure(labels)
    out = Path(args.out)
    if args.files and out.exists():  # a few rows measured again: the file's other rows and its notes stay
        out.write_text(merge_rows(out.read_text(), rows))
        print(f"updated {len(rows)} rows of {args.out}")
    else:
        out.write_text(render(rows))
        print(f"wrote {args.out}")
    return 0


def merge_rows(existing: str, rows: list) -> str:
    """`existing` (a results file) with the table rows of the files in `rows` replaced by their new counts,
    rows of files it did not have added at the end of its table, and every other line as it was."""
    fresh = {line.split(" | ")[0]: line for line in render(rows).splitlines() if line.startswith("| ")}
    fresh.pop("| file", None)
    lines = existing.rstrip("\n").split("\n")
    last_row = max((i for i, line in enumerate(lines) if line.startswith("| ")), default=len(lines) - 1)
    merged = []
    for i, line in enumerate(lines):
        merged.append(fresh.pop(line.split(" | ")[0], line) if line.startswith("| ") else line)
        if i == last_row:
            merged.extend(fresh.values())
    return "\n".join(merged) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
