"""The intent mutation operators on torchvision's and timm's classifiers: the wrong input at a real model's driver.

corpus/intent_mutants.py mutates small forum-style programs; this applies its input operators to real model
files with a driver appended in memory. torchvision (default): corpus/zoo.py's driver `model = resnet18();
model.eval(); output = model(torch.randn(1, 3, 224, 224))`, one builder per model file (its primary one)
unless --model names others. timm (`--library timm`): the 15 models corpus/timm_sweep.py drives, each built
at the end of the file defining its class (corpus/timm_mutants.py's driver). The mutants all change the
driver's input, the line a person edits:
- drop_batch: `torch.randn(3, 224, 224)`: an image without its batch dim (the driver's batch is one, so the
  batch-of-one program a fix is judged against is the unmutated program itself);
- channels_last: `torch.randn(1, 224, 224, 3)`;
- image_size: the sizes people feed a classifier by mistake (MNIST's 28, CIFAR's 32, 64, 96, 128, 224,
  Inception's 299, 384; the model's own size left out). Most classifiers pool adaptively, so most sizes run:
  those mutants count as running, and an error on one is a false alarm.

Labels come from running each text under torch, exactly as intent_mutants.py labels its programs (its worker,
with a forward hook on every module): for torchvision inside corpus/run_model.py's fake torchvision package,
for timm with its sources on the path (torchvision and PIL as corpus/timm_run.py's stand-ins) in
.tools/timm-intent-venv (made on first use: this interpreter's site-packages through a .pth line, and numpy,
which timm needs). Judging is intent_mutants.py's: the first error on the mutated line? does its preferred
fix, applied and run, give every module call the unmutated program's shapes (restores), or fold the batch
away (batch merged)?

Usage: .venv/bin/python corpus/zoo_intent.py        rewrites corpus/ZOO_INTENT_RESULTS.md (needs the sources
                                                    of `bash corpus/fetch_zoo.sh`; about 2 min on 2 cores)
       ... --library timm                           rewrites corpus/TIMM_INTENT_RESULTS.md (fetches timm
                                                    1.0.31's wheel with pip; about 9 min from scratch)
       ... --model resnet18 [--model vgg11 ...] / --operator NAME          table only
Labels are cached in .tools/zoo_intent_labels.json and .tools/timm_intent_labels.json, keyed by the sha256 of
the text (model file + driver).
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
if str(ROOT) not in sys.path:  # this checkout's shapels, not the one an editable install may point at
    sys.path.insert(1, str(ROOT))
OPERATORS = ["drop_batch", "channels_last", "image_size"]
# Sizes people feed an ImageNet classifier by mistake; the model's own size is left out.
MISTAKEN_SIZES = [28, 32, 64, 96, 128, 224, 299, 384]
RUN_TIMEOUT = 180.0  # seconds per labelling run: the largest models at 384 take a while on one thread
TIMM_VERSION = "1.0.31"  # as corpus/timm_mutants.py
TIMM_VENV = ROOT / ".tools" / "timm-intent-venv"
TIMM_DEPENDENCIES = ["numpy==2.4.6"]


class Program:
    """One model file with its driver: `name` (a builder, a timm model), the file, its text with the driver
    appended, the driver's first line, and the driver's image side."""

    def __init__(self, name: str, path: Path, source: str, driver: str, side: int):
        self.name, self.path, self.side = name, path, side
        self.text = source + driver
        self.driver_line = len(source.splitlines()) + 1


class Torchvision:
    """torchvision's classifiers (corpus/zoo.py), run inside corpus/run_model.py's fake package."""

    name = "torchvision"
    results = HERE / "ZOO_INTENT_RESULTS.md"
    cache = ROOT / ".tools" / "zoo_intent_labels.json"

    def names(self) -> list:
        return [builders[0] for builders in zoo.BUILDERS.values()]  # each file's primary builder

    def missing(self) -> str | None:
        return None if zoo.sources_present() else "torchvision sources missing: run `bash corpus/fetch_zoo.sh`"

    def program(self, builder: str) -> Program:
        stems = [stem for stem, builders in zoo.BUILDERS.items() if builder in builders]
        if not stems:
            raise KeyError(f"{builder} is no builder of the torchvision corpus (corpus/zoo.py)")
        path = zoo.model_path(stems[0])
        return Program(builder, path, path.read_text(), zoo.driver(builder), zoo.input_size(builder)[2])

    def options(self):
        """`shapels check`'s options, as corpus/evaluate.py analyses the zoo: imports resolve beside the file."""
        from shapels.analysis.engine import Options
        from shapels.imports import FileLoader

        return Options(loader=FileLoader(include_site_packages=False))

    def command(self) -> list:
        return [sys.executable, str(Path(__file__).resolve()), "--worker", self.name]

    @staticmethod
    def serve(args: list) -> None:
        import run_model

        run_model.setup()

        def prepare(job: dict) -> None:
            # relative imports (`from ..ops.misc import ...`) resolve in the fake package
            job["module"] = f"torchvision.models.{Path(job['path']).stem}"
            import torchvision.models._api as api  # the fake package's

            # each text re-executes a model file, whose @register_model refuses a name registered before
            api.BUILTIN_MODELS.clear()

        im.worker(before_each=prepare)

    def describe(self, rows: list, entries: list) -> str:
        return (f"{len(rows)} torchvision builders (each model file's primary one), each as its model file with the "
                "corpus driver appended (`model = resnet18(); model.eval(); output = model(torch.randn(1, 3, 224, "
                f"224))`), run inside corpus/run_model.py's fake torchvision package; {len(entries)} mutants of the "
                "driver's input")


class Timm:
    """The models corpus/timm_sweep.py drives, each built at the end of the file defining its class."""

    name = "timm"
    results = HERE / "TIMM_INTENT_RESULTS.md"
    cache = ROOT / ".tools" / "timm_intent_labels.json"

    def __init__(self):
        from wheels import fetch

        self.src = fetch("timm", TIMM_VERSION)

    def names(self) -> list:
        from timm_sweep import MODELS

        return list(MODELS)

    def missing(self) -> str | None:
        return None

    def program(self, name: str) -> Program:
        from timm_mutants import defining_module, driver
        from timm_sweep import MODELS

        if name not in MODELS:
            raise KeyError(f"{name} is no model of the timm corpus (corpus/timm_sweep.py)")
        imports, constructor, side = MODELS[name]
        module = defining_module(imports)
        path = self.src / (module.replace(".", "/") + ".py")
        return Program(name, path, path.read_text(), driver(imports, constructor, side, module), side)

    def options(self):
        """corpus/timm_mutants.py's: imports resolve in timm's sources (and torchvision's), a 20 s budget."""
        from package_sweep import loader
        from shapels.analysis.engine import Options

        return Options(loader=loader(self.src), budget_seconds=20)

    def command(self) -> list:
        from wheels import venv_beside_project

        python = venv_beside_project(TIMM_VENV, TIMM_DEPENDENCIES)
        return [str(python), str(Path(__file__).resolve()), "--worker", self.name, str(self.src)]

    @staticmethod
    def serve(args: list) -> None:
        import timm_run

        src = Path(args[0])
        sys.path.insert(0, str(src))
        sys.meta_path.insert(0, timm_run._Finder(None, None, None))  # torchvision and PIL as stand-ins

        def prepare(job: dict) -> None:
            # under the real module's name: timm's @register_model looks its module up in sys.modules
            job["module"] = ".".join(Path(job["path"]).relative_to(src).with_suffix("").parts)

        im.worker(before_each=prepare)

    def describe(self, rows: list, entries: list) -> str:
        return (f"{len(rows)} timm {TIMM_VERSION} models (corpus/timm_sweep.py's), each as the file defining its "
                "class with corpus/timm_mutants.py's driver appended (`model = ResNet(BasicBlock, [2, 2, 2, 2]); "
                "model.eval(); out = model(torch.randn(1, 3, 224, 224))`), run with timm's sources on the path; "
                f"{len(entries)} mutants of the driver's input")


LIBRARIES = {"torchvision": Torchvision, "timm": Timm}


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


def mutants(program: Program, operators=OPERATORS) -> list:
    """The input operators on the driver's factory call (never on a factory inside the model file)."""
    _, finder = im.find(program.text)
    finder.factories = [f for f in finder.factories if finder.pos(f[0]).start.line >= program.driver_line]
    out = []
    for op in operators:
        if op == "image_size":
            found = op_image_size(program.name, finder, program.side)
        else:
            found = getattr(im, f"op_{op}")(program.name, finder)
        out += [m for m in found if m is not None and m.new != m.original]
    return out


def evaluate(program: Program, labeller: im.Labeller, options, operators=OPERATORS) -> dict:
    path, text = program.path, program.text
    base = labeller.label(text, str(path))
    static = im.shapels_errors(text, str(path), options)
    row = {"program": program.name, "side": program.side, "runs": base["runs"], "error": base["error"],
           "base_errors": static["errors"], "base_crash": static["crash"], "mutants": []}
    if base["runs"]:
        for m in mutants(program, operators):
            row["mutants"].append(im.evaluate_mutant(m, text, path, base, labeller, options))
    return row


def labeller(library, cache=...) -> im.Labeller:
    """The library's labelling worker; `cache=None` labels afresh without a cache file."""
    return im.Labeller(cache=library.cache if cache is ... else cache, timeout=RUN_TIMEOUT,
                       command=library.command())


def running_sizes(rows: list) -> list:
    """Per model, the image sizes that ran and those that failed (the false-alarm check's ground)."""
    out = ["## Image sizes per model", "", "| model | own size | sizes that run | sizes that fail |",
           "|---|---|---|---|"]
    for row in rows:
        sizes = {True: [], False: []}
        for e in row["mutants"]:
            if e["operator"] == "image_size":
                sizes[not e["fails"]].append(e["new"].split(", ")[2])
        out.append(f"| {row['program']} | {row['side']} | {', '.join(sizes[True]) or '-'} "
                   f"| {', '.join(sizes[False]) or '-'} |")
    return out


def render(library, rows: list, operators=OPERATORS) -> str:
    entries = [e for r in rows for e in r["mutants"]]
    flag = "" if library.name == "torchvision" else f" --library {library.name}"
    intro = [f"# The intent mutation operators on {library.name}'s classifiers", "",
             f"Written by `.venv/bin/python corpus/zoo_intent.py{flag}` (see its docstring). "
             f"{library.describe(rows, entries)}, each labelled by running it with torch. The driver's batch is "
             "one, so a drop_batch mutant's batch-of-one reference is the unmutated program. Columns as in "
             "corpus/INTENT_RESULTS.md."]
    text = im.render(rows, intro, operators)
    return text + "\n" + "\n".join(running_sizes(rows)) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        LIBRARIES[argv[1]].serve(argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", choices=sorted(LIBRARIES), default="torchvision")
    parser.add_argument("--model", "--builder", action="append",
                        help="only these models (default: torchvision's primary builders, timm's driven models)")
    parser.add_argument("--operator", choices=OPERATORS, help="only this operator")
    args = parser.parse_args(argv)
    library = LIBRARIES[args.library]()
    if library.missing():
        print(library.missing(), file=sys.stderr)
        return 3
    try:
        programs = [library.program(name) for name in args.model or library.names()]
    except KeyError as error:
        parser.error(str(error))
    operators = [args.operator] if args.operator else OPERATORS
    options = library.options()
    lab = labeller(library)
    started = time.monotonic()
    rows = []
    try:
        for program in programs:
            rows.append(evaluate(program, lab, options, operators))
            row = rows[-1]
            print(f"  {program.name}: {'runs' if row['runs'] else 'FAILS ' + str(row['error'])}, "
                  f"{len(row['mutants'])} mutants, {sum(e['fails'] for e in row['mutants'])} failing",
                  file=sys.stderr, flush=True)
    finally:
        lab.save()
        lab.close()
    print("\n".join(im.table(rows, operators)))
    fps = sum(len(r["base_errors"]) for r in rows)
    print(f"\n{len(rows)} models, {fps} error-level findings on them (false positives), "
          f"{time.monotonic() - started:.0f} s")
    if args.model is None and args.operator is None:
        library.results.write_text(render(library, rows, operators))
        print(f"wrote {library.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
