"""Engine benchmark: shapels' analyze() against libcst's parse of the same file, and the cold CLI
against a fresh torch run of the same example.

- Warm: in this process, after one warm-up call, N rounds of `libcst.parse_module(text)` then
  `shapels.analysis.engine.analyze(text, path, options)`, interleaved so that drift and other load hit
  both alike; the best and the median of each. Two configurations per file: imports resolved by the
  file-system loader, as `shapels check` and the server run (the verdict), and this file only
  (`Options()` without a loader: imported names stay unknown).
  Files: the six seed examples (../shared/examples/torch), the biggest torchvision model files (fetched
  by corpus/fetch_zoo.sh into .tools/zoo/src; as they are, and with the corpus driver appended), and large
  torch.nn module files read as text from the installed torch (transformer.py, 1,000+ lines).
- Cold: `python -m shapels check FILE --format json --no-cache` in a fresh process, against `python FILE` (the
  example runs with torch) in a fresh process, best and median of M runs each.

Targets (issue 2): analysis <= 1.5x parse time warm; cold CLI <= 1/4 of the fresh torch run.
Writes benchmarks/results/engine.md. No assertions: this is a measurement.

Usage: .venv/bin/python benchmarks/bench_engine.py [--repeat N] [--cold-repeat M] [--quick] [--cold-only]
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

from shapels.analysis.engine import Options, analyze  # noqa: E402
from shapels.imports import FileLoader  # noqa: E402

SEEDS = ROOT.parent / "shared" / "examples" / "torch"
OUT = ROOT / "benchmarks" / "results" / "engine.md"
ZOO_FILES = ["regnet", "efficientnet", "swin_transformer", "resnet", "vision_transformer", "maxvit"]
TORCH_FILES = ["transformer.py", "conv.py", "rnn.py"]
PARSE_TARGET = 1.5
COLD_TARGET = 0.25


def _interleaved(parse, run, repeat: int) -> tuple:
    """(parse, run) times, each a (best wall, median wall, best CPU) triple in seconds, over `repeat`
    rounds of parse-then-run after a warm-up of each."""
    parse()
    run()
    samples: dict = {"parse": ([], []), "run": ([], [])}
    for _ in range(repeat):
        for key, fn in (("parse", parse), ("run", run)):
            t, c = time.perf_counter(), time.process_time()
            fn()
            samples[key][1].append(time.process_time() - c)
            samples[key][0].append(time.perf_counter() - t)
    return tuple((min(w), statistics.median(w), min(c)) for w, c in (samples["parse"], samples["run"]))


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


def configurations() -> list:
    """(label, Options): the CLI's own loader (workspace = the project root, site-packages too), and none."""
    return [("imports resolved", Options(loader=FileLoader(roots=[ROOT]))), ("this file only", Options())]


def warm(repeat: int, quick: bool) -> list:
    rows = []
    for label, path, text in files():
        n_lines = text.count("\n") + 1
        reps = 1 if quick else (repeat if n_lines < 200 else max(3, repeat // 3))
        row = {"file": label, "lines": n_lines, "reps": reps, "configs": []}
        for config, options in configurations():
            result = analyze(text, str(path), options)
            (p_best, p_med, p_cpu), (a_best, a_med, a_cpu) = _interleaved(
                lambda: libcst.parse_module(text), lambda: analyze(text, str(path), options), reps)
            row["configs"].append({
                "config": config, "parse_best": p_best, "parse_median": p_med, "analyze_best": a_best,
                "analyze_median": a_med, "ratio": a_best / p_best, "cpu_ratio": a_cpu / max(p_cpu, 1e-9),
                "partial": result.partial, "findings": len(result.findings)})
            print(f"  {label} [{config}]: {n_lines} lines, parse {p_best * 1e3:.1f} ms, analyze {a_best * 1e3:.1f} ms "
                  f"({a_best / p_best:.2f}x wall, {a_cpu / max(p_cpu, 1e-9):.2f}x CPU)"
                  f"{' PARTIAL' if result.partial else ''}", flush=True)
        rows.append(row)
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
    # Byte-compile shapels first, as installing it does: run from a checkout with PYTHONDONTWRITEBYTECODE
    # set, every fresh process would compile shapels' sources again (~0.4 s of CPU), which no installed
    # copy pays. torch, sympy and libcst come from site-packages, compiled when they were installed.
    subprocess.run([py, "-m", "compileall", "-q", str(ROOT / "shapels")], check=True, stdout=subprocess.DEVNULL)
    for p in sorted(SEEDS.glob("*.py")):
        cli_best, cli_med, cli_cpu, cli_rc = _fresh([py, "-m", "shapels", "check", str(p), "--format", "json", "--no-cache"],
                                                   repeat)  # a fresh analysis each time, not the results cache
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
        "Parse and analysis are timed in interleaved rounds (drift and other load hit both alike). "
        "'imports resolved' is how `shapels check` and the server analyse a file (the file-system loader reads "
        "what it imports: torchvision's `..ops.misc`, `.._api`, ...); the verdict is on it. 'this file only' "
        "leaves imported names unknown. A file as it is has no driver: the engine gives every module class a "
        "symbolic run. '+ driver' appends the corpus driver (build the primary builder, run it on "
        "(1, 3, 224, 224)): a scenario, not a file of the zoo.",
        "",
        "| file | lines | parse best / median (ms) | analyze, imports resolved: best / median (ms) | ÷ parse, wall (best) | "
        "÷ parse, CPU | target | analyze, this file only: best / median (ms) | ÷ parse, wall (best) | partial | runs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in warm_rows:
        real, alone = r["configs"]
        lines.append(
            f"| {r['file']} | {r['lines']} | {real['parse_best'] * 1e3:.1f} / {real['parse_median'] * 1e3:.1f} | "
            f"{real['analyze_best'] * 1e3:.1f} / {real['analyze_median'] * 1e3:.1f} | {real['ratio']:.2f}× | "
            f"{real['cpu_ratio']:.2f}× | {ok(real['ratio'], PARSE_TARGET)} | "
            f"{alone['analyze_best'] * 1e3:.1f} / {alone['analyze_median'] * 1e3:.1f} | {alone['ratio']:.2f}× | "
            f"{'yes' if real['partial'] or alone['partial'] else 'no'} | {r['reps']} |")
    if warm_rows:
        verdicts = [(r, r["configs"][0]) for r in warm_rows]
        met = sum(1 for _, c in verdicts if c["ratio"] <= PARSE_TARGET)
        big = [(r, c) for r, c in verdicts if r["lines"] >= 1000 and "driver" not in r["file"]]
        big_met = sum(1 for _, c in big if c["ratio"] <= PARSE_TARGET)
        worst_r, worst_c = max(verdicts, key=lambda rc: rc[1]["ratio"])
        lines += ["", f"{met} of {len(verdicts)} rows meet the warm target with imports resolved (wall); "
                      f"{big_met} of {len(big)} real files of 1,000+ lines as they are; worst: {worst_r['file']} at "
                      f"{worst_c['ratio']:.2f}× parse."]
    return "\n".join(lines) + "\n"


def render_cold(cold_rows: list, args) -> str:
    ok = lambda v, t: "meets" if v <= t else "MISSES"  # noqa: E731
    lines = [
        f"## Cold: `python -m shapels check FILE` against `python FILE` (target ≤ {COLD_TARGET:g}× the torch run)",
        "",
        "Each in a fresh process. The example's own run imports torch and runs the model "
        "(a failing example exits non-zero, after the same import). shapels is byte-compiled first, as "
        "installing it does (torch, sympy and libcst were compiled when installed); "
        f"load average {_load()} when this section was written.",
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
    lines += ["", f"Runs: cold M={args.cold_repeat}; warm N={args.repeat} (a third of that, at least 3, "
                  "for files of 200+ lines), unless the warm section says otherwise."]
    return "\n".join(lines) + "\n"


COLD_HEADING = "## Cold:"


def report(warm_rows: list, cold_rows: list, args, previous: str) -> str:
    """The report; with --cold-only, the previous report's warm section kept and its cold one replaced."""
    if args.cold_only and COLD_HEADING in previous:
        head = previous[: previous.index(COLD_HEADING)]
    else:
        head = render(warm_rows, cold_rows, args) + "\n"
    return head + render_cold(cold_rows, args)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--cold-repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one timed run each (smoke test)")
    parser.add_argument("--cold-only", action="store_true",
                        help="only the cold section; the report keeps the warm section it had")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    warm_rows = []
    if not args.cold_only:
        print("warm analyze() vs libcst parse:", flush=True)
        warm_rows = warm(args.repeat, args.quick)
    print("cold CLI vs fresh torch run:", flush=True)
    cold_rows = cold(1 if args.quick else args.cold_repeat)
    out = Path(args.out)
    text = report(warm_rows, cold_rows, args, out.read_text() if out.exists() else "")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
