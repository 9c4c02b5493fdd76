"""The Keras corpus, second part: the keras-io examples (vision, nlp, timeseries, structured_data), as ported
to Keras 3 in keras-team/keras-core's examples/keras_io at commit 3a464f90 (the keras-io repository itself is
over the size the search tool's `fetch` brings here; keras-core's copies are the same examples, written for
Keras 3). Read as files, never committed.

Each example (corpus/keras_io_examples.py) keeps its own model-building statements, its data stands in as fake
arrays of the real data's shapes, and a driver calls the model on a small batch (`out`) and fits one epoch
where the example trains on arrays. Labels: corpus/keras_label.py runs the text with KERAS_BACKEND=torch,
cached in the git-ignored .tools/keras_io/labels.json under the text's sha256. Mutants: corpus/keras_mutate.py's
layer-argument operators on the constructor calls the unmutated run executes, and the example's data mutants.
Static side and metrics: corpus/keras_apps.py's (false alarms on the unmutated examples, output shape exact,
recall on the mutants that fail, on the mutated line, errors on the mutants that run).

Sources: `git show 3a464f90…:examples/keras_io/<path>` from a keras-core git directory: --git-dir, else
.tools/keras-core, else the search tool's mirror /work/.mirror/keras-team+keras-core/repo. They are written to
.tools/keras_io/src/, the extracted texts (what is labelled and analysed) to .tools/keras_io/extract/.

Usage: .venv/bin/python corpus/keras_io.py [--no-write] [--only NAME ...] [--no-label] [--json FILE]
(about 15 minutes unlabelled on 2 cores, 2 once labelled). Writes the keras-io section of corpus/KERAS_RESULTS.md.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:  # this checkout's shapels, not the one an editable install may point at
    sys.path.insert(1, str(ROOT))

import keras_apps  # noqa: E402
import keras_mutate  # noqa: E402
from keras_io_examples import EXAMPLES, SKIPPED  # noqa: E402
from mutate import Mutation  # noqa: E402

COMMIT = "3a464f904dc8dd09de9c51d248a7fe7c575d7f3e"
PREFIX = "examples/keras_io/"
WORK = ROOT / ".tools" / "keras_io"
GIT_DIRS = [ROOT / ".tools" / "keras-core", Path("/work/.mirror/keras-team+keras-core/repo")]
MUTANTS_PER_FILE = 20
DRIVER_MARK = "\n\n# --- shapels keras-io corpus driver (appended in memory) ---\nimport numpy as np\n"
SECTION = "# keras-io examples"
KEEP_CALLS = {"compile", "add", "build", "adapt"}


def source(path: str, git_dir: Path | None = None) -> str:
    """The example's text at COMMIT (cached in .tools/keras_io/src)."""
    cached = WORK / "src" / path
    if cached.is_file():
        return cached.read_text()
    for candidate in [git_dir] if git_dir else GIT_DIRS:
        if candidate is None or not candidate.exists():
            continue
        shown = subprocess.run(["git", "--git-dir", str(candidate), "show", f"{COMMIT}:{PREFIX}{path}"],
                               capture_output=True, text=True)
        if shown.returncode == 0:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_text(shown.stdout)
            return shown.stdout
    raise FileNotFoundError(f"{PREFIX}{path} at {COMMIT}: no keras-core git directory ({GIT_DIRS})")


def _kept_call(stmt) -> bool:
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in KEEP_CALLS


def extract(name: str, git_dir: Path | None = None) -> str:
    """The example's text as labelled and analysed: kept statements in place, the rest blanked, the data
    substituted, the driver appended."""
    spec = EXAMPLES[name]
    text = source(spec.path, git_dir).replace("keras_core", "keras")
    lines = text.splitlines()
    out = [""] * len(lines)
    for stmt in ast.parse(text).body:
        start, end = stmt.lineno, stmt.end_lineno
        if start in spec.subs:
            out[start - 1] = spec.subs[start]
            continue
        if not any(lo <= start <= hi for lo, hi in spec.keep):
            continue
        if isinstance(stmt, ast.Expr) and not _kept_call(stmt):
            continue
        out[start - 1:end] = lines[start - 1:end]
    missing = set(spec.subs) - {s.lineno for s in ast.parse(text).body}
    assert not missing, f"{name}: a substitution on a line that starts no statement: {sorted(missing)}"
    result = "\n".join(out) + "\n" + DRIVER_MARK + spec.driver
    ast.parse(result)
    return result


def extract_path(name: str) -> Path:
    return WORK / "extract" / f"{name}.py"


def model_entries(names, git_dir: Path | None = None) -> list:
    entries = []
    for name in names:
        text = extract(name, git_dir)
        path = extract_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        entries.append({"id": name, "file": name, "builder": name, "path": str(path), "text": text, "trace": True})
    return entries


def data_mutations(name: str, text: str) -> list:
    """The example's data mutants: each (old, new) must occur once in the text."""
    found = []
    lines = text.splitlines()
    for old, new in EXAMPLES[name].data_mutants:
        at = [(i, line.index(old)) for i, line in enumerate(lines, 1) if old in line]
        assert len(at) == 1 and text.count(old) == 1, f"{name}: data mutant {old!r} is not unique"
        line, col = at[0]
        found.append(Mutation("data", "shape", line, col, line, col + len(old), line, line, old, new))
    return found


def mutant_entries(models: list, cache: dict) -> list:
    out = []
    for model in models:
        text = model["text"]
        primary = cache.get(keras_apps._key(text))
        if primary is None or not primary.get("runs"):
            continue
        driver_start = text.index(DRIVER_MARK)
        example_lines = text[:driver_start].count("\n")
        cands = [m for m in keras_mutate.candidates(text) if m.line <= example_lines]
        picked = keras_mutate.select(cands, set(primary.get("executed", ())), seed=model["id"],
                                       count=min(MUTANTS_PER_FILE, EXAMPLES[model["id"]].mutants))
        picked += data_mutations(model["id"], text)
        for m in picked:
            mutated = m.apply(text)
            assert mutated.count("\n") == text.count("\n")
            out.append({"id": f"{model['id']}:{m.line}:{m.layer}.{m.param}", "file": model["id"],
                        "builder": model["id"], "path": model["path"], "text": mutated, "mutation": m, "base": text})
    return out


def evaluate(names=None, progress=print, label=True, git_dir: Path | None = None) -> dict:
    names = list(names or EXAMPLES)
    keras_apps.CACHE = WORK / "labels.json"  # this corpus's own label cache
    cache = keras_apps.load_cache()
    models = model_entries(names, git_dir)
    if label:
        keras_apps.label_all(models, cache, progress)
    mutants = mutant_entries(models, cache)
    if label:
        keras_apps.label_all(mutants, cache, progress)
    model_rows, mutant_rows, base_errors = [], [], {}
    unlabelled = sum(1 for e in models + mutants if keras_apps._key(e["text"]) not in cache)
    for entry in models:
        lab = cache.get(keras_apps._key(entry["text"]))
        if lab is None:
            continue
        row = keras_apps.eval_model(entry, lab)
        model_rows.append(row)
        base_errors[entry["file"]] = {(e["code"], e["line"]) for e in row["errors"]}
        progress(f"  static {row['builder']}: {len(row['errors'])} errors, output {row['output']} ({row['seconds']} s)")
    for entry in mutants:
        lab = cache.get(keras_apps._key(entry["text"]))
        if lab is None:
            continue
        row = keras_apps.eval_mutant(entry, lab, base_errors.get(entry["file"], set()))
        mutant_rows.append(row)
        progress(f"  static {row['id']}: {'fails' if row['fails'] else 'runs'}, {'detected' if row['detected'] else '-'}")
    return {"keras": keras_apps.keras_version(), "models": model_rows, "mutants": mutant_rows,
            "summary": {**keras_apps.summarize(model_rows, mutant_rows), "unlabelled": unlabelled}}


def render(report: dict) -> str:
    """The keras-io section of KERAS_RESULTS.md: keras_apps's tables under this corpus's heading."""
    body = keras_apps.render(report).split("\n", 1)[1]  # without the application corpus's title
    intro = body.split("| figure |", 1)
    lines = [SECTION, "",
             f"The keras-io examples as ported to Keras 3 in keras-team/keras-core (examples/keras_io at {COMMIT[:8]}), "
             f"{len(report['models'])} of them driven with fake data of their data's shapes, on Keras {report['keras']} "
             "with the torch backend. Made by `.venv/bin/python corpus/keras_io.py`; see corpus/README.md "
             "(\"The Keras corpus\").", "", "| figure |" + intro[1].replace("builders", "examples")]
    lines += ["", "## Not in the corpus", "", "| example | why |", "|---|---|"]
    lines += [f"| {path} | {why} |" for path, why in SKIPPED.items()]
    return "\n".join(lines).replace("\n## ", "\n### ") + "\n"


def write_section(text: str) -> None:
    """Replace (or append) the keras-io section of KERAS_RESULTS.md, leaving the applications' part alone."""
    current = keras_apps.RESULTS.read_text() if keras_apps.RESULTS.is_file() else ""
    head = current.split("\n" + SECTION + "\n", 1)[0].rstrip("\n")
    keras_apps.RESULTS.write_text(head + "\n\n" + text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--only", nargs="*", help="example names (default: all)")
    parser.add_argument("--no-label", action="store_true", help="use cached labels only")
    parser.add_argument("--git-dir", type=Path, help="a keras-core git directory holding the commit")
    parser.add_argument("--json", help="write the whole report as JSON here")
    args = parser.parse_args(argv)
    report = evaluate(args.only, label=not args.no_label, git_dir=args.git_dir)
    text = render(report)
    print(text.split("### Builders")[0])
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    if not args.no_write and not args.only:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
