"""The intent mutation operators on torchvision's classifiers: the wrong input at a real model's driver.

corpus/intent_mutants.py mutates small forum-style programs; this applies its input operators to the
torchvision corpus (corpus/zoo.py: a model file with the driver `model = resnet18(); model.eval();
output = model(torch.randn(1, 3, 224, 224))` appended in memory), one builder per model file (its primary
one) unless --builder names others. The mutants all change the driver's input, the line a person edits:
- drop_batch: `torch.randn(3, 224, 224)`: an image without its batch dim (the driver's batch is one, so the
  batch-of-one program a fix is judged against is the unmutated program itself);
- channels_last: `torch.randn(1, 224, 224, 3)`;
- image_size: the sizes people feed a classifier by mistake (MNIST's 28, CIFAR's 32, 64, 96, 128, Inception's
  299, 384; 224 for Inception itself). Most torchvision classifiers pool adaptively, so most sizes run: those
  mutants count as running, and an error on one is a false alarm.

Labels come from running each text under torch, exactly as intent_mutants.py labels its programs (its worker,
with a forward hook on every module), inside corpus/run_model.py's fake torchvision package. Judging is
intent_mutants.py's: the first error on the mutated line? does its preferred fix, applied and run, give every
module call the unmutated program's shapes (restores), or fold the batch away (batch merged)?

Usage: .venv/bin/python corpus/zoo_intent.py        rewrites corpus/ZOO_INTENT_RESULTS.md (needs the sources
                                                    of `bash corpus/fetch_zoo.sh`; about 15 min on 2 cores
                                                    unlabelled, about 2 min once the labels are cached)
       ... --builder resnet18 [--builder vgg11 ...]  / --operator NAME      table only
Labels are cached in .tools/zoo_intent_labels.json, keyed by the sha256 of the text (model file + driver).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import intent_mutants as im  # noqa: E402
import zoo  # noqa: E402

ROOT = HERE.parent
RESULTS = HERE / "ZOO_INTENT_RESULTS.md"
CACHE = ROOT / ".tools" / "zoo_intent_labels.json"
PACKAGE = "torchvision.models"  # a model file's relative imports (`from ..ops.misc import ...`) resolve here
OPERATORS = ["drop_batch", "channels_last", "image_size"]
# Sizes people feed an ImageNet classifier by mistake; the builder's own size is left out.
MISTAKEN_SIZES = [28, 32, 64, 96, 128, 224, 299, 384]
RUN_TIMEOUT = 180.0  # seconds per labelling run: the largest models at 384 take a while on one thread


def primary_builders() -> list:
    return [builders[0] for builders in zoo.BUILDERS.values()]


def stem_of(builder: str) -> str:
    for stem, builders in zoo.BUILDERS.items():
        if builder in builders:
            return stem
    raise KeyError(f"{builder} is no builder of the torchvision corpus (corpus/zoo.py)")


def program(builder: str) -> tuple:
    """(the model file's path, its text with the driver appended, the driver's first line)."""
    path = zoo.model_path(stem_of(builder))
    source = path.read_text()
    return path, source + zoo.driver(builder), len(source.splitlines()) + 1


def op_image_size(name: str, finder, own: int) -> list:
    """The driver's image at each mistaken size other than its own (square, as the driver's is)."""
    out = []
    for _, sizes, box in finder.factories:
        if im._image(finder, sizes):
            for side in MISTAKEN_SIZES:
                if side != own:
                    out.append(im._resize(name, "image_size", finder, sizes, box, [0, 1, 2, 3],
                                          {2: str(side), 3: str(side)}))
    return out


def mutants(builder: str, text: str, driver_line: int, operators=OPERATORS) -> list:
    """The input operators on the driver's factory call (never on a factory inside the model file)."""
    _, finder = im.find(text)
    finder.factories = [f for f in finder.factories if finder.pos(f[0]).start.line >= driver_line]
    out = []
    for op in operators:
        if op == "image_size":
            found = op_image_size(builder, finder, zoo.input_size(builder)[2])
        else:
            found = getattr(im, f"op_{op}")(builder, finder)
        out += [m for m in found if m is not None and m.new != m.original]
    return out


def analysis_options():
    """`shapels check`'s options, as corpus/evaluate.py analyses the zoo: imports resolve beside the file."""
    from shapels.analysis.engine import Options
    from shapels.imports import FileLoader

    return Options(loader=FileLoader(include_site_packages=False))


def evaluate_builder(builder: str, labeller: im.Labeller, operators=OPERATORS) -> dict:
    path, text, driver_line = program(builder)
    base = labeller.label(text, str(path))
    options = analysis_options()
    static = im.shapels_errors(text, str(path), options)
    row = {"program": builder, "runs": base["runs"], "error": base["error"], "base_errors": static["errors"],
           "base_crash": static["crash"], "mutants": []}
    if base["runs"]:
        for m in mutants(builder, text, driver_line, operators):
            row["mutants"].append(im.evaluate_mutant(m, text, path, base, labeller, options))
    return row


def labeller(cache=CACHE) -> im.Labeller:
    return im.Labeller(cache=cache, timeout=RUN_TIMEOUT, script=Path(__file__).resolve(), package=PACKAGE)


def _forget_registered(job: dict) -> None:
    """Each text re-executes a model file, whose @register_model refuses a name registered before."""
    import torchvision.models._api as api  # the fake package's (corpus/run_model.py)

    api.BUILTIN_MODELS.clear()


def worker() -> None:
    import run_model

    run_model.setup()
    im.worker(before_each=_forget_registered)


def running_sizes(rows: list) -> list:
    """Per builder, the image sizes that ran and those that failed (the false-alarm check's ground)."""
    out = ["## Image sizes per builder", "", "| builder | own size | sizes that run | sizes that fail |",
           "|---|---|---|---|"]
    for row in rows:
        sizes = {True: [], False: []}
        for e in row["mutants"]:
            if e["operator"] == "image_size":
                sizes[not e["fails"]].append(e["new"].split(", ")[2])
        out.append(f"| {row['program']} | {zoo.input_size(row['program'])[2]} | {', '.join(sizes[True]) or '-'} "
                   f"| {', '.join(sizes[False]) or '-'} |")
    return out


def render(rows: list, operators=OPERATORS) -> str:
    entries = [e for r in rows for e in r["mutants"]]
    intro = ["# The intent mutation operators on torchvision's classifiers", "",
             "Written by `.venv/bin/python corpus/zoo_intent.py` (see its docstring). "
             f"{len(rows)} torchvision builders (each model file's primary one), each as its model file with the "
             "corpus driver appended (`model = resnet18(); model.eval(); output = model(torch.randn(1, 3, 224, "
             f"224))`); {len(entries)} mutants of the driver's input, each labelled by running it with torch. "
             "The driver's batch is one, so a drop_batch mutant's batch-of-one reference is the unmutated program. "
             "Columns as in corpus/INTENT_RESULTS.md."]
    text = im.render(rows, intro, operators)
    return text + "\n" + "\n".join(running_sizes(rows)) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builder", action="append", help="only these builders (default: each file's primary)")
    parser.add_argument("--operator", choices=OPERATORS, help="only this operator")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker()
        return 0
    if not zoo.sources_present():
        print("torchvision sources missing: run `bash corpus/fetch_zoo.sh`", file=sys.stderr)
        return 3
    builders = args.builder or primary_builders()
    for builder in builders:
        try:
            stem_of(builder)
        except KeyError as error:
            parser.error(str(error))
    operators = [args.operator] if args.operator else OPERATORS
    lab = labeller()
    started = time.monotonic()
    rows = []
    try:
        for builder in builders:
            rows.append(evaluate_builder(builder, lab, operators))
            row = rows[-1]
            print(f"  {builder}: {'runs' if row['runs'] else 'FAILS ' + str(row['error'])}, {len(row['mutants'])} "
                  f"mutants, {sum(e['fails'] for e in row['mutants'])} failing", file=sys.stderr, flush=True)
    finally:
        lab.save()
        lab.close()
    print("\n".join(im.table(rows, operators)))
    fps = sum(len(r["base_errors"]) for r in rows)
    print(f"\n{len(rows)} builders, {fps} error-level findings on them (false positives), "
          f"{time.monotonic() - started:.0f} s")
    if args.builder is None and args.operator is None:
        RESULTS.write_text(render(rows, operators))
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
