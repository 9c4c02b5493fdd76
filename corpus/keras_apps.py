"""The Keras corpus: Keras 3's own application files (keras/src/applications/*.py of the installed keras,
read in place, never committed), every builder labelled by running it, and one-argument mutants of each
file, each labelled by running it; then the static side on the same texts.

For each builder, the driver
    import numpy as np
    model = ResNet50(weights=None, input_shape=(64, 64, 3), classes=10)
    out = model(np.zeros((2, 64, 64, 3), "float32"))
is appended to the file's text in memory. Labels: corpus/keras_label.py runs the text with
KERAS_BACKEND=torch (output shape, or the error and the innermost line of the application file);
they are cached in the git-ignored .tools/keras_corpus/labels.json under the sha256 of the text, so a
rerun only runs what changed. Static: `shapels.analysis.engine.analyze(text, real_path)` with the
options `shapels check` uses. Metrics as corpus/evaluate.py's for torchvision (false alarms on the
unmutated models, recall on the mutants that fail, on the mutated line, errors on the mutants that
run, output shape exact), and a triage of each miss (was the mutated line's layer reached with known
shapes).

Usage: .venv/bin/python corpus/keras_apps.py [--no-write] [--only STEM ...]
Writes corpus/KERAS_RESULTS.md.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:  # this checkout's shapels, not the one an editable install may point at
    sys.path.insert(1, str(ROOT))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import keras_mutate  # noqa: E402

from shapels.analysis import calls, engine  # noqa: E402
from shapels.analysis.engine import Options, analyze  # noqa: E402
from shapels.analysis.positions import node_ranges  # noqa: E402
from shapels.codes import ANALYSIS_INTERNAL_ERROR  # noqa: E402
from shapels.imports import FileLoader  # noqa: E402
from shapels.rules.keras_layers.spec import is_none_dim  # noqa: E402
from shapels.symbolic import dims as D  # noqa: E402
from shapels.values import ListValue, Seq, Tensor  # noqa: E402

PYTHON = ROOT / ".venv" / "bin" / "python"
CACHE = ROOT / ".tools" / "keras_corpus" / "labels.json"
RESULTS = HERE / "KERAS_RESULTS.md"
TARGETS = {"false_positives": 0, "recall": 0.90, "on_line": 0.90, "output_exact": 0.80}
CLASSES = 10
MUTANTS_PER_FILE = 20

# file stem -> (image side, builders). The first builder is the file's primary one: its file's mutants
# are labelled with it. Sides: small valid inputs (min_size is 32, 71 for Xception, 75 for the Inceptions)
# so that the runs are fast on 2 CPU cores. Not in the corpus: nasnet.py (NASNetMobile/Large raise "not available
# with the torch backend" in Keras 3.15) and imagenet_utils.py (helpers, no model).
BUILDERS = {
    "resnet": (64, ["ResNet50", "ResNet101", "ResNet152"]),
    "resnet_v2": (64, ["ResNet50V2", "ResNet101V2", "ResNet152V2"]),
    "vgg16": (32, ["VGG16"]),
    "vgg19": (32, ["VGG19"]),
    "mobilenet": (64, ["MobileNet"]),
    "mobilenet_v2": (64, ["MobileNetV2"]),
    "mobilenet_v3": (64, ["MobileNetV3Small", "MobileNetV3Large"]),
    "efficientnet": (64, ["EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3",
                          "EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7"]),
    "efficientnet_v2": (64, ["EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
                             "EfficientNetV2S", "EfficientNetV2M", "EfficientNetV2L"]),
    "densenet": (64, ["DenseNet121", "DenseNet169", "DenseNet201"]),
    "xception": (75, ["Xception"]),
    "convnext": (64, ["ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge"]),
    "inception_v3": (75, ["InceptionV3"]),
    "inception_resnet_v2": (75, ["InceptionResNetV2"]),
}


def keras_dir() -> Path:
    """keras/src/applications of the keras installed in .venv (found without importing keras)."""
    found = sorted((ROOT / ".venv" / "lib").glob("python3*/site-packages/keras/src/applications"))
    return found[0] if found else Path("/nonexistent")


def keras_version() -> str | None:
    for meta in sorted((ROOT / ".venv" / "lib").glob("python3*/site-packages/keras-*.dist-info/METADATA")):
        for line in meta.read_text().splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    return None


def model_path(stem: str) -> Path:
    return keras_dir() / f"{stem}.py"


def sources_present() -> bool:
    return all(model_path(stem).is_file() for stem in BUILDERS)


def driver(builder: str, side: int) -> str:
    return ("\n\n# --- shapels keras corpus driver (appended in memory) ---\n"
            "import numpy as np\n"
            f"model = {builder}(weights=None, input_shape=({side}, {side}, 3), classes={CLASSES})\n"
            f'out = model(np.zeros((2, {side}, {side}, 3), "float32"))\n')


def full_text(stem: str, builder: str) -> str:
    side = BUILDERS[stem][0]
    return model_path(stem).read_text() + driver(builder, side)


def data_line(text: str) -> int:
    """The driver's `out = model(...)` line, 1-based."""
    return len(text.rstrip("\n").splitlines())


# -- labels ------------------------------------------------------------------------------------------
def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_cache() -> dict:
    return json.loads(CACHE.read_text()) if CACHE.is_file() else {}


def _worker() -> subprocess.Popen:
    env = dict(os.environ, KERAS_BACKEND="torch", PYTHONWARNINGS="ignore")
    return subprocess.Popen([str(PYTHON), str(HERE / "keras_label.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)


def label_all(jobs: list, cache: dict, progress=print) -> None:
    """Run the jobs that have no cached label (one worker, Keras imported once); labels go in `cache`. A job
    that ends the worker itself (a crash, the memory) gets no label and a new worker takes the next one."""
    todo = [j for j in jobs if _key(j["text"]) not in cache or (j.get("trace") and "executed" not in cache[_key(j["text"])])]
    if not todo:
        return
    proc = _worker()
    try:
        for n, job in enumerate(todo, 1):
            proc.stdin.write(json.dumps({k: job.get(k) for k in ("id", "path", "text", "trace")}) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if not line:
                progress(f"  label {n}/{len(todo)} {job['id']}: the worker ended (exit {proc.wait()}); not labelled")
                proc = _worker()
                continue
            row = json.loads(line)
            row.pop("id", None)
            cache[_key(job["text"])] = row
            progress(f"  label {n}/{len(todo)} {job['id']}: "
                     f"{row.get('output_shape') if row['runs'] else row['error_type']} ({row['seconds']} s)")
            if n % 10 == 0:
                save_cache(cache)
    finally:
        proc.stdin.close()
        proc.wait()
        save_cache(cache)


def save_cache(cache: dict) -> None:
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_text(json.dumps(cache, indent=0, sort_keys=True))


# -- the corpus ----------------------------------------------------------------------------------------
def model_entries(stems) -> list:
    return [{"id": builder, "file": stem, "builder": builder, "path": str(model_path(stem)),
             "text": full_text(stem, builder), "trace": i == 0}
            for stem in stems for i, builder in enumerate(BUILDERS[stem][1])]


def mutant_entries(stems, cache: dict) -> list:
    out = []
    for stem in stems:
        side, builders = BUILDERS[stem]
        text = full_text(stem, builders[0])
        primary = cache.get(_key(text))
        if primary is None or not primary.get("runs"):
            continue
        executed = set(primary.get("executed", ()))
        file_lines = model_path(stem).read_text().count("\n")
        cands = [m for m in keras_mutate.candidates(text) if m.line <= file_lines]
        picked = keras_mutate.select(cands, executed, seed=stem, count=MUTANTS_PER_FILE)
        picked += keras_mutate.driver_mutations(text, side, data_line(text))
        for m in picked:
            mutated = m.apply(text)
            assert mutated.count("\n") == text.count("\n")
            out.append({"id": f"{stem}:{m.line}:{m.layer}.{m.param}", "file": stem, "builder": builders[0],
                        "path": str(model_path(stem)), "text": mutated, "mutation": m, "base": text})
    return out


# -- static side ---------------------------------------------------------------------------------------
OPTIONS = Options(loader=FileLoader(include_site_packages=False))


def _static_out(text: str, path: str, options: Options = OPTIONS):
    """analyze(), the value the driver's `out` got, and every rule the analysis applied in order as
    (line, layer, inputs known (None where it took no tensor), output known). The engine keeps neither top-level names nor a log of
    rule calls in its result, so the corpus (not shapels) wraps three of its functions for one analysis."""
    seen: dict = {"calls": []}
    run_driver, parse, apply_rule = engine._run_driver, engine.parse_module, calls.apply_rule

    def parse_module(source):
        seen["module"] = parse(source)
        return seen["module"]

    def recording_driver(interp, module, failures):
        run_driver(interp, module, failures)
        seen["out"] = interp.globals.get("out")

    def recording_rule(interp, rule, qualname, layer, args, kwargs, frame, node):
        value = apply_rule(interp, rule, qualname, layer, args, kwargs, frame, node)
        tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
        tensors += [i for a in args if isinstance(a, (ListValue, Seq)) for i in a.items if isinstance(i, Tensor)]
        inputs_known = all(known(t) for t in tensors) if tensors else None  # None: no tensor in (Input, np.zeros)
        seen["calls"].append((node, qualname.rsplit(".", 1)[-1], inputs_known, known(value)))
        return value

    engine._run_driver, engine.parse_module, calls.apply_rule = recording_driver, parse_module, recording_rule
    try:
        result = analyze(text, path, options)
    finally:
        engine._run_driver, engine.parse_module, calls.apply_rule = run_driver, parse, apply_rule
    ranges = node_ranges(seen["module"]) if "module" in seen else {}
    applied = [(ranges[node][0] if node in ranges else None, name, known, out) for node, name, known, out in seen["calls"]]
    return result, seen.get("out"), applied


def first_loss(applied: list) -> str:
    """Where the static shape first became unknown: the first rule applied whose output is not concrete."""
    for line, name, known, out in applied:
        if not out:
            how = ("lost by the rule" if known else "made without a known shape" if known is None else
                   "its input already unknown (lost outside a layer rule)")
            return f"line {line} {name}: {how}"
    return ""


def concrete(value):
    shape = value.shape if isinstance(value, Tensor) else None
    if shape is None or not shape.ranked:
        return None
    dims = [D.as_int(d) for d in shape.dims]
    return None if any(d is None for d in dims) else dims


def known(value) -> bool:
    """A tensor whose every dim is an integer or Keras's None (a keras.Input's batch)."""
    shape = value.shape if isinstance(value, Tensor) else None
    return shape is not None and shape.ranked and all(D.as_int(d) is not None or is_none_dim(d) for d in shape.dims)


def _show(value) -> str:
    return value.shape.show() if isinstance(value, Tensor) else "?"


def _internal(result) -> int:
    """Internal errors of the engine (a statement it could not finish), noted as information findings."""
    return sum(1 for f in result.findings if f.code == ANALYSIS_INTERNAL_ERROR)


def _fix_lines(f) -> list:
    """The lines a finding's fixes edit (the verified fix, its alternatives, and each one's further edits)."""
    lines = []
    for fix in ([f.fix] if f.fix is not None else []) + list(f.alternatives):
        lines += [span.start_line for span, _ in fix.edits() if span is not None]
    return sorted(set(lines))


def _errors(result) -> list:
    return [{"code": f.code, "line": f.span.start_line, "end_line": f.span.end_line, "message": f.message[:300],
             "fix_lines": _fix_lines(f), "related_lines": sorted({r.span.start_line for r in f.related if r.span})}
            for f in result.findings if f.severity == "error"]


def eval_model(entry: dict, label: dict) -> dict:
    started = time.perf_counter()
    result, out, applied = _static_out(entry["text"], entry["path"])
    inferred = concrete(out)
    return {"builder": entry["builder"], "file": entry["file"], "runs": label["runs"],
            "label": label.get("output_shape") if label["runs"] else f"{label['error_type']}: {label['error'][:120]}",
            "seconds": round(time.perf_counter() - started, 2), "partial": result.partial,
            "errors": _errors(result), "internal": _internal(result), "output": inferred if inferred is not None else _show(out),
            "output_exact": label["runs"] and inferred == label.get("output_shape"),
            "first_unknown": first_loss(applied) or ("" if inferred is not None else
                                                      "every layer known; the call model(x) gave no shape")}


def eval_mutant(entry: dict, label: dict, base_errors: set) -> dict:
    m = entry["mutation"]
    result, _, applied = _static_out(entry["text"], entry["path"])
    errors = _errors(result)
    new = [e for e in errors if (e["code"], e["line"]) not in base_errors]
    row = {"id": entry["id"], "file": entry["file"], "layer": m.layer, "param": m.param, "line": m.line,
           "change": f"{m.original} -> {m.new}", "fails": not label["runs"], "partial": result.partial,
           "label": "runs" if label["runs"] else f"{label['error_type']} at line {label.get('line')}: {label['error'][:160]}",
           "errors": new, "internal": _internal(result), "detected": bool(new),
           "on_line": any(e["line"] <= m.line <= e["end_line"] for e in new),
           "at_keras_line": not label["runs"] and any(e["line"] <= (label.get("line") or 0) <= e["end_line"] for e in new),
           "names_line": any(e["line"] <= m.line <= e["end_line"] or m.line in e["fix_lines"] or m.line in e["related_lines"]
                             for e in new)}
    if row["fails"] and not row["detected"]:
        row["triage"] = triage(m, applied)
    return row


def triage(mutation, applied: list) -> str:
    """Why a failing mutant was missed: was the mutated layer applied, and on known shapes."""
    if mutation.layer == "driver":
        return ("driver data that passes the model's input check (a last axis of 1 is not compared, as in Keras); "
                "the layers built for the Input's shape are not re-applied to the data's")
    at = [(known, out) for line, _, known, out in applied
          if line is not None and mutation.call_line <= line <= mutation.call_end_line]
    if not at:
        return "mutated layer never applied to a tensor"
    if not any(known for known, _ in at):
        loss = first_loss(applied)
        return "mutated layer applied to an unknown shape" + (f" (first unknown at {loss})" if loss else "")
    return "mutated layer applied to known shapes; no error where Keras fails"


# -- the whole run -----------------------------------------------------------------------------------------
def evaluate(stems=None, progress=print, label=True) -> dict:
    stems = list(stems or BUILDERS)
    cache = load_cache()
    models = model_entries(stems)
    if label:
        label_all(models, cache, progress)
    mutants = mutant_entries(stems, cache)
    if label:
        label_all(mutants, cache, progress)
    model_rows, mutant_rows = [], []
    base_errors: dict = {}
    unlabelled = sum(1 for entry in models + mutants if _key(entry["text"]) not in cache)
    for entry in models:
        lab = cache.get(_key(entry["text"]))
        if lab is None:
            continue
        row = eval_model(entry, lab)
        model_rows.append(row)
        if entry["trace"]:
            base_errors[entry["file"]] = {(e["code"], e["line"]) for e in row["errors"]}
        progress(f"  static {row['builder']}: {len(row['errors'])} errors, output {row['output']} ({row['seconds']} s)")
    for entry in mutants:
        lab = cache.get(_key(entry["text"]))
        if lab is None:
            continue
        row = eval_mutant(entry, lab, base_errors.get(entry["file"], set()))
        mutant_rows.append(row)
        progress(f"  static {row['id']}: {'fails' if row['fails'] else 'runs'}, "
                 f"{'detected' if row['detected'] else '-'}")
    return {"keras": keras_version(), "models": model_rows, "mutants": mutant_rows,
            "summary": {**summarize(model_rows, mutant_rows), "unlabelled": unlabelled}}


def summarize(models: list, mutants: list) -> dict:
    failing = [m for m in mutants if m["fails"]]
    detected = [m for m in failing if m["detected"]]
    running = [m for m in mutants if not m["fails"]]
    ran = [m for m in models if m["runs"]]
    return {
        "models": len(models), "models_run": len(ran),
        "false_positives": sum(1 for m in models if m["errors"]),
        "output_exact": sum(m["output_exact"] for m in ran) / len(ran) if ran else 0.0,
        "mutants": len(mutants), "failing": len(failing), "running": len(running),
        "detected": len(detected), "recall": len(detected) / len(failing) if failing else 0.0,
        "on_line": sum(m["on_line"] for m in detected) / len(detected) if detected else 0.0,
        "at_keras_line": sum(m["at_keras_line"] for m in detected) / len(detected) if detected else 0.0,
        "names_line": sum(m["names_line"] for m in detected) / len(detected) if detected else 0.0,
        "alarms_on_running": sum(1 for m in running if m["errors"]),
        "partial": sum(1 for r in models + mutants if r["partial"]),
        "internal": sum(1 for r in models + mutants if r["internal"]),
    }


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render(report: dict) -> str:
    s = report["summary"]
    lines = [
        "# Keras corpus results",
        "",
        f"Keras {report['keras']}'s own application files (keras/src/applications, read in place from the installed "
        "package), on the torch backend. Made by `.venv/bin/python corpus/keras_apps.py`; see corpus/README.md "
        "(\"The Keras corpus\").",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| builders (run) | {s['models']} ({s['models_run']}) | |",
        f"| false alarms on unmutated builders | {s['false_positives']} | 0 |",
        f"| output shape exact | {_pct(s['output_exact'])} | >= 80% |",
        f"| mutants: fail / run | {s['failing']} / {s['running']} | |",
        f"| recall on mutants that fail | {_pct(s['recall'])} ({s['detected']}/{s['failing']}) | >= 90% |",
        f"| detected on the mutated line | {_pct(s['on_line'])} | >= 90% |",
        f"| detected on the line Keras's error comes from | {_pct(s['at_keras_line'])} | |",
        f"| detected, the mutated line named (the error, its fix or its chain) | {_pct(s['names_line'])} | |",
        f"| errors on mutants that run | {s['alarms_on_running']} | 0 |",
        f"| analyses that hit the time budget | {s['partial']} | 0 |",
        f"| analyses with an internal error | {s['internal']} | 0 |",
        f"| builders and mutants without a label (left out) | {s['unlabelled']} | 0 |",
        "",
        "## Builders",
        "",
        "| builder | run | static output | errors | seconds | static shape first unknown |",
        "|---|---|---|---|---|---|",
    ]
    for m in report["models"]:
        errs = "; ".join(f"{e['line']}: {e['code']}" for e in m["errors"]) or "0"
        lines.append(f"| {m['builder']} | {m['label']} | {m['output']}{' (exact)' if m['output_exact'] else ''} "
                     f"| {errs} | {m['seconds']} | {m['first_unknown']} |")
    lines += ["", "## Mutants", "", "| mutant | change | run | static | on line | triage |", "|---|---|---|---|---|---|"]
    for m in report["mutants"]:
        static = "; ".join(f"{e['line']}: {e['code']}" for e in m["errors"]) or "-"
        label = m["label"].replace("|", "/").replace("\n", " ")
        lines.append(f"| {m['id']} | `{m['change']}` | {label} | {static} | {'yes' if m['on_line'] else ''} "
                     f"| {m.get('triage', '')} |")
    misses = collections.Counter(m["triage"].split(" (")[0] for m in report["mutants"] if "triage" in m)
    if misses:
        lines += ["", "## Misses, triaged", "", "| why | mutants |", "|---|---|"]
        lines += [f"| {why} | {n} |" for why, n in misses.most_common()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--only", nargs="*", help="file stems (default: all)")
    parser.add_argument("--no-label", action="store_true", help="use cached labels only")
    parser.add_argument("--json", help="write the whole report as JSON here")
    args = parser.parse_args(argv)
    if not sources_present():
        print(f"keras application sources not found under {keras_dir()}", file=sys.stderr)
        return 2
    report = evaluate(args.only, label=not args.no_label)
    text = render(report)
    print(text.split("## Builders")[0])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    if not args.no_write and not args.only:
        RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
