"""The training-script corpus (issue 23): pytorch/examples' training scripts, read by shapels as files, and
one-change mutants of them, each labelled by running it for a batch or two on fake data.

The scripts come from pytorch/examples at COMMIT (read with `git show`, never a work tree: the repository
holds large data files). The unmutated script is the truth of intent. Each mutant changes ONE place of the
script, on one line (lines never move), on a line the unmutated run executed (option defaults anywhere):
  option_default  an argparse option's int default that sizes something (batch, image, hidden size, ...),
                  doubled or halved;
  transform_size  the size of a Resize/CenterCrop/RandomCrop, doubled or halved;
  target          the target of a loss call: `t.unsqueeze(1)`, `t.view(-1, 1)`, or one-hot of a wrong width;
  loss_swap       the loss swapped (MSELoss <-> CrossEntropyLoss, BCELoss -> NLLLoss, F.nll_loss ->
                  F.mse_loss, ...);
  output_width    the width of the last layer a model class builds (out_features / out_channels), doubled.

Labels come from running (`--worker`, in the interpreter of `--python`, default .tools/vision-venv: torch
2.14.1 and torchvision 0.29.1, made by `bash scripts/vision-venv.sh`). Each script runs offline and fast in a
temp dir, its text untouched: the torchvision datasets it names are torchvision's FakeData with the
dataset's own sample shape, classes and length (samples are made lazily: only the batches read cost);
folders it reads get a few fake images or words; every DataLoader yields at most two batches and loads in
the process (num_workers=0), and a loader iterated a second time (the next epoch) ends the run as a success;
`torch.multiprocessing.Process` runs its target in place (so a failure in it is the script's). The run records whether it fails, its error and the
innermost line in the script, and (for the unmutated scripts) the shapes the tensors named in the script's
functions held, for the hover comparison. Labels are cached in .tools/script_labels.json by the sha256 of
the job. A failure counts when it is a shape error (RuntimeError, ValueError, IndexError, AssertionError).

The static side: `shapels.analysis.engine.analyze(text, path)` on the script as a file, its sibling modules
on the loader, command-line options the run passes given as `Options.args`. Metrics as the other corpora:
error-level findings on unmutated scripts (false alarms), recall on the mutants that fail, on the mutated
line, errors on the mutants that run, over all scripts and over those whose data loop shapels follows (a name
in one gets a tensor shape); and the shapes bound in the scripts' data loops (hover) against the run.

Usage: .venv/bin/python corpus/script_mutants.py        writes corpus/SCRIPT_MUTANTS.md
       ... --source DIR      a clone of pytorch/examples (default: .tools/pytorch-examples, cloned from
                             GitHub when missing)
       ... --script NAME     one script, table only
       ... --cap N           N mutants per script and operator (default 8), table only
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COMMIT = "77f55b912142e11fcfdf5b530231fb9c52f181e8"
URL = "https://github.com/pytorch/examples"
SOURCE = ROOT / ".tools" / "pytorch-examples"
FILES = ROOT / ".tools" / "script_corpus"  # the scripts as files, where shapels reads them
CACHE = ROOT / ".tools" / "script_labels.json"
RESULTS = HERE / "SCRIPT_MUTANTS.md"
PYTHON = ROOT / ".tools" / "vision-venv" / "bin" / "python"
LABEL_VERSION = 1
CAP = 8  # mutants per script per operator (sampled, seeded by script and operator)
RUN_TIMEOUT = 180.0


@dataclass
class Script:
    name: str
    entry: str  # path in the repository
    siblings: tuple = ()  # modules it imports from its folder
    args: dict = field(default_factory=dict)  # command-line options the run passes (dest = flag), also Options.args
    folders: dict = field(default_factory=dict)  # dir (relative to the script's folder) -> (count, width, height)
    words: tuple = ()  # text files (relative) given a few lines of fake words
    stand_ins: tuple = ()  # modules imported for a path never taken, stood in for where missing


SCRIPTS = [
    Script("mnist", "mnist/main.py"),
    Script("vae", "vae/main.py", folders={"results": (0, 0, 0)}),
    Script("mnist_rnn", "mnist_rnn/main.py"),
    Script("mnist_hogwild", "mnist_hogwild/main.py", siblings=("mnist_hogwild/train.py",)),
    Script("siamese_network", "siamese_network/main.py"),
    Script("dcgan", "dcgan/main.py", args={"dataset": "cifar10", "dataroot": "data"}),
    Script("super_resolution", "super_resolution/main.py",
           siblings=("super_resolution/model.py", "super_resolution/data.py", "super_resolution/dataset.py"),
           args={"upscale_factor": 3}, stand_ins=("six.moves",),
           folders={"dataset/BSDS300/images/train": (4, 481, 321), "dataset/BSDS300/images/test": (2, 481, 321)}),
    Script("word_language_model", "word_language_model/main.py",
           siblings=("word_language_model/model.py", "word_language_model/data.py"),
           words=("data/wikitext-2/train.txt", "data/wikitext-2/valid.txt", "data/wikitext-2/test.txt")),
]

# torchvision datasets as the fake stands in for them: sample shape (C, H, W), classes, (train, test) lengths.
FAKE_DATASETS = {
    "MNIST": ((1, 28, 28), 10, (60000, 10000)),
    "FashionMNIST": ((1, 28, 28), 10, (60000, 10000)),
    "KMNIST": ((1, 28, 28), 10, (60000, 10000)),
    "CIFAR10": ((3, 32, 32), 10, (50000, 10000)),
    "CIFAR100": ((3, 32, 32), 100, (50000, 10000)),
}


# --------------------------------------------------------------------------------------------------------
# The labelling worker (torch and torchvision only; each job in a forked child).
# --------------------------------------------------------------------------------------------------------

class _Enough(BaseException):
    """A loader iterated again: the script has shown what one epoch does."""


def _install_fakes() -> None:
    import itertools

    import torch
    import torch.multiprocessing
    import torch.utils.data
    import torchvision.datasets as datasets

    def fake(name, shape, classes, lengths):
        class Fake(datasets.FakeData):
            def __init__(self, root=None, train=True, download=False, transform=None, target_transform=None, **_):
                super().__init__(size=lengths[0] if train else lengths[1], image_size=shape, num_classes=classes,
                                 transform=transform, target_transform=target_transform)
                self.train = train

            @property
            def data(self):  # MNIST's uint8 images (N, H, W), read by hand by some scripts (CIFAR's numpy: not made)
                if shape[0] != 1:
                    raise AttributeError("data")
                if not hasattr(self, "_data"):
                    g = torch.Generator().manual_seed(0)
                    self._data = torch.randint(0, 256, (len(self), *shape[1:]), dtype=torch.uint8, generator=g)
                return self._data

            @property
            def targets(self):
                if not hasattr(self, "_targets"):
                    g = torch.Generator().manual_seed(1)
                    self._targets = torch.randint(0, classes, (len(self),), generator=g)
                return self._targets

        Fake.__name__ = name
        return Fake

    for name, (shape, classes, lengths) in FAKE_DATASETS.items():
        setattr(datasets, name, fake(name, shape, classes, lengths))

    loader = torch.utils.data.DataLoader
    build = loader.__init__

    def in_process(self, *args, **kwargs):  # worker processes change no shape; forked here they can hang
        if len(args) > 5:
            args = args[:5] + (0,) + args[6:]  # num_workers given by position
        else:
            kwargs["num_workers"] = 0
        kwargs["persistent_workers"] = False
        build(self, *args, **kwargs)

    loader.__init__ = in_process
    original = loader.__iter__
    iterated: set = set()

    def capped(self):
        if id(self) in iterated:
            raise _Enough()
        iterated.add(id(self))
        return itertools.islice(original(self), 2)

    loader.__iter__ = capped

    class InPlace:  # torch.multiprocessing.Process, run where it is started
        def __init__(self, target=None, args=(), kwargs=None, **_):
            self.target, self.args, self.kwargs = target, args, kwargs or {}

        def start(self):
            self.target(*self.args, **self.kwargs)

        def join(self, *_):
            pass

    torch.multiprocessing.Process = InPlace
    torch.multiprocessing.set_start_method = lambda *a, **k: None


def _write_surroundings(job: dict, folder: Path) -> None:
    from PIL import Image

    for rel, (count, width, height) in job.get("folders", {}).items():
        where = folder / rel
        where.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.new("RGB", (width, height), (i * 40 % 256, 90, 160)).save(where / f"{i}.jpg")
    rng = random.Random(0)
    vocabulary = [f"w{i}" for i in range(50)]
    for rel in job.get("words", []):
        where = folder / rel
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text("\n".join(" ".join(rng.choice(vocabulary) for _ in range(12)) for _ in range(40)) + "\n")


def _shapes_tracer(files: set, seen: dict, executed: dict):
    """Per function of the script (name) and local name, the first tensor shape it held; per file, the lines
    that ran."""
    import torch

    def local(frame, event, arg):
        if event == "line":
            executed.setdefault(frame.f_code.co_filename, set()).add(frame.f_lineno)
        if event in ("line", "return"):
            scope = seen.setdefault(frame.f_code.co_name, {})
            for name, value in frame.f_locals.items():
                if name not in scope and isinstance(value, torch.Tensor):
                    scope[name] = list(value.shape)
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename in files else None

    return tracer


def _stand_in_missing(names: list) -> None:
    """Modules a script imports for a path the run never takes (super_resolution's `six.moves.urllib`, for a
    download its fake folder makes unneeded), where this interpreter lacks them: corpus/standins.py's."""
    import importlib.util

    from standins import StandInModule

    for name in names:
        if importlib.util.find_spec(name.split(".")[0]) is None:
            for i in range(1, name.count(".") + 2):
                sys.modules.setdefault(".".join(name.split(".")[:i]), StandInModule(".".join(name.split(".")[:i])))


def _run_job(job: dict) -> dict:
    import traceback

    import torch

    folder = Path(tempfile.mkdtemp(prefix="script_"))
    for rel, text in job["files"].items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    entry = folder / job["entry"]
    _write_surroundings(job, entry.parent)
    os.chdir(entry.parent)
    sys.path.insert(0, str(entry.parent))
    sys.argv = [str(entry), *job.get("argv", [])]
    _install_fakes()
    _stand_in_missing(job.get("stand_ins", []))
    torch.manual_seed(0)
    files = {str(folder / rel) for rel in job["files"]}
    seen: dict = {}
    executed: dict = {}
    label = {"runs": True, "error_type": None, "error": None, "error_file": None, "error_line": None}
    try:
        code = compile(job["files"][job["entry"]], str(entry), "exec")
        if job.get("trace"):
            sys.settrace(_shapes_tracer(files, seen, executed))
        try:
            exec(code, {"__name__": "__main__", "__file__": str(entry)})
        finally:
            sys.settrace(None)
    except _Enough:
        pass
    except BaseException as error:  # noqa: BLE001 - SystemExit from a script is a failure too
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename in files]
        label.update(runs=False, error_type=type(error).__name__, error=str(error)[:400],
                     error_file=str(Path(frames[-1].filename).relative_to(folder)) if frames else None,
                     error_line=frames[-1].lineno if frames else None)
    if job.get("trace"):
        label["shapes"] = seen
        label["lines"] = {str(Path(f).relative_to(folder)): sorted(lines) for f, lines in executed.items()}
    return label


def worker() -> None:
    """One JSON job a line on stdin, one JSON label a line on stdout; each job runs in a forked child (a
    script changes sys.argv, the working directory, sys.modules), so torch is imported once."""
    import warnings

    import torch
    import torchvision  # noqa: F401 - imported once, before the forks

    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    answers = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_WRONLY)
    for line in sys.stdin:
        job = json.loads(line)
        if job.get("ping"):
            answers.write(json.dumps({"ready": True}) + "\n")
            answers.flush()
            continue
        out = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
        out.close()
        pid = os.fork()
        if pid == 0:
            os.dup2(null, 1)
            os.dup2(null, 2)
            try:
                label = _run_job(job)
            except BaseException as error:  # noqa: BLE001
                label = {"runs": False, "error_type": "HarnessError", "error": repr(error)[:400], "error_file": None,
                         "error_line": None}
            Path(out.name).write_text(json.dumps(label))
            os._exit(0)
        deadline = time.monotonic() + job.get("timeout", RUN_TIMEOUT)
        while True:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)
        text = Path(out.name).read_text()
        os.unlink(out.name)
        answers.write((text or json.dumps({"runs": False, "error_type": "Timeout", "error": "", "error_file": None,
                                           "error_line": None})) + "\n")
        answers.flush()


class Labeller:
    def __init__(self, python: Path):
        self.python = python
        self.proc: Optional[subprocess.Popen] = None
        self.labels: dict = {}
        self.fresh = 0
        if CACHE.is_file():
            stored = json.loads(CACHE.read_text())
            if stored.get("version") == LABEL_VERSION:
                self.labels = stored["labels"]

    def label(self, job: dict) -> dict:
        key = hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()
        if key not in self.labels:
            if self.proc is None:
                if not self.python.is_file():
                    raise SystemExit(f"{self.python} is missing: `bash scripts/vision-venv.sh` makes it")
                self.proc = subprocess.Popen([str(self.python), str(Path(__file__).resolve()), "--worker"],
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
                self._ask({"ping": True})
            self.labels[key] = self._ask(job)
            self.fresh += 1
            if self.fresh % 20 == 0:
                self.save()
        return self.labels[key]

    def _ask(self, job: dict) -> dict:
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def save(self) -> None:
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        tmp = CACHE.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": LABEL_VERSION, "labels": self.labels}))
        tmp.replace(CACHE)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait()
            self.proc = None
        self.save()


# --------------------------------------------------------------------------------------------------------
# Sources: pytorch/examples at COMMIT.
# --------------------------------------------------------------------------------------------------------

def sources(source: Path) -> dict:
    """repository path -> text, for every file the scripts need, written under FILES as well."""
    if not (source / "HEAD").exists() and not (source / ".git").exists():
        source.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "--bare", "--filter=blob:none", URL, str(source)], check=True)
    texts = {}
    for script in SCRIPTS:
        for rel in (script.entry, *script.siblings):
            text = subprocess.run(["git", "-C", str(source), "show", f"{COMMIT}:{rel}"], check=True,
                                  capture_output=True, text=True).stdout
            texts[rel] = text
            (FILES / rel).parent.mkdir(parents=True, exist_ok=True)
            (FILES / rel).write_text(text)
    return texts


# --------------------------------------------------------------------------------------------------------
# Mutation operators (libcst): one-line splices of the entry file.
# --------------------------------------------------------------------------------------------------------

sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:  # this checkout's shapels, not the one an editable install may point at
    sys.path.insert(1, str(ROOT))
from intent_mutants import splice  # noqa: E402

SIZE_OPTION = re.compile(r"size|hid|emsize|^-*n[zgd]f?$|dim|width|upscale|crop|batch", re.IGNORECASE)
TRANSFORMS = ("Resize", "CenterCrop", "RandomCrop", "RandomResizedCrop")
LOSS_CALL = re.compile(r"loss|criterion|nll|cross_entropy|mse|binary_cross_entropy", re.IGNORECASE)
SWAPS = {"MSELoss": "CrossEntropyLoss", "CrossEntropyLoss": "MSELoss", "NLLLoss": "MSELoss",
         "BCELoss": "NLLLoss", "L1Loss": "CrossEntropyLoss", "nll_loss": "mse_loss", "cross_entropy": "mse_loss",
         "mse_loss": "cross_entropy", "binary_cross_entropy": "nll_loss"}
OUTPUT_LAYERS = {"Linear": ("out_features", 1), "Conv1d": ("out_channels", 1), "Conv2d": ("out_channels", 1),
                 "ConvTranspose2d": ("out_channels", 1), "Embedding": ("embedding_dim", 1)}
OPERATORS = ["option_default", "transform_size", "target", "loss_swap", "output_width"]


@dataclass
class Mutant:
    script: str
    operator: str
    line: int
    col: int
    end_line: int
    end_col: int
    original: str
    new: str

    @property
    def id(self) -> str:
        return f"{self.script}:{self.operator}:{self.line}:{self.col}:{self.new}"

    def apply(self, text: str) -> str:
        return splice(text, self.line, self.col, self.end_line, self.end_col, self.new, expect=self.original)


def _dotted(node) -> str:
    import libcst as cst

    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def mutants(script: str, text: str, executed: Optional[set] = None, cap: int = CAP) -> list:
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    wrapper = MetadataWrapper(cst.parse_module(text))
    positions = wrapper.resolve(PositionProvider)
    starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
    found: dict = {op: [] for op in OPERATORS}

    def source(node) -> str:
        r = positions[node]
        return text[starts[r.start.line - 1] + r.start.column:starts[r.end.line - 1] + r.end.column]

    def add(op: str, node, new: str) -> None:
        r = positions[node]
        if r.start.line == r.end.line:
            found[op].append(Mutant(script, op, r.start.line, r.start.column, r.end.line, r.end.column, source(node),
                                    new))

    def sized(node) -> list:
        """An int literal doubled and halved, an expression times 2 and floor-divided by 2."""
        if isinstance(node, cst.Integer):
            n = int(node.value, 0)
            return sorted({str(n * 2), str(max(n // 2, 1))} - {str(n)})
        expr = source(node)
        return [f"{expr} * 2", f"{expr} // 2"]

    class Finder(cst.CSTVisitor):
        def __init__(self):
            self.inits: list = []  # per class __init__ being visited: its layer constructor calls

        def visit_FunctionDef(self, node):
            if node.name.value == "__init__":
                self.inits.append([])

        def leave_FunctionDef(self, node):
            if node.name.value == "__init__" and self.inits:
                layers = self.inits.pop()
                if layers:
                    call, (param, index) = layers[-1]
                    arg = next((a for a in call.args if a.keyword is not None and a.keyword.value == param), None)
                    if arg is None and len(call.args) > index and call.args[index].keyword is None:
                        arg = call.args[index]
                    if arg is not None:
                        node_ = arg.value
                        new = str(int(node_.value, 0) * 2) if isinstance(node_, cst.Integer) else f"{source(node_)} * 2"
                        add("output_width", node_, new)

        def visit_Call(self, node):
            name = _dotted(node.func)
            last = name.rsplit(".", 1)[-1]
            if last == "add_argument" and node.args and isinstance(node.args[0].value, cst.SimpleString):
                flag = node.args[0].value.evaluated_value
                default = next((a.value for a in node.args if a.keyword is not None and a.keyword.value == "default"),
                               None)
                if isinstance(default, cst.Integer) and SIZE_OPTION.search(flag.lstrip("-")):
                    for new in sized(default):
                        add("option_default", default, new)
            if last in TRANSFORMS and node.args and node.args[0].keyword is None:
                for new in sized(node.args[0].value):
                    add("transform_size", node.args[0].value, new)
            if last in SWAPS and (name.startswith("nn.") or name.startswith("F.") or name.startswith("torch.")
                                  or name == last):
                add("loss_swap", node.func.attr if isinstance(node.func, cst.Attribute) else node.func, SWAPS[last])
            if LOSS_CALL.search(last) and len(node.args) >= 2 and node.args[1].keyword is None \
                    and last not in ("Loss", "add_argument"):
                target = source(node.args[1].value)
                for new in (f"{target}.unsqueeze(1)", f"{target}.view(-1, 1)",
                            f"torch.nn.functional.one_hot(({target}).long(), 11).float()"):
                    add("target", node.args[1].value, new)
            if self.inits and last in OUTPUT_LAYERS and "nn" in name.split("."):
                self.inits[-1].append((node, OUTPUT_LAYERS[last]))

    wrapper.visit(Finder())
    out = []
    for op in OPERATORS:
        # on lines the unmutated run executed (a branch never taken runs any change); the option defaults are
        # read by argparse wherever they are written
        candidates = [m for m in found[op] if executed is None or m.line in executed or op == "option_default"]
        rng = random.Random(f"{script}:{op}")
        out.extend(sorted(rng.sample(candidates, min(cap, len(candidates))), key=lambda m: (m.line, m.col, m.new)))
    return out


# --------------------------------------------------------------------------------------------------------
# The static side.
# --------------------------------------------------------------------------------------------------------

def static(text: str, path: Path, args: dict) -> dict:
    from shapels.analysis import engine
    from shapels.imports import FileLoader

    started = time.monotonic()
    options = engine.Options(loader=FileLoader(roots=[path.parent], include_site_packages=False), args=dict(args))
    try:
        result = engine.analyze(text, str(path), options)
    except Exception as error:  # noqa: BLE001 - an engine crash is a result to report
        return {"errors": [], "crash": f"{type(error).__name__}: {error}"[:300], "loops": [], "partial": True,
                "seconds": time.monotonic() - started}
    errors = [{"code": f.code, "line": f.span.start_line, "end_line": f.span.end_line, "message": f.message}
              for f in result.findings if f.severity == "error" and f.span is not None]
    loops = [{"line": b.span.start_line, "name": b.name,
              "shape": [str(d) for d in b.shape.dims] if b.shape is not None and b.shape.ranked else None}
             for b in result.loop_names if b.write]
    return {"errors": errors, "crash": None, "loops": loops, "partial": result.partial,
            "seconds": time.monotonic() - started}


def _enclosing_functions(text: str) -> dict:
    """line -> the name of the innermost function around it ('<module>' at top level)."""
    import ast

    out: dict = {}
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                if line not in out or out[line][0] < node.lineno:
                    out[line] = (node.lineno, node.name)
    return {line: name for line, (_, name) in out.items()}


def compare_loop_shapes(text: str, loops: list, run_shapes: dict) -> list:
    """Per tensor name the static side binds in a data loop: 'exact' (the run's shape), 'batch symbol' (the
    same rank and sizes, a symbol where the run has its batch size), 'differs', or 'unknown' (no shape)."""
    where = _enclosing_functions(text)
    rows, seen = [], set()
    for binding in loops:
        function = where.get(binding["line"], "<module>")
        key = (function, binding["name"])
        actual = run_shapes.get(function, {}).get(binding["name"])
        if key in seen or actual is None:
            continue
        seen.add(key)
        shape = binding["shape"]
        if shape is None:
            verdict = "unknown"
        elif len(shape) != len(actual):
            verdict = "differs"
        elif all(s == str(a) for s, a in zip(shape, actual)):
            verdict = "exact"
        elif all(s == str(a) or not s.lstrip("-").isdigit() for s, a in zip(shape, actual)):
            verdict = "batch symbol" if all(s == str(a) for s, a in zip(shape[1:], actual[1:])) else "symbols"
        else:
            verdict = "differs"
        rows.append({"function": function, "line": binding["line"], "name": binding["name"],
                     "static": "(" + ", ".join(shape) + ")" if shape is not None else "unknown",
                     "run": "(" + ", ".join(map(str, actual)) + ")", "verdict": verdict})
    return rows


# --------------------------------------------------------------------------------------------------------
# The evaluation.
# --------------------------------------------------------------------------------------------------------

def job_for(script: Script, texts: dict, entry_text: str, trace: bool) -> dict:
    files = {rel: texts[rel] for rel in script.siblings}
    files[script.entry] = entry_text
    argv = [part for dest, value in script.args.items() for part in (f"--{dest}", str(value))]
    job = {"files": files, "entry": script.entry, "argv": argv, "trace": trace,
           "folders": {k: list(v) for k, v in script.folders.items()}, "words": list(script.words)}
    if script.stand_ins:
        job["stand_ins"] = list(script.stand_ins)
    if trace:
        job["lines"] = True  # the run records the lines it executed
    return job


def evaluate(chosen: list, labeller: Labeller, texts: dict, cap: int = CAP) -> dict:
    report: dict = {"scripts": {}, "mutants": [], "loops": []}
    for script in chosen:
        text = texts[script.entry]
        path = FILES / script.entry
        truth = labeller.label(job_for(script, texts, text, trace=True))
        seen = static(text, path, script.args)
        report["scripts"][script.name] = {"runs": truth["runs"], "error": truth.get("error"), "followed": any(b["shape"] is not None for b in seen["loops"]),
                                          "errors": seen["errors"], "crash": seen["crash"], "partial": seen["partial"]}
        for row in compare_loop_shapes(text, seen["loops"], truth.get("shapes", {})):
            report["loops"].append({"script": script.name, **row})
        if not truth["runs"]:
            print(f"{script.name}: the unmutated script fails ({truth['error_type']}: {truth['error']}); skipped",
                  file=sys.stderr)
            continue
        executed = set(truth.get("lines", {}).get(script.entry, [])) or None
        for mutant in mutants(script.name, text, executed, cap):
            mutated = mutant.apply(text)
            label = labeller.label(job_for(script, texts, mutated, trace=False))
            result = static(mutated, path, script.args)
            on_line = [e for e in result["errors"] if e["line"] <= mutant.line <= e["end_line"]]
            report["mutants"].append({"id": mutant.id, "script": script.name, "operator": mutant.operator,
                                      "line": mutant.line, "original": mutant.original, "new": mutant.new,
                                      "runs": label["runs"], "error_type": label.get("error_type"),
                                      "error": label.get("error"), "error_file": label.get("error_file"),
                                      "error_line": label.get("error_line"), "errors": result["errors"],
                                      "on_line": bool(on_line), "crash": result["crash"]})
        print(f"{script.name}: done", file=sys.stderr)
    return report


SHAPE_ERRORS = ("RuntimeError", "ValueError", "IndexError", "AssertionError")  # what torch raises on shapes


def failing(m: dict) -> bool:
    """The mutant fails as a shape bug does: torch's RuntimeError/ValueError/IndexError or an AssertionError.
    Another failure (a ZeroDivisionError of a loss that became 0, a timeout) is listed apart, counted nowhere."""
    return not m["runs"] and m["error_type"] in SHAPE_ERRORS


def _pct(n: int, d: int) -> str:
    return f"{n} ({100 * n / d:.0f}%)" if d else f"{n}"


def _counts(ms: list) -> tuple:
    fails = [m for m in ms if failing(m)]
    detected = [m for m in fails if m["errors"]]
    running = [m for m in ms if m["runs"]]
    return (len(ms), len(fails), len(detected), sum(m["on_line"] for m in detected),
            sum(1 for m in running if m["errors"]), len(running), sum(1 for m in ms if not m["runs"] and not failing(m)))


def _cells(c: tuple) -> str:
    total, fails, detected, on_line, alarms, running, other = c
    return f"{total} | {fails} | {_pct(detected, fails)} | {_pct(on_line, fails)} | {alarms} of {running} | {other}"


def table(report: dict) -> str:
    lines = ["| script | loop followed | false alarms (unmutated) | mutants | fail | detected | on the mutated line "
             "| errors on mutants that run | fail otherwise |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    followed = [n for n, info in report["scripts"].items() if info["followed"]]
    for name, info in report["scripts"].items():
        ms = [m for m in report["mutants"] if m["script"] == name]
        runs = "" if info["runs"] else " (fails unmutated)"
        lines.append(f"| {name}{runs} | {'yes' if info['followed'] else 'no'} | {len(info['errors'])} "
                     f"| {_cells(_counts(ms))} |")
    alarms = sum(len(info["errors"]) for info in report["scripts"].values())
    inside = [m for m in report["mutants"] if m["script"] in followed]
    lines.append(f"| **followed scripts** | {len(followed)} | {sum(len(report['scripts'][n]['errors']) for n in followed)} "
                 f"| {_cells(_counts(inside))} |")
    lines.append(f"| **all** | {len(followed)} of {len(report['scripts'])} | {alarms} | {_cells(_counts(report['mutants']))} |")
    return "\n".join(lines)


def by_operator(report: dict) -> str:
    lines = ["| operator | mutants | fail | detected | on the mutated line | errors on mutants that run | fail otherwise |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for op in OPERATORS:
        lines.append(f"| {op} | {_cells(_counts([m for m in report['mutants'] if m['operator'] == op]))} |")
    return "\n".join(lines)


def loop_table(report: dict) -> str:
    counts: dict = {}
    for row in report["loops"]:
        counts[row["verdict"]] = counts.get(row["verdict"], 0) + 1
    summary = ", ".join(f"{v}: {n}" for v, n in sorted(counts.items())) or "none"
    lines = [f"{len(report['loops'])} tensor names bound in the scripts' data loops, compared with the run ({summary}).",
             "", "| script | function | line | name | shapels | run | verdict |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in report["loops"]:
        lines.append(f"| {row['script']} | {row['function']} | {row['line']} | `{row['name']}` | {row['static']} "
                     f"| {row['run']} | {row['verdict']} |")
    return "\n".join(lines)


def details(report: dict) -> str:
    lines = []
    for name, info in report["scripts"].items():
        for e in info["errors"]:
            lines.append(f"- false alarm, {name}:{e['line']}: {e['code']}: {e['message'][:200]}")
        if not info["runs"]:
            lines.append(f"- {name} does not run unmutated: {info['error']}")
        if info["crash"]:
            lines.append(f"- {name}: shapels crashed: {info['crash']}")
    for m in report["mutants"]:
        change = f"`{m['original']}` → `{m['new']}`"
        if not m["runs"] and not failing(m):
            lines.append(f"- fails otherwise {m['script']}:{m['line']} ({m['operator']}) {change}: {m['error_type']} at "
                         f"{m['error_file']}:{m['error_line']}: {str(m['error'])[:160]}")
        elif not m["runs"] and not m["errors"]:
            lines.append(f"- missed {m['script']}:{m['line']} ({m['operator']}) {change}: {m['error_type']} at "
                         f"{m['error_file']}:{m['error_line']}: {str(m['error'])[:160]}")
        elif not m["runs"] and not m["on_line"]:
            first = m["errors"][0]
            lines.append(f"- off the line {m['script']}:{m['line']} ({m['operator']}) {change}: shapels at line "
                         f"{first['line']}: {first['message'][:160]}")
        elif m["runs"] and m["errors"]:
            first = m["errors"][0]
            lines.append(f"- error on a mutant that runs {m['script']}:{m['line']} ({m['operator']}) {change}: line "
                         f"{first['line']}: {first['message'][:160]}")
    return "\n".join(lines) or "None."


def write_results(report: dict, seconds: float) -> None:
    text = f"""# Training-script mutants: pytorch/examples (issue 23)

Written by `corpus/script_mutants.py` (pytorch/examples at {COMMIT[:7]}; labels by running each script on
fake data with torch and torchvision in .tools/vision-venv; {seconds:.0f} s). See corpus/README.md.

{table(report)}

By operator:

{by_operator(report)}

## Shapes in the training loops (hover)

{loop_table(report)}

## Misses, lines elsewhere, false alarms

{details(report)}
"""
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--python", type=Path, default=PYTHON)
    parser.add_argument("--script", action="append")
    parser.add_argument("--json", type=Path, help="also write the full report as JSON")
    parser.add_argument("--cap", type=int, default=CAP, help="mutants per script and operator (a larger sample: "
                        "table only)")
    opts = parser.parse_args()
    if opts.worker:
        worker()
        return
    sys.path.insert(0, str(ROOT))
    started = time.monotonic()
    texts = sources(opts.source)
    chosen = [s for s in SCRIPTS if not opts.script or s.name in opts.script]
    labeller = Labeller(opts.python)
    try:
        report = evaluate(chosen, labeller, texts, opts.cap)
    finally:
        labeller.close()
    print(table(report))
    print()
    print(by_operator(report))
    print()
    print(loop_table(report).split("\n")[0])
    if opts.json:
        opts.json.write_text(json.dumps(report, indent=1))
    if not opts.script and opts.cap == CAP:
        write_results(report, time.monotonic() - started)


if __name__ == "__main__":
    main()
