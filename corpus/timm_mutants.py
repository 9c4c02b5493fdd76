"""Mutants of timm's model files, labelled by running them: recall beyond torchvision (a manual check).

For each model corpus/timm_sweep.py drives, the file that defines its class gets the mutations
corpus/mutate.py makes for torchvision (one layer-constructor argument changed), restricted to calls
the unmutated model really executes and sampled the same way. Each mutant is run with torch
(corpus/timm_run.py, in .tools/timm-venv, its own process) to see whether it fails, and analysed by
shapels as the file it is, with the model built and called at its end (as the torchvision corpus
appends its builder call). Figures: how many failing mutants get an error (recall), how many of those
on the mutated line, and errors on mutants that run (false alarms).

The unmutated models are run too: each must return (1, 1000), which checks the sweep's claim.

Usage: .venv/bin/python corpus/timm_mutants.py [--workers 2]   (writes corpus/TIMM_MUTANTS.md)
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutate import candidates, select  # noqa: E402
from package_sweep import ROOT, fetch, loader  # noqa: E402
from timm_sweep import MODELS  # noqa: E402

from shapels.analysis.engine import Options, analyze  # noqa: E402

VENV = ROOT / ".tools" / "timm-venv"
RUNNER = Path(__file__).resolve().parent / "timm_run.py"
RESULTS = Path(__file__).resolve().parent / "TIMM_MUTANTS.md"
VERSION = "1.0.31"


def venv_python() -> Path:
    """The labelling interpreter: torch 2.13 CPU and numpy (installed here on first use)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "torch==2.13.0", "numpy"], check=True)
    return python


def run(job: dict) -> dict:
    done = subprocess.run([str(venv_python()), str(RUNNER)], input=json.dumps(job), capture_output=True, text=True,
                          timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"runs": False, "error_type": "runner", "error": done.stderr[-300:], "error_line": None}
    return json.loads(lines[-1])


def defining_module(imports: str) -> str:
    """The module of the driven class: the first `from X import Class` of the driver's imports."""
    return re.match(r"from (\S+) import", imports).group(1)


def driver(imports: str, constructor: str, side: int, module: str) -> str:
    """The model built and called at the end of its own file: imports of the file's own names dropped
    (they are defined above), those from other modules kept."""
    kept = [line for line in imports.splitlines() if defining_module(line) != module]
    body = "\n".join(["import torch"] + kept + [f"model = {constructor}", "model.eval()",
                                                f"out = model(torch.randn(1, 3, {side}, {side}))"])
    return "\n\n# --- shapels corpus driver (appended in memory) ---\n" + body + "\n"


def analysed_errors(text: str, path: Path, src: Path) -> tuple:
    """(errors as (code, first line, last line, message), whether the analysis was partial)."""
    result = analyze(text, str(path), Options(loader=loader(src), budget_seconds=20))
    return [(f.code, f.span.start_line, f.span.end_line, f.message[:140]) for f in result.findings
            if f.severity == "error"], result.partial


def evaluate(src: Path, workers: int) -> list:
    rows = []
    for name, (imports, constructor, side) in MODELS.items():
        module = defining_module(imports)
        path = src / (module.replace(".", "/") + ".py")
        text = path.read_text()
        base_job = {"src": str(src), "imports": imports, "constructor": constructor, "side": side, "module": module}
        base = run({**base_job, "text": None, "trace": True})
        tail = driver(imports, constructor, side, module)
        base_errors, _ = analysed_errors(text + tail, path, src)
        mutants = select(candidates(text), set(base.get("executed_lines", [])), seed=name)
        mutated = [m.apply(text) for m in mutants]
        with ThreadPoolExecutor(workers) as pool:
            labels = list(pool.map(lambda t: run({**base_job, "text": t, "trace": False}), mutated))
        entries = []
        for m, t, lab in zip(mutants, mutated, labels):
            errors, partial = analysed_errors(t + tail, path, src)
            fresh = [e for e in errors if (e[0], e[1]) not in {(b[0], b[1]) for b in base_errors}]
            entries.append({
                "line": m.line, "layer": m.layer, "param": m.param, "original": m.original, "new": m.new,
                "fails": not lab["runs"], "error_type": lab.get("error_type"), "error_line": lab.get("error_line"),
                "detected": bool(fresh), "on_line": any(s <= m.line <= e for _, s, e, _ in fresh),
                "errors": fresh, "partial": partial,
            })
        rows.append({"model": name, "file": module, "base_runs": base["runs"], "base_output": base.get("output_shape"),
                     "base_errors": base_errors, "mutants": entries})
        print(f"  {name}: {len(entries)} mutants", file=sys.stderr, flush=True)
    return rows


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}% ({n} / {d})" if d else "n/a"


def render(rows: list, seconds: float) -> str:
    mutants = [m for r in rows for m in r["mutants"]]
    failing = [m for m in mutants if m["fails"]]
    detected = [m for m in failing if m["detected"]]
    on_line = [m for m in detected if m["on_line"]]
    alarms = [m for m in mutants if not m["fails"] and m["detected"]]
    lines = [
        f"# shapels on mutants of timm {VERSION}'s model files (labelled by running them)",
        "",
        "Reproduce: `corpus/fetch_zoo.sh && .venv/bin/python corpus/timm_mutants.py` (not part of CI; the runs use "
        "`.tools/timm-venv`, torch 2.13 CPU and numpy, made on first use). torchvision and PIL are stand-ins there "
        f"(timm imports them; models do not use them). Took {seconds:.0f} s.",
        "",
        "| metric | value |",
        "| --- | --- |",
        f"| unmutated models that run and return (1, 1000) | {sum(r['base_runs'] and r['base_output'] == [1, 1000] for r in rows)} / {len(rows)} |",
        f"| errors on the unmutated models (false positives) | {sum(len(r['base_errors']) for r in rows)} |",
        f"| recall on mutants that fail when run | {_pct(len(detected), len(failing))} |",
        f"| diagnostic on the mutated line (of detected) | {_pct(len(on_line), len(detected))} |",
        f"| errors on mutants that run (false alarms) | {len(alarms)} / {len(mutants) - len(failing)} |",
        "",
        "| model | file | mutants | fail when run | detected | on line | errors on running mutants |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        ms = r["mutants"]
        fails = [m for m in ms if m["fails"]]
        lines.append(f"| {r['model']} | `{r['file']}` | {len(ms)} | {len(fails)} | {sum(m['detected'] for m in fails)} | "
                     f"{sum(m['on_line'] for m in fails)} | {sum(m['detected'] for m in ms if not m['fails'])} |")
    missed = [(r["model"], m) for r in rows for m in r["mutants"] if m["fails"] and not m["on_line"]]
    if missed:
        lines += ["", "## Failing mutants without an error on their line", ""]
        for model, m in missed:
            found = "; ".join(f"{c} line {s}" for c, s, _, _ in m["errors"]) or "no error"
            lines.append(f"- {model}, line {m['line']}: {m['layer']} {m['param']} `{m['original']}` -> `{m['new']}` "
                         f"(torch: {m['error_type']} at line {m['error_line']}; shapels: {found})")
    if alarms:
        lines += ["", "## Errors on mutants that run", ""]
        for r in rows:
            for m in r["mutants"]:
                if not m["fails"] and m["detected"]:
                    lines.append(f"- {r['model']}, line {m['line']}: {m['layer']} {m['param']} -> `{m['new']}`: "
                                 + "; ".join(f"{c} line {s}: {msg}" for c, s, _, msg in m["errors"]))
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    src = fetch("timm", VERSION)
    started = time.perf_counter()
    rows = evaluate(src, args.workers)
    RESULTS.write_text(render(rows, time.perf_counter() - started))
    (ROOT / ".tools" / "timm" / "mutants.json").write_text(json.dumps(rows, indent=1))
    print(RESULTS.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
