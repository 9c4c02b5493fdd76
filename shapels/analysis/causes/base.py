"""What every cause needs: the Cause itself, the file's syntax read once (Source), and readings of a
finding's evidence shared by several causes (the size a layer expected, the square map a Linear was
written for)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import libcst as cst

from shapels import rules
from shapels.analysis.findings import Finding, Fix
from shapels.codes import LINEAR_IN_FEATURES, Code
from shapels.rules.base import to_dim
from shapels.rules.registry import Window
from shapels.symbolic import dims as D
from shapels.values import Layer, Tensor


@dataclass
class Cause:
    code: Code  # the diagnostic's code once this is the cause
    fix: Fix
    diagnosis: str  # the finding's new message: the cause, said in the author's terms


class Source:
    """The file's syntax, read once per repair: where statements, calls and assignments are."""

    def __init__(self, module: cst.Module, module_globals: Optional[dict] = None):
        self.module = module
        self.globals = module_globals or {}  # the file's top-level names and values, after its run
        self.functions: set = set()  # ids of the functions defined in this file
        self.methods: set = set()  # ids of functions defined in a class body
        self.assigned: dict = {}  # id(call) -> the name it is assigned to (`x = torch.randn(...)`)
        self.bare_calls: list = []  # (unit, Expr statement) whose value is a call
        self.calls: list = []  # (unit, Call) for every call in a function
        self.top_level_calls: list = []  # (statement, Call) for every call in a top-level statement
        self.int_defaults: list = []  # (parameter name, default expression) of every def's parameters
        self.listed: set = set()  # ids of the expressions written as items of a list or tuple (a Sequential's layers)
        self._rebound: dict = {}  # id(function) -> the names it rebinds (rebound())
        self._uses: dict = {}  # id(function) -> how often each name occurs in it (name_uses())
        self._named: Optional[dict] = None  # callee's last name -> its calls (calls_named())
        self._units: dict = {}  # id(call) -> the unit it is written in (unit_of())
        module.visit(_Collector(self))

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def calls_named(self, name: str) -> list:
        """The file's calls whose callee is `name` or ends in `.name` (`nn.Conv2d(...)`, `Conv2d(...)`)."""
        if self._named is None:
            self._named, self._units = {}, {}
            for unit, call in self.calls + self.top_level_calls:
                func = call.func
                last = func.value if isinstance(func, cst.Name) else \
                    func.attr.value if isinstance(func, cst.Attribute) else None
                if last is not None:
                    self._named.setdefault(last, []).append(call)
                    self._units[id(call)] = unit
        return self._named.get(name, [])

    def unit_of(self, call: cst.Call):
        """The function (or top-level statement) a call found by calls_named() is written in."""
        self.calls_named("")
        return self._units.get(id(call))

    def name_uses(self, unit: cst.FunctionDef) -> dict:
        """How often each name occurs in the function's body (an unused parameter occurs 0 times)."""
        if id(unit) not in self._uses:
            counter = _Uses()
            unit.body.visit(counter)
            self._uses[id(unit)] = counter.counts
        return self._uses[id(unit)]

    def rebound(self, unit: cst.CSTNode) -> frozenset:
        """The names a function binds more than once or in a loop (`n_in = i` after each layer): their
        final values are not the ones every statement saw."""
        if id(unit) not in self._rebound:
            finder = _Bindings()
            if isinstance(unit, cst.FunctionDef):
                unit.body.visit(finder)
            self._rebound[id(unit)] = frozenset(n for n, count in finder.counts.items() if count > 1)
        return self._rebound[id(unit)]


class _Uses(cst.CSTVisitor):
    """How often each name is read or written in a function's body (nested functions included)."""

    def __init__(self):
        self.counts: dict = {}

    def visit_Name(self, node: cst.Name) -> None:
        self.counts[node.value] = self.counts.get(node.value, 0) + 1

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # `self.embed_dim`'s attr is not the name embed_dim
        return False


class _Bindings(cst.CSTVisitor):
    """How often each name is bound (a binding inside a loop counts twice)."""

    def __init__(self):
        self.counts: dict = {}
        self.loops = 0

    def _bind(self, target: cst.CSTNode) -> None:
        if isinstance(target, cst.Name):
            self.counts[target.value] = self.counts.get(target.value, 0) + (2 if self.loops else 1)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value)

    def visit_For(self, node: cst.For) -> None:
        self.loops += 1
        self._bind(node.target)

    def leave_For(self, original_node: cst.For) -> None:
        self.loops -= 1

    def visit_While(self, node: cst.While) -> None:
        self.loops += 1

    def leave_While(self, original_node: cst.While) -> None:
        self.loops -= 1

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # a nested function's names are its own

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


class _Collector(cst.CSTVisitor):
    def __init__(self, source: Source):
        self.source = source
        self.units: list = []
        self.classes = 0
        self.statement = None  # the top-level statement being read (a driver's `model = nn.Sequential(...)`)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        if not self.units and not self.classes:
            self.statement = node

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        if original_node is self.statement:
            self.statement = None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.source.functions.add(id(node))
        for param in list(node.params.params) + list(node.params.kwonly_params):
            if param.default is not None:
                self.source.int_defaults.append((param.name.value, param.default))
        if self.classes and not self.units:
            self.source.methods.add(id(node))
        self.units.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.units.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self.source.assigned[id(node.value)] = node.targets[0].target.value

    def visit_Expr(self, node: cst.Expr) -> None:
        if self.units and isinstance(node.value, cst.Call):
            self.source.bare_calls.append((self.units[-1], node))

    def visit_List(self, node: cst.List) -> None:
        self.source.listed.update(id(e.value) for e in node.elements)

    def visit_Tuple(self, node: cst.Tuple) -> None:
        self.source.listed.update(id(e.value) for e in node.elements)

    def visit_Call(self, node: cst.Call) -> None:
        if self.units:
            self.source.calls.append((self.units[-1], node))
        elif self.statement is not None:
            self.source.top_level_calls.append((self.statement, node))


def failing_unit(finding: Finding):
    evidence = finding.evidence
    return evidence.call_loc.unit if evidence is not None and evidence.call_loc is not None else None


def shape_text(dims: list) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 5] + "...)"


def kind_of(layer) -> str:
    """`Conv2d` for a torch.nn.Conv2d layer; "" for anything else (a step with no layer)."""
    return layer.short_kind if isinstance(layer, Layer) else ""


def expected_size(finding: Finding) -> Optional[int]:
    """The size the blamed layer argument holds (`in_channels` 3), which the input should have had."""
    evidence = finding.evidence
    layer = evidence.layer if evidence is not None else None
    if layer is None or not finding.param or not hasattr(layer, "args"):
        return None
    return D.as_int(to_dim(layer.args.get(finding.param))) if finding.param in layer.args else None


def window_of(layer) -> Optional[Window]:
    """The window a layer slides over its map (a conv's, a pool's), as its registry entry declares it; None
    for a layer that slides none, or a step with no layer."""
    return rules.window_of(layer.kind) if isinstance(layer, Layer) else None


def padded_window(layer) -> Optional[Window]:
    """The window of a convolution or pool padded by an amount, on a channels-first map (torch's): its
    kernel, stride and padding set the map's size by the rules' arithmetic (geometry.py). A Keras window,
    padded by a mode, is keras_geometry.py's."""
    window = window_of(layer)
    return window if window is not None and window.slides in ("conv", "pool") and not window.padding_mode else None


def is_one_d_sliding(steps) -> bool:
    """Whether the maps in these steps are 1-D sequences (N, C, L): a Conv1d or 1-D pool made one."""
    return any(window is not None and window.spatial == 1 for window in (padded_window(step.layer) for step in steps))


def map_size(shape, one_d: bool) -> Optional[int]:
    """The side of a square 2-D map (N, C, H, W), or the length of a 1-D map (N, C, L) where `one_d`."""
    if shape is None or not shape.ranked:
        return None
    if one_d and shape.rank == 3:
        return D.as_int(shape.dims[2])
    if shape.rank != 4:
        return None
    h, w = D.as_int(shape.dims[2]), D.as_int(shape.dims[3])
    return h if h is not None and h == w else None


def map_side(tensor: Tensor, expected: Optional[int]) -> Optional[tuple]:
    """(the side the last square map has, the side the Linear was sized for); for a 1-D map (a Conv1d's
    (N, C, L)), its length and the length the Linear was sized for."""
    if expected is None:
        return None
    one_d = is_one_d_sliding(tensor.trace)
    for step in reversed(tensor.trace):
        shape = step.shape
        if not shape.ranked or shape.rank != (3 if one_d else 4):
            continue
        channels = D.as_int(shape.dims[1])
        got = map_size(shape, one_d)
        if channels is None or got is None or got == 0 or expected % channels:
            return None
        if one_d:
            wanted = expected // channels
            return (got, wanted) if wanted != got else None
        side = math.isqrt(expected // channels)
        return (got, side) if side * side * channels == expected and side != got else None
    return None


def flatten_width(finding: Finding) -> Optional[int]:
    """The features per sample of a flattening `x.view(-1, 16 * 5 * 5)` or `x.view(x.size(0), 16 * 5 * 5)`:
    its second size, where the first is -1 or the input's own batch size."""
    evidence = finding.evidence
    call = evidence.call_loc.node if evidence is not None and evidence.call_loc is not None else None
    sizes = evidence.sizes if evidence is not None else None
    if not isinstance(call, cst.Call) or not sizes or len(sizes) != 2:
        return None
    first = call.args[0].value if call.args else None
    is_minus_one = isinstance(first, cst.UnaryOperation) and isinstance(first.operator, cst.Minus) and \
        isinstance(first.expression, cst.Integer) and first.expression.value == "1"
    width = D.as_int(sizes[1])
    if width is None or width < 1:
        return None
    return width if is_minus_one or _keeps_the_batch(sizes[0], evidence.source) else None


def _keeps_the_batch(size: Optional[D.Dim], source) -> bool:
    """Whether a view's first size is its input's dim 0 (`x.size(0)`, `x.shape[0]`), the same dim."""
    if not isinstance(source, Tensor) or not source.shape.ranked or source.shape.rank < 2:
        return False
    return size is not None and D.eq(size, source.shape.dims[0]) is True  # the asked sizes are dims already


def written_for_a_map(finding: Finding) -> bool:
    """Whether the blamed size is written as a product (`16 * 5 * 5`, `28 * 28`): the author wrote down the
    map it was computed for, so an input that gives that map keeps what they meant."""
    node = finding.loc.node if finding.loc is not None else None
    return isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply)


MAKES_WIDTH = ("out_features", "out_channels", "embedding_dim", "hidden_size", "d_model", "embed_dim",
                "num_features", "normalized_shape")


def conv_map_into_linear(finding: Finding) -> Optional[tuple]:
    """(the map's shape, in_features) when a Linear got a tensor of rank 3 or more that a convolution or
    pooling layer made."""
    evidence = finding.evidence
    layer = evidence.layer if evidence is not None else None
    tensor = evidence.source if evidence is not None else None
    if finding.code != LINEAR_IN_FEATURES or layer is None or not isinstance(tensor, Tensor):
        return None
    shape = tensor.shape
    if not shape.ranked or shape.rank < 3 or not tensor.trace:
        return None
    step = tensor.trace[-1]
    made_by = (getattr(step.layer, "kind", None) or step.label).lower()
    if not any(word in made_by for word in ("conv", "pool", "norm", "upsample", "interpolate")):
        return None
    expected = to_dim(layer.args.get("in_features")) if hasattr(layer, "args") else None
    return (shape, expected) if expected is not None else None
