"""The intent mutation corpus: does shapels point at the line a person had to edit, and does its fix restore
what the author meant?

corpus/intent/ holds small working model programs in the styles people post on forums, each with a driver
that builds the model and calls it on a factory tensor with literal sizes. The unmutated program is the truth
of intent. Each mutant changes ONE place in the way people really get it wrong (a missing batch dim, an
image in channels-last order, `x.view(...)` whose result is dropped, `keepdim=True` forgotten, the wrong
variable in a layer constructor, ...), always on one line, so the mutated line is the line to edit.

Labels come from running (torch, one worker process, `--worker`): whether the program runs, its error and
the innermost traceback line in the program, and every module call's input and output shapes (a global
forward hook). Per failing mutant, shapels' first error-level finding gives the preferred fix; the fix is
applied and the result run again: it *restores* the original when every module call sees the shapes the
unmutated program saw (for drop_batch: the program with a batch of one, all the mutant still says, or the
unmutated program itself, where the fix gives back its batch size from the driver's other inputs), and it
*merges the batch* when it runs but some call's input has another rank or another dim 0 (a fix that makes
the shapes fit by folding the batch into the features).

Usage: .venv/bin/python corpus/intent_mutants.py            rewrites corpus/INTENT_RESULTS.md (about 1 min on
                                                            2 cores unlabelled, seconds once the labels are cached)
       ... --program NAME / --operator NAME                 one program / operator, table only
       ... --commit aeb5002                                 shapels as it was at a commit (the baseline), table only
       ... --programs corpus/intent_heldout --results corpus/INTENT_HELDOUT_RESULTS.md
                                                            another folder of programs (the held-out set, never
                                                            looked at while tuning the engine); --results is needed
                                                            to write a results file for another folder
Labels are cached in .tools/intent_labels.json, keyed by the sha256 of the program text.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import select
import signal
import subprocess
import sys
import time
import types
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROGRAMS = HERE / "intent"
RESULTS = HERE / "INTENT_RESULTS.md"
CACHE = ROOT / ".tools" / "intent_labels.json"
LABEL_VERSION = 2  # bump when the worker records something new: cached labels of another version are dropped
CAP = 4  # mutants per program per operator (sampled, seeded by program and operator)
RUN_TIMEOUT = 60.0  # seconds per labelling run
STATIC_TIMEOUT = 60  # hard stop of one analysis (the engine's own budget is 5 s, as in the CLI)


# --------------------------------------------------------------------------------------------------------
# The labelling worker (runs in its own process; imports torch only).
# --------------------------------------------------------------------------------------------------------

def _shape(value):
    """A tensor as its list of sizes, a tuple/list as {"seq": [...]}, anything else as None: JSON that
    compares equal exactly when the shapes do."""
    import torch

    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (tuple, list)):
        return {"seq": [_shape(v) for v in value]}
    return None


class _Recorder:
    """Every module call's input and output shapes, in the order the calls finish."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.calls: list = []
        self.counts: dict = {}
        self.modules: dict = {}  # id -> module: kept alive so that ids are not reused within a run

    def hook(self, module, args, output):
        key = id(module)
        self.modules[key] = module
        index = self.counts.get(key, 0)
        self.counts[key] = index + 1
        self.calls.append((key, index, type(module).__name__, _shape(args), _shape(output)))

    def records(self, namespace: dict) -> list:
        """Calls named by the module's qualified name from the program's top-level variables (`model.fc1`),
        so that a fixed program's calls line up with the original's; unreachable modules by class and order."""
        import torch

        names: dict = {}
        for var, value in list(namespace.items()):
            if isinstance(value, torch.nn.Module) and not var.startswith("__"):
                for qual, sub in value.named_modules(prefix=var):
                    names.setdefault(id(sub), qual)
        unnamed: dict = {}
        out = []
        for key, index, cls, shape_in, shape_out in self.calls:
            if key not in names:
                names[key] = f"<{cls}#{unnamed.setdefault(key, len(unnamed))}>"
            out.append({"module": names[key], "call": index, "class": cls, "in": shape_in, "out": shape_out})
        return out


def _int_locals_tracer(path: str, seen: dict):
    """A sys.settrace function recording, per function of the program (name:first line), the types and int
    values each local held: which names hold ints is what swap_name needs, and only running tells."""

    def local(frame, event, arg):
        if event in ("line", "return"):
            scope = seen.setdefault(f"{frame.f_code.co_name}:{frame.f_code.co_firstlineno}", {})
            for name, value in frame.f_locals.items():
                entry = scope.setdefault(name, {"types": set(), "ints": set(), "first": frame.f_lineno})
                entry["types"].add(type(value).__name__)
                # the earliest line that could read it (a 'line' event comes before its line runs)
                entry["first"] = min(entry["first"], frame.f_lineno)
                if type(value) is int and len(entry["ints"]) < 16:
                    entry["ints"].add(value)
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename == path else None

    return tracer


def _label(job: dict, recorder: _Recorder) -> dict:
    import traceback

    import torch

    text, path = job["text"], job["path"]
    recorder.reset()
    torch.manual_seed(0)
    torch.set_grad_enabled(True)  # a program may switch it off; the next one starts as a fresh process would
    namespace = {"__name__": "__main__", "__file__": path}
    name = job.get("module")
    if name:  # a file of a package (a torchvision model file): run as that module, as an import would run it,
        # so that its relative imports resolve and what looks the module up in sys.modules finds it (a
        # registry, and @dataclass: efficientnet.py's _MBConvConfig failed without it)
        module = types.ModuleType(name)
        module.__dict__.update(namespace, __name__=name, __package__=name.rpartition(".")[0])
        namespace = module.__dict__
        replaced = sys.modules.get(name)
        sys.modules[name] = module
    seen: dict = {}
    label = {"runs": True, "error_type": None, "error": None, "error_line": None}
    try:
        code = compile(text, path, "exec")
        if job.get("trace"):
            sys.settrace(_int_locals_tracer(path, seen))
        try:
            exec(code, namespace)
        finally:
            sys.settrace(None)
            if name:  # the next text is the module's own again
                if replaced is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = replaced
    except BaseException as error:  # noqa: BLE001 - SystemExit from a program is a failure too
        lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == path]
        if isinstance(error, SyntaxError) and error.filename == path:
            lines.append(error.lineno)
        label.update(runs=False, error_type=type(error).__name__, error=str(error)[:400],
                     error_line=lines[-1] if lines else None)
    label["calls"] = recorder.records(namespace)
    if job.get("trace"):
        label["locals"] = {scope: {n: {"types": sorted(e["types"]), "ints": sorted(e["ints"]), "first": e["first"]}
                                   for n, e in names.items()} for scope, names in seen.items()}
    namespace.clear()
    recorder.reset()
    return label


def worker(before_each=None) -> None:
    """Reads one JSON job a line on stdin, answers one JSON label a line on its own copy of stdout: what the
    programs print goes to /dev/null (fd 1 itself is redirected, so C-level prints cannot corrupt the answers).
    `before_each(job)`, when given, runs before each program: it may name the job's "module" (see _label) or
    forget a registry the program fills."""
    import warnings

    import torch

    warnings.simplefilter("ignore")
    answers = os.fdopen(os.dup(1), "w")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    sys.stdout = open(os.devnull, "w")
    recorder = _Recorder()
    torch.nn.modules.module.register_module_forward_hook(recorder.hook)
    for line in sys.stdin:
        job = json.loads(line)
        if before_each is not None and not job.get("ping"):
            before_each(job)
        answers.write(json.dumps({"ready": True} if job.get("ping") else _label(job, recorder)) + "\n")
        answers.flush()


# --------------------------------------------------------------------------------------------------------
# The labeller: a client of the worker, with a cache keyed by the text's sha256.
# --------------------------------------------------------------------------------------------------------

def text_key(text: str, trace: bool = False) -> str:
    return hashlib.sha256(text.encode()).hexdigest() + (":trace" if trace else "")


# What a label says when the run timed out or its worker died: how loaded the machine was, not what the
# program does. Such a label answers the run that made it and is never cached, so a later run on a quieter
# machine labels the program again (a run labelled under load once kept "fails: Timeout" for good).
UNSETTLED = frozenset({"Timeout", "WorkerDied"})


def keep(labels: dict, unsettled: dict, key: str, label: dict) -> None:
    """Files `label` under `key`: in the cached `labels`, or in this run's `unsettled` (UNSETTLED)."""
    (unsettled if label.get("error_type") in UNSETTLED else labels)[key] = label


class Labeller:
    """`command` starts the worker (default: this file with `--worker`); another corpus's command sets its
    programs' surroundings up (corpus/zoo_intent.py: the fake torchvision package, timm's sources in their
    own interpreter) and then serves `worker()`."""

    def __init__(self, cache: Optional[Path] = CACHE, timeout: float = RUN_TIMEOUT, command: Optional[list] = None):
        self.cache_path = cache
        self.timeout = timeout
        self.command = command or [sys.executable, str(Path(__file__).resolve()), "--worker"]
        self.proc: Optional[subprocess.Popen] = None
        self.labels: dict = {}
        self.unsettled: dict = {}  # this run's timed-out and died labels, never saved (UNSETTLED)
        self.fresh = 0
        if cache is not None and cache.is_file():
            stored = json.loads(cache.read_text())
            if stored.get("version") == LABEL_VERSION:
                self.labels = stored["labels"]

    def label(self, text: str, path: str, trace: bool = False) -> dict:
        key = text_key(text, trace)
        found = self.labels.get(key) or self.unsettled.get(key)
        if found is None:
            found = self._run({"text": text, "path": path, "trace": trace})
            keep(self.labels, self.unsettled, key, found)
            self.fresh += 1
            if self.fresh % 50 == 0:
                self.save()
        return found

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(self.command, cwd=str(ROOT),
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         text=True, bufsize=1)
            # Importing torch is not the first program's time: wait for it apart.
            if self._ask({"ping": True}, 300)[0] is None:
                self.close()
                raise RuntimeError("the labelling worker did not start (is torch installed in this interpreter?)")
        return self.proc

    def _ask(self, job: dict, timeout: float) -> tuple:
        """(the worker's answer or None, whether it died rather than took longer than `timeout`)."""
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        answer = self.proc.stdout.readline() if ready else ""
        return (json.loads(answer) if answer else None), bool(ready) and not answer

    def _run(self, job: dict) -> dict:
        self._start()
        answer, died = self._ask(job, self.timeout)
        if answer is not None:
            return answer
        self.close()  # timed out or died (a crash in torch): the next job gets a fresh worker
        return {"runs": False, "error_type": "WorkerDied" if died else "Timeout", "error": "",
                "error_line": None, "calls": []}

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    def save(self) -> None:
        if self.cache_path is None:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": LABEL_VERSION, "labels": self.labels}))
        tmp.replace(self.cache_path)


# --------------------------------------------------------------------------------------------------------
# Mutation operators (libcst). Each finds candidate places in one program and returns one-line splices.
# --------------------------------------------------------------------------------------------------------

sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:  # this checkout's shapels, not the one an editable install may point at
    sys.path.insert(1, str(ROOT))
from mutate import GEOMETRY, LAYER_PARAMS, bound_arguments  # noqa: E402

# corpus/mutate.py's table (torchvision's layers) plus the ones forum models use.
LAYERS = {name: params for name, params in LAYER_PARAMS.items() if name not in ("Conv2dNormActivation",
                                                                                "SqueezeExcitation")}
LAYERS.update({
    "ConvTranspose1d": ["in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding"],
    "ConvTranspose2d": ["in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding"],
    "Embedding": ["num_embeddings", "embedding_dim"],
    "LSTM": ["input_size", "hidden_size", "num_layers"],
    "GRU": ["input_size", "hidden_size", "num_layers"],
    "RNN": ["input_size", "hidden_size", "num_layers"],
    "TransformerEncoderLayer": ["d_model", "nhead", "dim_feedforward"],
    "MaxPool1d": ["kernel_size", "stride", "padding"],
    "AvgPool1d": ["kernel_size", "stride", "padding"],
    "AdaptiveAvgPool1d": ["output_size"],
    "InstanceNorm2d": ["num_features"],
})
CHANNELS = {"in_channels", "out_channels", "num_features", "num_channels"}
# Feature sizes change by one (an off-by-one in a hand-computed size); num_embeddings is left alone, since a
# smaller vocabulary fails on an index, not on a shape.
FEATURES = {"in_features", "out_features", "embedding_dim", "input_size", "hidden_size", "d_model",
            "normalized_shape", "dim_feedforward", "embed_dim"}
SIZES = CHANNELS | FEATURES  # the arguments swap_name changes: a stride or a layer count swapped is another bug
FACTORIES = {"randn", "rand", "zeros", "ones", "empty", "randint", "full"}
RESHAPES = {"view", "reshape", "flatten"}
REDUCTIONS = {"mean", "std", "sum", "var", "amax", "amin", "max", "min", "norm", "logsumexp", "prod"}
# New spatial sizes for image_size (a model trained on 28x28 MNIST fed 32x32, and the like).
IMAGE_SIZES = {28: 32, 32: 28, 64: 48, 48: 64, 224: 192, 96: 64}

OPERATORS = ["drop_batch", "channels_last", "transpose_2d", "image_size", "unassigned_view", "start_dim_0",
             "drop_keepdim", "swap_name", "literal"]


@dataclass
class Mutant:
    program: str
    operator: str
    line: int  # 1-based: the mutated line, the one a person had to edit
    col: int  # 0-based start of the replaced text
    end_line: int
    end_col: int
    original: str
    new: str
    note: str = ""
    # A one-place edit of the *unmutated* text giving the program a fix is judged against, when that is not
    # the unmutated program itself: [line, col, end line, end col, new text] (see op_drop_batch).
    reference: Optional[list] = None

    @property
    def id(self) -> str:
        return f"{self.program}:{self.operator}:{self.line}:{self.col}:{self.new}"

    def apply(self, text: str) -> str:
        return splice(text, self.line, self.col, self.end_line, self.end_col, self.new, expect=self.original)

    def intended(self, text: str) -> str:
        """The program the author meant, as far as the mutant still says it."""
        return text if self.reference is None else splice(text, *self.reference)


def _line_starts(text: str) -> list:
    return [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]


def splice(text: str, line: int, col: int, end_line: int, end_col: int, new: str,
           expect: Optional[str] = None) -> str:
    """Replace a (1-based line, 0-based column) range, as libcst and shapels' spans give it."""
    starts = _line_starts(text)
    start, end = starts[line - 1] + col, starts[end_line - 1] + end_col
    if expect is not None and text[start:end] != expect:
        raise ValueError(f"splice at {line}:{col} expected {expect!r}, found {text[start:end]!r}")
    return text[:start] + new + text[end:]


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _layer(call: cst.Call) -> Optional[str]:
    """`nn.X` / `torch.nn.X` for a layer X of the table."""
    name = _dotted(call.func)
    parts = name.split(".")
    if len(parts) >= 2 and parts[-2] == "nn" and parts[-1] in LAYERS:
        return parts[-1]
    return None


def _int(node) -> Optional[int]:
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    return None


class _Finder(cst.CSTVisitor):
    """One pass over a program, collecting the places each operator may change, with their scope."""

    def __init__(self, text: str, positions, code_for_node):
        self.text = text
        self.starts = _line_starts(text)
        self.positions = positions  # node -> CodeRange, resolved once (also read after the visit)
        self.module_code = code_for_node
        self.scopes: list = []  # enclosing FunctionDef/ClassDef nodes
        self.factories: list = []  # (call, size nodes, tuple node or None)
        self.assigns: list = []  # `x = x.view(...)` statements in forward
        self.flattens: list = []  # (node to replace, new code)
        self.keepdims: list = []  # reduction calls with keepdim=True
        self.layer_args: list = []  # (layer, param, arg value node, scope key)
        self.module_ints: dict = {}  # module-level `name = <int>` (to know the sizes a driver's names hold)

    def pos(self, node):
        return self.positions[node]

    def source(self, node, last=None) -> str:
        """The text from `node` to `last` (default: itself); libcst's positions leave a node's own
        parentheses out."""
        start, end = self.positions[node].start, self.positions[last if last is not None else node].end
        return self.text[self.starts[start.line - 1] + start.column:self.starts[end.line - 1] + end.column]

    def _scope_key(self) -> str:
        """`name:first line` of the innermost function, as the worker's trace names it ('<module>:1' at top)."""
        for node in reversed(self.scopes):
            if isinstance(node, cst.FunctionDef):
                first = self.pos(node.decorators[0]).start.line if node.decorators else self.pos(node).start.line
                return f"{node.name.value}:{first}"
        return "<module>:1"

    def visit_FunctionDef(self, node):
        self.scopes.append(node)

    def leave_FunctionDef(self, node):
        self.scopes.pop()

    def visit_ClassDef(self, node):
        self.scopes.append(node)

    def leave_ClassDef(self, node):
        self.scopes.pop()

    def _in_forward(self) -> bool:
        return any(isinstance(s, cst.FunctionDef) and s.name.value == "forward" for s in self.scopes)

    def visit_Assign(self, node: cst.Assign):
        if not self.scopes and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            value = _int(node.value)
            if value is not None:
                self.module_ints[node.targets[0].target.value] = value
        if not self._in_forward() or len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        name, value = node.targets[0].target.value, node.value
        if not isinstance(value, cst.Call):
            return
        func = value.func
        method = (isinstance(func, cst.Attribute) and func.attr.value in RESHAPES
                  and isinstance(func.value, cst.Name) and func.value.value == name)
        function = (_dotted(func) == "torch.flatten" and value.args and isinstance(value.args[0].value, cst.Name)
                    and value.args[0].value.value == name)
        if method or function:
            self.assigns.append(node)

    def visit_Call(self, node: cst.Call):
        name = _dotted(node.func)
        if not self.scopes and name.startswith("torch.") and name.split(".")[-1] in FACTORIES:
            self._factory(node)
        self._flatten(node, name)
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in REDUCTIONS:
            if any(a.keyword is not None and a.keyword.value == "keepdim" and _dotted(a.value) == "True"
                   for a in node.args):
                self.keepdims.append(node)
        layer = _layer(node)
        if layer is not None:
            self._layer_args(layer, node)

    def _factory(self, node: cst.Call):
        for arg in node.args:  # a size tuple: randint(0, 10, (8, 20)), randn((8, 3)), zeros(size=(2, 3))
            if isinstance(arg.value, (cst.Tuple, cst.List)) and (arg.keyword is None or arg.keyword.value == "size"):
                self.factories.append((node, [e.value for e in arg.value.elements], arg.value))
                return
        if name_of(node) in ("randint", "full"):
            return  # their leading ints are bounds / a fill value, not sizes
        sizes = []
        for arg in node.args:
            if arg.keyword is not None or arg.star:
                break
            if not isinstance(arg.value, (cst.Integer, cst.Name)):
                return
            sizes.append(arg.value)
        if sizes:
            self.factories.append((node, sizes, None))

    def _flatten(self, node: cst.Call, name: str):
        args = node.args
        if name.endswith("nn.Flatten") and not args:
            self.flattens.append((node, self.source(node)[:-1] + "start_dim=0)"))
            return
        if name == "torch.flatten" and len(args) >= 2 and _int(args[1].value) == 1:
            self.flattens.append((args[1].value, "0"))
        elif (isinstance(node.func, cst.Attribute) and node.func.attr.value == "flatten" and name != "torch.flatten"
              and args and _int(args[0].value) == 1):
            self.flattens.append((args[0].value, "0"))
        for arg in args:
            if arg.keyword is not None and arg.keyword.value == "start_dim" and _int(arg.value) == 1:
                self.flattens.append((arg.value, "0"))

    def _layer_args(self, layer: str, node: cst.Call):
        for param, arg in bound_arguments(node, LAYERS[layer]):
            self.layer_args.append((layer, param, arg.value, self._scope_key()))


def name_of(call: cst.Call) -> str:
    return _dotted(call.func).split(".")[-1]


def find(text: str) -> tuple:
    module = cst.parse_module(text)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    finder = _Finder(text, wrapper.resolve(PositionProvider), module.code_for_node)
    module.visit(finder)
    return module, finder


def _edit(program: str, operator: str, finder: _Finder, node, new: str, note: str = "") -> Optional[Mutant]:
    """A mutant replacing `node` by `new`, kept only when it stays on one line."""
    pos = finder.pos(node)
    if pos.start.line != pos.end.line:
        return None
    return Mutant(program, operator, pos.start.line, pos.start.column, pos.end.line, pos.end.column,
                  finder.source(node), new, note)


def _size_value(node, finder: _Finder) -> Optional[int]:
    value = _int(node)
    if value is None and isinstance(node, cst.Name):
        value = finder.module_ints.get(node.value)
    return value


def _resize(program: str, operator: str, finder: _Finder, sizes: list, container, order: list,
            replace: Optional[dict] = None) -> Optional[Mutant]:
    """A factory call with its sizes rewritten: `order` picks the old size nodes (by index), `replace`
    gives new texts for some indices."""
    texts = [replace.get(i) if replace and i in replace else finder.module_code(sizes[i]) for i in order]
    if container is not None:
        one = "," if len(texts) == 1 and isinstance(container, cst.Tuple) else ""
        inner = ", ".join(texts) + one
        # a List's position covers its brackets; a Tuple's leaves its parentheses out
        return _edit(program, operator, finder, container, f"[{inner}]" if isinstance(container, cst.List) else inner)
    first, last = finder.pos(sizes[0]), finder.pos(sizes[-1])
    if first.start.line != last.end.line:
        return None
    return Mutant(program, operator, first.start.line, first.start.column, last.end.line, last.end.column,
                  finder.source(sizes[0], sizes[-1]), ", ".join(texts))


def op_drop_batch(program, finder):
    """The batch size is lost with the dim: what the author meant is a batch of one (`x.unsqueeze(0)` and
    `torch.randn(1, ...)` restore that), so a fix is judged against the program with batch size 1."""
    out = []
    for _, sizes, box in finder.factories:
        if len(sizes) >= 2:
            m = _resize(program, "drop_batch", finder, sizes, box, list(range(1, len(sizes))))
            if m is not None:
                first = finder.pos(sizes[0])
                m.reference = [first.start.line, first.start.column, first.end.line, first.end.column, "1"]
            out.append(m)
    return out


def _image(finder, sizes) -> Optional[tuple]:
    """(H, W) of a 4-D factory whose spatial sizes are known and above 1 (a (N, 100, 1, 1) noise is no image)."""
    if len(sizes) != 4:
        return None
    h, w = _size_value(sizes[2], finder), _size_value(sizes[3], finder)
    return (h, w) if h is not None and w is not None and h > 1 and w > 1 else None


def op_channels_last(program, finder):
    out = []
    for _, sizes, box in finder.factories:
        if _image(finder, sizes) and _size_value(sizes[1], finder) != _size_value(sizes[3], finder):
            out.append(_resize(program, "channels_last", finder, sizes, box, [0, 2, 3, 1]))
    return out


def op_transpose_2d(program, finder):
    out = []
    for _, sizes, box in finder.factories:
        if len(sizes) == 2:
            a, b = (_size_value(s, finder) for s in sizes)
            if a is None or b is None:  # unknown names: compare what is written
                a, b = finder.source(sizes[0]), finder.source(sizes[1])
            if a != b:
                out.append(_resize(program, "transpose_2d", finder, sizes, box, [1, 0]))
    return out


def op_image_size(program, finder):
    out = []
    for _, sizes, box in finder.factories:
        hw = _image(finder, sizes)
        if hw:
            new = {2: str(IMAGE_SIZES.get(hw[0], hw[0] * 3 // 4)), 3: str(IMAGE_SIZES.get(hw[1], hw[1] * 3 // 4))}
            out.append(_resize(program, "image_size", finder, sizes, box, [0, 1, 2, 3], new))
    return out


def op_unassigned_view(program, finder):
    # Drop `x = `: the statement computes the reshaped tensor and throws it away (same line, same indent).
    out = []
    for node in finder.assigns:
        target, value = finder.pos(node.targets[0].target), finder.pos(node.value)
        if target.start.line == value.start.line:
            original = finder.source(node)[:value.start.column - target.start.column]
            out.append(Mutant(program, "unassigned_view", target.start.line, target.start.column,
                              value.start.line, value.start.column, original, ""))
    return out


def op_start_dim_0(program, finder):
    return [_edit(program, "start_dim_0", finder, node, new) for node, new in finder.flattens]


def op_drop_keepdim(program, finder):
    out = []
    for call in finder.keepdims:
        args = [a for a in call.args if not (a.keyword is not None and a.keyword.value == "keepdim")]
        if args:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        new = finder.module_code(call.with_changes(args=args, lpar=[], rpar=[]))
        out.append(_edit(program, "drop_keepdim", finder, call, new))
    return out


def op_swap_name(program, finder, scopes: dict):
    """A layer argument that is a variable holding an int, replaced by another int variable of the same scope
    (`nn.GroupNorm(8, out_ch)` -> `nn.GroupNorm(8, in_ch)`): which names hold ints is known from running the
    unmutated program (`scopes`, the worker's trace). A name read from the module's globals swaps with
    another int global (`ngf` for `ndf`)."""
    out = []
    for layer, param, value, scope in finder.layer_args:
        if not isinstance(value, cst.Name) or param not in SIZES:
            continue
        name, line = value.value, finder.pos(value).start.line
        local = scopes.get(scope, {})
        where = local if name in local else scopes.get("<module>:1", {})
        ints = _int_names(where)
        if name not in ints:
            continue
        # A global read inside a function may be bound anywhere above the call that runs it; a name of the
        # call's own scope must be bound above the call, or the mutant fails on the name, not on a shape.
        read_late = where is not local and scope != "<module>:1"
        for other, (values, first) in sorted(ints.items()):
            # Another int with the same values would be no change at all.
            if other != name and values != ints[name][0] and (read_late or first <= line):
                out.append(_edit(program, "swap_name", finder, value, other, f"{layer}.{param}"))
    return out


def _int_names(scope: dict) -> dict:
    """Names that only ever held ints (bools excluded) -> (the values seen, the first line they were seen)."""
    return {n: (tuple(e["ints"]), e["first"]) for n, e in scope.items()
            if e["types"] == ["int"] and not n.startswith("_")}


def op_literal(program, finder):
    out = []
    for layer, param, value, _ in finder.layer_args:
        v = _int(value)
        if v is None:
            continue
        if param in CHANNELS:
            new = v * 2
        elif param in FEATURES:
            new = v + 1 if v % 2 else v - 1  # an off-by-one either way, fixed per value (deterministic)
        elif param in GEOMETRY:
            new = v + GEOMETRY[param]
        else:
            continue
        out.append(_edit(program, "literal", finder, value, str(new), f"{layer}.{param}"))
    return out


def mutants(program: str, text: str, scopes: Optional[dict], operators=OPERATORS, cap: int = CAP) -> list:
    """Every operator's mutants of one program, at most `cap` each (seeded by program and operator).
    swap_name needs `scopes` (the int locals from running the program); without them it makes none."""
    _, finder = find(text)
    out = []
    for op in operators:
        if op == "swap_name":
            found = op_swap_name(program, finder, scopes) if scopes is not None else []
        else:
            found = globals()[f"op_{op}"](program, finder)
        unique = {m.id: m for m in found if m is not None and m.new != m.original}
        chosen = sorted(unique.values(), key=lambda m: (m.line, m.col, m.new))
        if len(chosen) > cap:
            chosen = sorted(random.Random(f"{program}:{op}").sample(chosen, cap), key=lambda m: (m.line, m.col, m.new))
        out.extend(chosen)
    return out


# --------------------------------------------------------------------------------------------------------
# The static side: shapels in process, under a hard time limit.
# --------------------------------------------------------------------------------------------------------

@contextmanager
def time_limit(seconds: int):
    """SIGALRM (main thread only; elsewhere no limit): the engine's own budget stops it first in practice."""
    if not hasattr(signal, "setitimer") or os.name != "posix":
        yield
        return
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise TimeoutError(f"shapels took over {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _fix_dict(fix, text: str) -> Optional[dict]:
    if fix is None or fix.span is None:
        return None
    s = fix.span
    starts = _line_starts(text)
    old = text[starts[s.start_line - 1] + s.start_col:starts[s.end_line - 1] + s.end_col] \
        if s.end_line <= len(starts) else None
    return {"message": fix.message, "content": fix.content, "old": old,
            "span": [s.start_line, s.start_col, s.end_line, s.end_col]}


def shapels_errors(text: str, path: str, options=None) -> dict:
    """The error-level findings in the order shapels reports them (by position), each with its preferred
    fix and alternatives as plain dicts. `options`: the engine's Options (default: its own)."""
    from shapels.analysis.engine import analyze

    try:
        with time_limit(STATIC_TIMEOUT):
            result = analyze(text, path) if options is None else analyze(text, path, options)
    except Exception as error:  # noqa: BLE001 - an engine crash is a result to report, not a reason to stop
        return {"errors": [], "partial": True, "crash": f"{type(error).__name__}: {error}"[:300]}
    errors = [{"code": f.code, "line": f.span.start_line, "col": f.span.start_col, "message": f.message,
               "fix": _fix_dict(f.fix, text),
               "alternatives": [d for d in (_fix_dict(a, text) for a in f.alternatives) if d]}
              for f in result.findings if f.severity == "error" and f.span is not None]
    return {"errors": errors, "partial": result.partial, "crash": None}


def apply_fix(text: str, fix: dict) -> str:
    line, col, end_line, end_col = fix["span"]
    return splice(text, line, col, end_line, end_col, fix["content"])


# --------------------------------------------------------------------------------------------------------
# Judging a fix against the unmutated program's run.
# --------------------------------------------------------------------------------------------------------

def _calls(label: dict) -> dict:
    return {(c["module"], c["call"]): (c["in"], c["out"]) for c in label.get("calls", [])}


def _first_tensor(shape):
    if isinstance(shape, list):
        return shape
    if isinstance(shape, dict):
        for item in shape["seq"]:
            found = _first_tensor(item)
            if found is not None:
                return found
    return None


def same_shapes(base: dict, other: dict) -> bool:
    """Every module call of the original, and no other, with the same input and output shapes."""
    return _calls(base) == _calls(other)


def batch_merged(base: dict, other: dict) -> bool:
    """Some module call (the same module, the same call) got an input of another rank or another dim 0."""
    mine = _calls(other)
    for key, (shape_in, _) in _calls(base).items():
        if key not in mine:
            continue
        a, b = _first_tensor(shape_in), _first_tensor(mine[key][0])
        if a is None or b is None:
            continue
        if len(a) != len(b) or (a and a[0] != b[0]):
            return True
    return False


def judge(base: dict, fixed: dict) -> str:
    """restores | batch merged | shapes differ | fails (the fixed program's own run)."""
    if not fixed["runs"]:
        return "fails"
    if same_shapes(base, fixed):
        return "restores"
    return "batch merged" if batch_merged(base, fixed) else "shapes differ"


# --------------------------------------------------------------------------------------------------------
# Evaluation.
# --------------------------------------------------------------------------------------------------------

def programs(only: Optional[str] = None) -> list:
    return [p for p in sorted(PROGRAMS.glob("*.py")) if only is None or p.stem == only]


def _folder() -> str:
    """The programs' folder as the results name it (relative to the repository when inside it)."""
    where = PROGRAMS.resolve()
    return str(where.relative_to(ROOT) if where.is_relative_to(ROOT) else where)


def evaluate_program(path: Path, labeller: Labeller, operators=OPERATORS) -> dict:
    text = path.read_text()
    base = labeller.label(text, str(path), trace=True)
    static = shapels_errors(text, str(path))
    row = {"program": path.stem, "runs": base["runs"], "error": base["error"], "base_errors": static["errors"],
           "base_crash": static["crash"], "mutants": []}
    if not base["runs"]:
        return row
    for m in mutants(path.stem, text, base.get("locals"), operators):
        row["mutants"].append(evaluate_mutant(m, text, path, base, labeller))
    return row


def evaluate_mutant(m: Mutant, text: str, path: Path, base: dict, labeller: Labeller, options=None) -> dict:
    mutated = m.apply(text)
    label = labeller.label(mutated, str(path))
    original = base
    if m.reference is not None:
        base = labeller.label(m.intended(text), str(path))
    static = shapels_errors(mutated, str(path), options)
    errors = static["errors"]
    entry = {**asdict(m), "mutated_line": mutated.splitlines()[m.line - 1].strip(), "fails": not label["runs"],
             "error_type": label["error_type"], "error": label["error"], "error_line": label["error_line"],
             "silent": label["runs"] and not same_shapes(base, label), "errors": errors, "partial": static["partial"],
             "crash": static["crash"], "detected": bool(errors), "on_line": any(e["line"] == m.line for e in errors),
             "verdict": None, "alt_restores": False}
    if label["runs"] or not errors:
        return entry
    # drop_batch: the batch of one, or the unmutated program's own batch size (where the driver's other
    # inputs say it), both keep what the author meant
    bases = [b for b in ([base, original] if m.reference is not None else [base]) if b["runs"]]
    fix = errors[0]["fix"]
    if not bases or fix is None and m.reference is not None and not base["runs"]:
        # e.g. a batch of one in a training-mode BatchNorm, and no fix that gives back the batch size
        entry["verdict"] = "intended program fails"
        return entry
    entry["verdict"] = "no fix" if fix is None else _best(fix, mutated, path, bases, labeller)
    entry["alt_verdicts"] = [_best(alt, mutated, path, bases, labeller) for alt in errors[0]["alternatives"]]
    entry["alt_restores"] = "restores" in entry["alt_verdicts"]
    return entry


def _best(fix: dict, text: str, path: Path, bases: list, labeller: Labeller) -> str:
    """The fix's verdict against the first reference program it restores, else against the first."""
    verdicts = [_try(fix, text, path, base, labeller) for base in bases]
    return "restores" if "restores" in verdicts else verdicts[0]


def _try(fix: dict, text: str, path: Path, base: dict, labeller: Labeller) -> str:
    try:
        fixed = apply_fix(text, fix)
    except (IndexError, ValueError):
        return "unappliable"
    return judge(base, labeller.label(fixed, str(path)))


def summarise(entries: list) -> dict:
    failing = [e for e in entries if e["fails"]]
    detected = [e for e in failing if e["detected"]]
    running = [e for e in entries if not e["fails"]]
    return {
        "mutants": len(entries), "failing": len(failing), "running": len(running),
        "silent": sum(e["silent"] for e in running),
        "detected": len(detected), "on_line": sum(e["on_line"] for e in detected),
        "restores": sum(e["verdict"] == "restores" for e in detected),
        "alt_restores": sum(e["alt_restores"] for e in detected),
        "either_restores": sum(e["verdict"] == "restores" or e["alt_restores"] for e in detected),
        "batch_merged": sum(e["verdict"] == "batch merged" for e in detected),
        # drop_batch judges against the program with a batch of one; where that program itself fails
        # (labels of the old batch, BatchNorm training on one sample) no fix can restore it
        "no_reference": sum(e["verdict"] == "intended program fails" for e in detected),
        "alarms": sum(e["detected"] for e in running),
        "partial": sum(e["partial"] for e in entries),
        "crashes": sum(bool(e["crash"]) for e in entries),
    }


def _pct(n: int, d: int) -> str:
    return f"{n} ({100 * n / d:.0f}%)" if d else f"{n}"


HEADER = ("| operator | mutants | failing | detected | on line (of failing) | on line (of detected) | fix restores "
          "| alt restores | fix or alt restores | batch merged | errors on running (false alarms) "
          "| running, shapes changed | shapels crashed / partial | reference fails | fix restores (of restorable) |")


def table(rows: list, operators=OPERATORS) -> list:
    entries = [e for r in rows for e in r["mutants"]]
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    groups = [(op, [e for e in entries if e["operator"] == op]) for op in operators] + [("**all**", entries)]
    for name, group in groups:
        s = summarise(group)
        f, d = s["failing"], s["detected"]
        lines.append(f"| {name} | {s['mutants']} | {f} | {_pct(d, f)} | {_pct(s['on_line'], f)} "
                     f"| {_pct(s['on_line'], d)} "
                     f"| {_pct(s['restores'], f)} | {_pct(s['alt_restores'], f)} | {_pct(s['either_restores'], f)} "
                     f"| {s['batch_merged']} | {s['alarms']} of {s['running']} | {s['silent']} "
                     f"| {s['crashes']} / {s['partial']} | {s['no_reference']} "
                     f"| {_pct(s['restores'], f - s['no_reference'])} |")
    return lines


def _cell(text) -> str:
    text = str(text if text is not None else "").replace("\n", " ").replace("|", "\\|")
    return text if len(text) <= 170 else text[:167] + "..."


def _fix_text(fix: Optional[dict]) -> str:
    if fix is None:
        return "(none)"
    line, col = fix["span"][0], fix["span"][1]
    return f"line {line}:{col + 1} `{fix['old']}` → `{fix['content']}`"


def _mutation(e: dict) -> str:
    """The mutated line as it reads now, and what was there before."""
    return f"`{_cell(e['mutated_line'])}` (was `{_cell(e['original'])}`)"


def render(rows: list, intro: Optional[list] = None, operators=OPERATORS) -> str:
    """The results file; `intro` (a title and what was measured, as lines) replaces this corpus's own."""
    entries = [e for r in rows for e in r["mutants"]]
    fps = [(r["program"], e) for r in rows for e in r["base_errors"]]
    crashes = [(r["program"], "(unmutated)", r["base_crash"]) for r in rows if r["base_crash"]]
    crashes += [(e["program"], f"{e['operator']} line {e['line']}", e["crash"]) for e in entries if e["crash"]]
    broken = [r["program"] for r in rows if not r["runs"]]
    if intro is None:
        intro = ["# The intent mutation corpus: the right line and the right fix", "",
                 "Written by `.venv/bin/python corpus/intent_mutants.py` (see its docstring). "
                 f"{len(rows)} working programs in `{_folder()}/`, {len(entries)} one-line mutants "
                 f"(at most {CAP} per program and operator), each labelled by running it with torch."]
    out = [
        *intro,
        "",
        "- *failing*: the mutant raises when run. *detected*: shapels reports an error-level finding. *on line*: "
        "one starts on the mutated line (the line a person had to edit).",
        "- *fix restores*: the first error's preferred fix, applied and run, gives every module call the input "
        "and output shapes of the unmutated program. *alt restores*: one of that finding's alternatives does. "
        "*batch merged*: the fix runs but some call's input has another rank or dim 0 (target 0).",
        "- *errors on running*: error-level findings on mutants that run (false alarms, target 0). "
        "*running, shapes changed*: mutants that run but change some call's shapes (silent bugs; an error "
        "there would still count as a false alarm above).",
        "- *reference fails*: drop_batch mutants whose batch-of-one reference program itself fails under torch "
        "(targets of the old batch size, BatchNorm training on one sample) and that got no fix: a fix restores "
        "a drop_batch mutant when it gives back either the batch-of-one program or the unmutated program (its "
        "batch size, which the driver's other inputs may say). *fix restores (of restorable)* leaves them out.",
        "",
        f"Unmutated programs with an error-level finding (false positives, target 0): {len(fps)}"
        + ("" if not fps else ": " + "; ".join(f"{p} line {e['line']} {e['code']}" for p, e in fps)),
    ]
    if broken:
        out.append(f"Programs that do not run (left out): {', '.join(broken)}")
    out.append(f"shapels: {shapels_source()}")
    out += ["", *table(rows, operators), ""]
    out += ["## Every failing mutant", "",
            "| program | operator | line | mutation | torch says | shapels first error | its fix | verdict |",
            "|---|---|---|---|---|---|---|---|"]
    for e in entries:
        if not e["fails"]:
            continue
        first = e["errors"][0] if e["errors"] else None
        said = f"line {first['line']}: {first['code']}: {first['message']}" if first else "(nothing)"
        verdict = e["verdict"] or "not detected"
        if e["detected"] and not e["on_line"]:
            verdict += "; not on the line"
        if e["alt_restores"]:
            verdict += "; an alternative restores"
        torch_says = f"line {e['error_line']}: {e['error_type']}: {e['error']}"
        out.append(f"| {e['program']} | {e['operator']} | {e['line']} | {_mutation(e)} "
                   f"| {_cell(torch_says)} | {_cell(said)} | {_cell(_fix_text(first and first['fix']))} | {verdict} |")
    if crashes:
        out += ["", "## shapels crashed", "", "| program | mutant | exception |", "|---|---|---|"]
        out += [f"| {p} | {where} | {_cell(crash)} |" for p, where, crash in crashes]
    alarms = [e for e in entries if not e["fails"] and e["detected"]]
    if alarms:
        out += ["", "## Errors on mutants that run", "", "| program | operator | line | mutation | shapels |",
                "|---|---|---|---|---|"]
        for e in alarms:
            first = e["errors"][0]
            said = f"line {first['line']}: {first['code']}: {first['message']}"
            out.append(f"| {e['program']} | {e['operator']} | {e['line']} | {_mutation(e)} | {_cell(said)} |")
    return "\n".join(out) + "\n"


def archived_shapels(rev: str) -> tuple:
    """(directory holding shapels/ as it was at commit `rev`, the short commit): `git archive` into .tools,
    so that a past shapels (the baseline) is measured with today's corpus."""
    import io
    import tarfile

    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    dest = ROOT / ".tools" / f"shapels-{commit}"
    if not (dest / "shapels" / "__init__.py").is_file():
        archive = subprocess.run(["git", "archive", commit, "shapels"], cwd=ROOT, capture_output=True,
                                 check=True).stdout
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest)
    return dest, commit


ARCHIVED: Optional[str] = None  # the commit measured when --commit is given


def shapels_source() -> str:
    """Which shapels was measured: its commit, and whether its files differ from the commit."""
    if ARCHIVED is not None:
        return f"commit {ARCHIVED} (`--commit {ARCHIVED}`: its `shapels/` from `git archive`)"
    import shapels

    where = Path(shapels.__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=where, capture_output=True,
                               text=True, check=True).stdout.strip()
        state = f"commit {commit}" + (" with uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        state = "not a git checkout (e.g. `git archive` of a commit)"
    label = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
    return f"`{label}`, {state}"


def main(argv=None) -> int:
    global PROGRAMS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=Path, default=PROGRAMS,
                        help=f"the folder of programs (default: {PROGRAMS.relative_to(ROOT)})")
    parser.add_argument("--program", help="only this program (file stem in the --programs folder)")
    parser.add_argument("--operator", choices=OPERATORS, help="only this operator")
    parser.add_argument("--write", action="store_true", help="write the results even with a filter")
    parser.add_argument("--results", type=Path, help=f"where to write them (default: {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--commit", help="measure shapels as it was at this commit (the baseline) rather than "
                        "the working tree's; writes no results file unless --results is given")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker()
        return 0
    PROGRAMS = args.programs.resolve()
    if not PROGRAMS.is_dir():
        parser.error(f"--programs: no folder {args.programs}")
    default_folder = PROGRAMS == (HERE / "intent").resolve()
    if args.commit:
        global ARCHIVED
        where, ARCHIVED = archived_shapels(args.commit)
        sys.path.insert(0, str(where))
    operators = [args.operator] if args.operator else OPERATORS
    labeller = Labeller()
    started = time.monotonic()
    rows = []
    try:
        for path in programs(args.program):
            rows.append(evaluate_program(path, labeller, operators))
            n = len(rows[-1]["mutants"])
            print(f"  {path.stem}: {n} mutants, {sum(e['fails'] for e in rows[-1]['mutants'])} failing",
                  file=sys.stderr, flush=True)
    finally:
        labeller.save()
        labeller.close()
    seconds = time.monotonic() - started
    print("\n".join(table(rows, operators)))
    fps = sum(len(r["base_errors"]) for r in rows)
    print(f"\n{len(rows)} programs, {fps} error-level findings on them (false positives), {seconds:.0f} s")
    whole = args.program is None and args.operator is None and args.commit is None
    if not default_folder and args.results is None:
        if whole or args.write:
            print("no results file written: give --results for a --programs folder other than the default")
        return 0
    if whole or args.write or args.results:
        target = args.results or RESULTS
        target.write_text(render(rows))
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
