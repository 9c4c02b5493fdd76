"""Engine benchmark: shapels' analyze() against libcst's parse of the same file, and the cold CLI
against a fresh torch run of the same example.

- Warm: in this process, after one warm-up call, the best and the median of N calls of
  `shapels.analysis.engine.analyze(text, path)` and of `libcst.parse_module(text)`.
  Files: the six seed examples (../shared/examples/torch), the biggest torchvision model files (fetched
  by corpus/fetch_zoo.sh into .tools/zoo/src; as they are, and with the corpus driver appended), and large
  torch.nn module files read as text from the installed torch (transformer.py, 1,000+ lines).
- Cold: `python -m shapels check FILE --format json` in a fresh process, against `python FILE` (the
  example runs with torch) in a fresh process, best and median of M runs each.

Targets (issue 2): analysis <= 1.5x parse time warm; cold CLI <= 1/4 of the fresh torch run.
Writes benchmarks/results/engine.md. No assertions: this is a measurement.

Usage: .venv/bin/python benchmarks/bench_engine.py [--repeat N] [--cold-repeat M] [--quick]
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
sys.path.insert(0, str(ROOT / "corpus"))

import libcst  # noqa: E402

from shapels.analysis.engine import analyze  # noqa: E402

SEEDS = ROOT.parent / "shared" / "examples" / "torch"
OUT = ROOT / "benchmarks" / "results" / "engine.md"
ZOO_FILES = ["regnet", "efficientnet", "swin_transformer", "resnet", "vision_transformer", "maxvit"]
TORCH_FILES = ["transformer.py", "conv.py", "rnn.py"]
PARSE_TARGET = 1.5
COLD_TARGET = 0.25


def _time(fn, repeat: int) -> tuple:
    """(best wall, median wall, best CPU) seconds over `repeat` calls after a warm-up call."""
    fn()  # warm-up
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c)
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), min(cpu)


def _torch_dir() -> Path | None:
    try:
        import importlib.util

        spec = importlib.util.find_spec("torch")  # locate only: torch is not imported
        return Path(spec.origin).parent if spec and spec.origin else None
    except Exception:  # noqa: BLE001
        return None


def files() -> list:
    """(label, path, text) for every benchmarked file."""
    out = []
    for p in sorted(SEEDS.glob("*.py")):
        out.append((f"seed {p.name}", p, p.read_text()))
    try:
        import zoo

        if not zoo.sources_present():
            subprocess.run(["bash", str(ROOT / "corpus" / "fetch_zoo.sh")], check=False,
                           stdout=subprocess.DEVNULL)
        if zoo.sources_present():
            for stem in ZOO_FILES:
                p = zoo.model_path(stem)
                text = p.read_text()
                out.append((f"torchvision {stem}.py", p, text))
                builder = zoo.BUILDERS[stem][0]
                out.append((f"torchvision {stem}.py + driver `{builder}()`", p, text + zoo.driver(builder)))
    except ImportError:
        pass
    tdir = _torch_dir()
    if tdir is not None:
        for name in TORCH_FILES:
            p = tdir / "nn" / "modules" / name
            if p.is_file():
                out.append((f"torch/nn/modules/{name}", p, p.read_text()))
    return out


def warm(repeat: int, quick: bool) -> list:
    rows = []
    for label, path, text in files():
        n_lines = text.count("\n") + 1
        reps = repeat if n_lines < 200 else max(3, repeat // 3)
        if quick:
            reps = 1
        parse_best, parse_med, parse_cpu = _time(lambda: libcst.parse_module(text), reps)
        result = analyze(text, str(path))
        an_best, an_med, an_cpu = _time(lambda: analyze(text, str(path)), reps)
        rows.append({"file": label, "lines": n_lines, "parse_best": parse_best, "parse_median": parse_med,
                     "analyze_best": an_best, "analyze_median": an_med, "ratio": an_best / parse_best,
                     "parse_cpu": parse_cpu, "analyze_cpu": an_cpu, "cpu_ratio": an_cpu / max(parse_cpu, 1e-9),
                     "partial": result.partial, "findings": len(result.findings), "reps": reps})
        print(f"  {label}: {n_lines} lines, parse {parse_best * 1e3:.1f} ms, analyze {an_best * 1e3:.1f} ms "
              f"({an_best / parse_best:.2f}x wall, {an_cpu / max(parse_cpu, 1e-9):.2f}x CPU)"
              f"{' PARTIAL' if result.partial else ''}", flush=True)
    return rows


def _fresh(cmd: list, repeat: int) -> tuple:
    """(best wall, median wall, best CPU user+sys of the child, exit status) over `repeat` fresh runs."""
    import resource

    times, cpu = [], []
    rc = None
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        rc = proc.returncode
    return min(times), statistics.median(times), min(cpu), rc


def cold(repeat: int) -> list:
    rows = []
    py = sys.executable
    for p in sorted(SEEDS.glob("*.py")):
        cli_best, cli_med, cli_cpu, cli_rc = _fresh([py, "-m", "shapels", "check", str(p), "--format", "json"], repeat)
        run_best, run_med, run_cpu, run_rc = _fresh([py, str(p)], repeat)
        rows.append({"file": p.name, "cli_best": cli_best, "cli_median": cli_med, "cli_rc": cli_rc, "cli_cpu": cli_cpu,
                     "run_best": run_best, "run_median": run_med, "run_rc": run_rc, "run_cpu": run_cpu,
                     "ratio": cli_best / run_best, "cpu_ratio": cli_cpu / max(run_cpu, 1e-9)})
        print(f"  {p.name}: cli {cli_best:.3f}s (rc {cli_rc}, CPU {cli_cpu:.2f}s), torch run {run_best:.3f}s "
              f"(rc {run_rc}, CPU {run_cpu:.2f}s), {cli_best / run_best:.2f}x wall, {cli_cpu / max(run_cpu, 1e-9):.2f}x CPU",
              flush=True)
    return rows


def _load() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def render(warm_rows: list, cold_rows: list, args) -> str:
    ok = lambda v, t: "meets" if v <= t else "MISSES"  # noqa: E731
    lines = [
        "# Engine benchmark",
        "",
        f"`.venv/bin/python benchmarks/bench_engine.py` on {platform.machine()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, load average {_load()} (1, 5, 15 min, read at the end). Times are "
        "wall-clock, best and median of the runs; CPU columns are the process's (or child's) user+sys time, "
        "less sensitive to other load on a shared machine. The verdict uses the best wall-clock time.",
        "",
        f"## Warm: `analyze()` against `libcst.parse_module` (target ≤ {PARSE_TARGET}× parse)",
        "",
        "A file as it is has no driver: the engine gives every module class a symbolic run. "
        "'+ driver' appends the corpus driver (build the primary builder, run it on (1, 3, 224, 224)).",
        "",
        "| file | lines | parse best / median (ms) | analyze best / median (ms) | analyze ÷ parse, wall (best) | "
        "analyze ÷ parse, CPU (best) | target (wall) | partial | runs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in warm_rows:
        lines.append(
            f"| {r['file']} | {r['lines']} | {r['parse_best'] * 1e3:.1f} / {r['parse_median'] * 1e3:.1f} | "
            f"{r['analyze_best'] * 1e3:.1f} / {r['analyze_median'] * 1e3:.1f} | {r['ratio']:.2f}× | "
            f"{r['cpu_ratio']:.2f}× | {ok(r['ratio'], PARSE_TARGET)} | {'yes' if r['partial'] else 'no'} | {r['reps']} |")
    if warm_rows:
        met = sum(1 for r in warm_rows if r["ratio"] <= PARSE_TARGET)
        worst = max(warm_rows, key=lambda r: r["ratio"])
        lines += ["", f"{met} of {len(warm_rows)} files meet the warm target (wall); worst: {worst['file']} "
                      f"at {worst['ratio']:.2f}× parse."]
    lines += [
        "",
        f"## Cold: `python -m shapels check FILE` against `python FILE` (target ≤ {COLD_TARGET:g}× the torch run)",
        "",
        "Each in a fresh process. The example's own run imports torch and runs the model "
        "(a failing example exits non-zero, after the same import).",
        "",
        "| file | shapels check best / median (s) | CPU (s) | exit | python FILE best / median (s) | CPU (s) | exit | "
        "check ÷ run, wall (best) | check ÷ run, CPU | target (wall) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in cold_rows:
        lines.append(
            f"| {r['file']} | {r['cli_best']:.3f} / {r['cli_median']:.3f} | {r['cli_cpu']:.2f} | {r['cli_rc']} | "
            f"{r['run_best']:.3f} / {r['run_median']:.3f} | {r['run_cpu']:.2f} | {r['run_rc']} | {r['ratio']:.2f}× | "
            f"{r['cpu_ratio']:.2f}× | {ok(r['ratio'], COLD_TARGET)} |")
    lines += ["", f"Runs: warm N={args.repeat} (a third of that, at least 3, for files of 200+ lines), "
                  f"cold M={args.cold_repeat}."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--cold-repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one timed run each (smoke test)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    print("warm analyze() vs libcst parse:", flush=True)
    warm_rows = warm(args.repeat, args.quick)
    print("cold CLI vs fresh torch run:", flush=True)
    cold_rows = cold(1 if args.quick else args.cold_repeat)
    text = render(warm_rows, cold_rows, args)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
