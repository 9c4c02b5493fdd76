"""Causes of a shape error beyond the constructor argument torch blames, as candidate edits.

A mismatch at `fc1` is often not `fc1`'s fault: the driver's image has no batch dim, `x.view(...)`'s
result was never assigned, a flatten swallowed the batch, a reduction dropped the dim a broadcast
needed. Each generator here reads the failing call's evidence (the tensors it got and where they came
from) or the syntax around it, and proposes an edit with a diagnosis in the author's terms. Nothing
here decides: repair.py re-analyses the edited text and keeps a cause only if the file then runs
clean, so a proposal that is wrong costs a trial, never a false fix.

The order of `causes()` is the preference: a statement that certainly does nothing comes before a
changed input, which comes before a changed size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Optional

import libcst as cst

from shapels.analysis.findings import Finding, Fix
from shapels.analysis.positions import Loc
from shapels.rules.base import to_dim
from shapels.rules.common import conv_out, pool_out
from shapels.symbolic import dims as D
from shapels.values import Tensor

# Tensor methods that return a new tensor and leave their receiver unchanged: a statement that only
# calls one of them does nothing.
_RETURNS_NEW = frozenset({
    "view", "reshape", "flatten", "unflatten", "permute", "transpose", "t", "squeeze", "unsqueeze", "contiguous",
    "view_as", "reshape_as", "expand", "expand_as", "repeat", "movedim", "swapaxes", "narrow",
})
# torch.<name>(x, ...) functions of the same kind.
_FUNCTIONS_RETURNING_NEW = frozenset({"flatten", "reshape", "squeeze", "unsqueeze", "permute", "transpose", "movedim"})
# Reductions that drop their dim unless keepdim=True; the position of `dim` among positional arguments
# (after the tensor for the torch.<name> form).
_REDUCTIONS = frozenset({"mean", "std", "var", "sum", "amax", "amin", "norm", "logsumexp", "prod", "max", "min"})
# Image sizes people build models for: the candidates when the input's size looks like the cause.
_IMAGE_SIZES = (28, 32, 64, 96, 112, 128, 160, 192, 224, 227, 256, 299, 320, 384, 448, 512)
MAX_SIZE_TRIALS = 2


@dataclass
class Cause:
    code: str  # the diagnostic's code once this is the cause (codes.py)
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
        module.visit(_Collector(self))

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)


class _Collector(cst.CSTVisitor):
    def __init__(self, source: Source):
        self.source = source
        self.units: list = []
        self.classes = 0

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.source.functions.add(id(node))
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

    def visit_Call(self, node: cst.Call) -> None:
        if self.units:
            self.source.calls.append((self.units[-1], node))


def causes(finding: Finding, source: Source) -> Iterator[Cause]:
    """Candidate causes of `finding` that come before any constructor argument, the preferred first: each
    makes code that certainly does something unintended (a dropped result, a flattened batch, one sample
    where the model takes a batch) do what the rest of the program says."""
    yield from _discarded_results(finding, source)
    yield from _flattened_batch(finding, source)
    yield from _dropped_keepdim(finding, source)
    yield from _forgotten_flatten(finding, source)
    yield from _wrapped_width(finding)
    yield from _driver_input(finding, source, sizes=False)
    yield from _fixed_batch_state(finding, source)
    yield from _odd_geometry(finding)
    yield from _odd_width_in_a_broadcast(finding)
    yield from _channels_the_product_names(finding)


def other_names(finding: Finding, source: Source) -> Iterator[Cause]:
    """Another int name where the blamed layer's arguments are written as names. Tried before the number
    when that number would be written at a caller (`ResBlock(64, 128)`): the caller's hyperparameters
    stay, the class's own name is what was wrong."""
    yield from _other_name(finding, source)


def second_readings(finding: Finding, source: Source) -> Iterator[Cause]:
    """Causes as plausible as the constructor's number, tried when it fails and offered beside it when it
    works: an image size the model was built for, another name where the argument is written."""
    yield from _driver_input(finding, source, sizes=True)
    yield from _other_name(finding, source)


def names_first(finding: Finding) -> bool:
    """Whether the argument that sets the size, at the blamed layer or upstream, is written as a name:
    then the class's other names come before a number, which would replace the name with a literal or be
    written at a caller (`ResBlock(64, 128)`), changing the caller's hyperparameters."""
    evidence = finding.evidence
    if evidence is None:
        return False
    producer, produced = evidence.producer or (None, None)
    return finding.param in (getattr(evidence.layer, "named_args", None) or {}) or \
        produced in (getattr(producer, "named_args", None) or {})


def missing_layer(finding: Finding) -> Optional[str]:
    """The layer a pattern says is missing, where no edit could be checked: a residual add whose shortcut
    is the block's input unchanged while the branch changed its channels or size."""
    evidence = finding.evidence
    if finding.code != "broadcast-mismatch" or evidence is None or len(evidence.operands) != 2:
        return None
    for branch, shortcut in (evidence.operands, evidence.operands[::-1]):
        steps = {id(step) for step in branch.trace}
        rank4 = branch.shape.ranked and shortcut.shape.ranked and branch.shape.rank == shortcut.shape.rank == 4
        if rank4 and shortcut.trace and len(branch.trace) > len(shortcut.trace) and \
                all(id(step) in steps for step in shortcut.trace):
            return ("the shortcut adds the block's input unchanged, and the branch changed its channels or size: "
                    "the shortcut needs a downsample (a 1×1 Conv2d with the block's stride, then a norm)")
    return None


def written_for_a_map(finding: Finding) -> bool:
    """Whether the blamed size is written as a product (`16 * 5 * 5`, `28 * 28`): the author wrote down the
    map it was computed for, so an input that gives that map keeps what they meant."""
    node = finding.loc.node if finding.loc is not None else None
    return isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply)


def merges_batch(finding: Finding) -> Optional[str]:
    """Why the constructor's number fix would only make torch run, if it would: the model got one
    unbatched sample, or a Linear got a conv feature map whose last axis it would take as the features."""
    evidence = finding.evidence
    if evidence is None or not isinstance(evidence.source, Tensor):
        return None
    if any(step.unbatched for step in evidence.source.trace):
        return "a layer took its input as one unbatched sample, so the batch is not where the model expects it"
    if _conv_map_into_linear(finding) is not None:
        return "a Linear got a conv feature map and takes its last axis as the features; was a flatten forgotten?"
    return None


# -- statements in forward -------------------------------------------------------------------------
def _discarded_results(finding: Finding, source: Source) -> Iterator[Cause]:
    """`x.view(-1, 400)` alone on its line: its result is dropped and x is unchanged."""
    unit = _unit(finding)
    ordered = sorted(source.bare_calls, key=lambda pair: pair[0] is not unit)  # the failing function's first
    for fn, statement in ordered:
        call = statement.value
        target = _receiver(call)
        if target is None:
            continue
        text = source.code(call)
        fix = Fix(f"Assign the result: {target} = {_short(text)}", Loc(fn, statement), f"{target} = {text}",
                  target="the statement")
        what = call.func.attr.value if isinstance(call.func, cst.Attribute) else "it"
        yield Cause("unused-result", fix, f"the result of `{_short(text)}` is never used: {what} returns a new tensor and "
                         f"leaves {target} as it was")


def _receiver(call: cst.Call) -> Optional[str]:
    """`x` of `x.view(...)` or `torch.flatten(x, 1)`, when the call returns a new tensor and x is a name or
    an attribute (`self.h`)."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return None
    name = func.attr.value
    base = func.value
    if isinstance(base, cst.Name) and base.value == "torch" and name in _FUNCTIONS_RETURNING_NEW:
        first = call.args[0] if call.args else None
        if first is not None and first.keyword is None and not first.star and _is_target(first.value):
            return cst.Module(body=[]).code_for_node(first.value)
        return None
    if name in _RETURNS_NEW and _is_target(base) and not (isinstance(base, cst.Name) and base.value in ("torch", "F", "nn")):
        return cst.Module(body=[]).code_for_node(base)
    return None


def _is_target(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) or isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)


def _flattened_batch(finding: Finding, source: Source) -> Iterator[Cause]:
    """`nn.Flatten(start_dim=0)`, `torch.flatten(x, 0)`, `x.flatten(0)`: the batch becomes features."""
    for fn, call in source.calls:
        argument = _start_dim_argument(call)
        if argument is None:
            continue
        keyword = argument.keyword is not None
        fix = Fix("Flatten from dim 1: " + ("start_dim=1" if keyword else "1"), Loc(fn, argument.value), "1",
                  target="start_dim")
        yield Cause("flatten-batch", fix, f"`{_short(source.code(call))}` flattens from dim 0, which merges the batch into the "
                         "features: start_dim=1 keeps the batch dim")


def _start_dim_argument(call: cst.Call) -> Optional[cst.Arg]:
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
    if name not in ("Flatten", "flatten"):
        return None
    is_function = isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "torch"
    position = 1 if is_function else 0  # torch.flatten(x, start_dim) / x.flatten(start_dim) / nn.Flatten(start_dim)
    positional = [a for a in call.args if a.keyword is None]
    for argument in call.args:
        if argument.keyword is not None and argument.keyword.value == "start_dim":
            return argument if _is_zero(argument.value) else None
    if any(a.star for a in positional) or len(positional) <= position:
        return None
    return positional[position] if _is_zero(positional[position].value) else None


def _is_zero(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer) and node.value == "0"


def _dropped_keepdim(finding: Finding, source: Source) -> Iterator[Cause]:
    """`x - x.mean(-1)`, `self.fc1(x.mean(dim=(2, 3)))`: the reduction lost the dim that what follows
    lines up against. Candidates: reductions the failing tensors went through, and for a broadcast the
    reductions of the failing function (the reduced operand may be the other one)."""
    evidence = finding.evidence
    if evidence is None:
        return
    seen = set()
    traced = [(step.loc.unit, step.loc.node) for tensor in evidence.operands for step in reversed(tensor.trace)
              if step.loc is not None and isinstance(step.loc.node, cst.Call)]
    unit = _unit(finding)
    local = [(fn, call) for fn, call in source.calls if fn is unit] if finding.code == "broadcast-mismatch" else []
    for fn, call in traced + local:
        if id(call) in seen or not _reduces_a_dim(call):
            continue
        seen.add(id(call))
        text = source.code(call)
        body = text[:-1].rstrip()
        content = body + ("" if body.endswith(("(", ",")) else ", ") + "keepdim=True)"
        fix = Fix("Keep the reduced dim: keepdim=True", Loc(fn, call), content, target="the reduction")
        yield Cause("missing-keepdim", fix, f"`{_short(text)}` drops the reduced dim, so it no longer lines up "
                                            "with what follows: keepdim=True keeps it as size 1")


def _reduces_a_dim(call: cst.Call) -> bool:
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in _REDUCTIONS or not call.args:
        return False
    if any(a.keyword is not None and a.keyword.value == "keepdim" for a in call.args) or any(a.star for a in call.args):
        return False
    is_function = isinstance(func.value, cst.Name) and func.value.value == "torch"
    positional = [a for a in call.args if a.keyword is None]
    has_dim = any(a.keyword is not None and a.keyword.value == "dim" for a in call.args) or \
        len(positional) > (1 if is_function else 0)
    return has_dim and not (isinstance(func.value, cst.Name) and func.value.value in ("F", "nn"))


def _forgotten_flatten(finding: Finding, source: Source) -> Iterator[Cause]:
    """`self.fc1(x)` on a (N, C, H, W) map whose C*H*W is fc1's in_features: flatten it at the call."""
    found = _conv_map_into_linear(finding)
    if found is None:
        return
    shape, expected = found
    call = finding.evidence.call_loc.node if finding.evidence.call_loc is not None else None
    if not isinstance(call, cst.Call) or len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return
    if D.eq(D.dim_product(shape.dims[1:]), expected) is not True:
        return
    argument = call.args[0].value
    text = source.code(argument)
    if not isinstance(argument, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
        text = f"({text})"
    fix = Fix(f"Flatten the map first: {text}.flatten(1)", Loc(finding.evidence.call_loc.unit, argument),
              f"{text}.flatten(1)", target="the layer's input")
    yield Cause("missing-flatten", fix, f"{finding.evidence.layer.label} gets the feature map {shape.show()} unflattened: a Linear "
                     f"takes its last axis as the features; flattened from dim 1 it is (N, {D.show(expected)}), "
                     "what it expects")


def _conv_map_into_linear(finding: Finding) -> Optional[tuple]:
    """(the map's shape, in_features) when a Linear got a tensor of rank 3 or more that a convolution or
    pooling layer made."""
    evidence = finding.evidence
    layer = evidence.layer if evidence is not None else None
    tensor = evidence.source if evidence is not None else None
    if finding.code != "linear-in-features" or layer is None or not isinstance(tensor, Tensor):
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


def _wrapped_width(finding: Finding) -> Iterator[Cause]:
    """`nn.TransformerEncoder(layer, 2)` fed 256 features where `layer = nn.TransformerEncoderLayer(d_model=512,
    ...)`: torch fails in the encoder, but the argument to change is the wrapped layer's d_model, where it
    is written."""
    evidence = finding.evidence
    layer = evidence.layer if evidence is not None else None
    source = evidence.source if evidence is not None else None
    if layer is None or not isinstance(source, Tensor) or not source.shape.ranked or not source.shape.dims:
        return
    arrived = D.as_int(source.shape.dims[-1])
    for inner in (getattr(layer, "args", None) or {}).values():
        if not hasattr(inner, "arg_locs") or inner is layer or arrived is None:
            continue
        for param in _MAKES_WIDTH:
            where = inner.arg_locs.get(param)
            current = D.as_int(to_dim(inner.args.get(param))) if param in inner.args else None
            if where is None or current is None or current == arrived or not isinstance(where.node, cst.Integer):
                continue
            fix = Fix(f"Set {param} to {arrived}", where, str(arrived), target=f"the wrapped layer's {param}",
                      param=param)
            yield Cause(finding.code, fix, f"the layer {layer.label} wraps is built with {param}={current}, and "
                                           f"{arrived} features arrive: {finding.message}")
            return


# -- the driver's input ----------------------------------------------------------------------------
def _driver_input(finding: Finding, source: Source, sizes: bool) -> Iterator[Cause]:
    """The tensor the driver made has no batch dim, is channels-last, is transposed, or has an image
    size the model was not built for: the fix rewrites the sizes where it is made, in the driver's own
    terms (`torch.randn(batch_size, latent_dim)` is reordered, not turned into numbers)."""
    evidence = finding.evidence
    if evidence is None:
        return
    seen = set()
    for tensor in ([evidence.source] if evidence.source is not None else []) + list(evidence.operands):
        origin = _origin(tensor, source)
        if origin is None or id(origin[1]) in seen:
            continue
        seen.add(id(origin[1]))
        loc, call, dims, texts, holder = origin
        name = source.assigned.get(id(call))
        what = f"`{name}`" if name else "the input"
        for layout, diagnosis, size_only in _input_shapes(finding, tensor, dims, what):
            if size_only != sizes:
                continue
            new_texts = [texts[item] if isinstance(item, int) else item[0] for item in layout]
            new_dims = [dims[item] if isinstance(item, int) else int(item[0]) for item in layout]
            content = _factory_text(call, holder, new_texts, source)
            fix = Fix(f"Make the input {_shape_text(new_dims)}", loc, content, target="the model's input")
            yield Cause("input-shape", fix, diagnosis)


def _origin(tensor, source: Source) -> Optional[tuple]:
    """(loc, call, sizes, their texts, the tuple that holds them or None) of the driver's factory call that
    made this tensor: `torch.randn(1, 28, 28)`, `torch.zeros((n, 3))`, `torch.randint(0, 9, (40,))`. The
    sizes are what the analysis knows them to be; each must be known."""
    if not isinstance(tensor, Tensor) or not tensor.trace:
        return None
    first = tensor.trace[0]
    loc = first.loc
    if first.label != "input" or loc is None or not isinstance(loc.node, cst.Call) or id(loc.unit) in source.methods:
        return None
    call = loc.node
    if any(a.star for a in call.args) or any(a.keyword is not None and a.keyword.value == "size" for a in call.args):
        return None
    positional = [a.value for a in call.args if a.keyword is None]
    tuples = [v for v in positional if isinstance(v, (cst.Tuple, cst.List))]
    holder = tuples[0] if len(tuples) == 1 else None
    values = [element.value for element in holder.elements] if holder is not None else positional
    shape = first.shape
    dims = [D.as_int(d) for d in shape.dims] if shape.ranked else []
    starred = holder is not None and any(isinstance(e, cst.StarredElement) for e in holder.elements)
    if not values or len(values) != len(dims) or None in dims or starred:
        return None
    return loc, call, dims, [source.code(v) for v in values], holder


def _input_shapes(finding: Finding, tensor: Tensor, dims: list, what: str) -> Iterator[tuple]:
    """(layout, diagnosis, whether only the size changed) for each way the input may be wrong, the most
    specific first. A layout lists the new sizes: an index keeps that size as written, a 1-tuple is a new
    number."""
    expected = _expected_size(finding)
    old = _shape_text(dims)
    keep = list(range(len(dims)))
    no_batch = (f"{what} has no batch dim: the model takes a batch ({', '.join(['N'] + [str(d) for d in dims])}), "
                f"and {what} is one sample {old}")
    unbatched = any(step.unbatched for step in tensor.trace) or finding.code.endswith("-input-rank")
    if unbatched and len(dims) <= 4:
        yield [("1",)] + keep, no_batch, False
    if expected is not None and len(dims) >= 3 and dims[-1] == expected and dims[1] != expected:
        layout = [0, len(dims) - 1] + keep[1:-1]
        new = [dims[i] for i in layout]
        yield layout, f"{what} is channels-last {old}: the model takes channels at dim 1, {_shape_text(new)}", False
    if expected is not None and len(dims) == 2 and dims[0] == expected and dims[1] != expected:
        yield [1, 0], (f"{what} is transposed: {old}, where the model takes rows of {expected} features, "
                       f"{_shape_text([dims[1], dims[0]])}"), False
    if not unbatched and len(dims) <= 3:
        # No layer said so, but a batch of one is what a program that reads x.size(0) as the batch may need.
        yield [("1",)] + keep, no_batch, False
    for size in _image_sizes(finding, tensor, dims)[:MAX_SIZE_TRIALS]:
        yield keep[:-2] + [(str(size),), (str(size),)], (f"the model was built for {size}×{size} inputs, and "
                                                        f"{what} is {dims[-2]}×{dims[-1]} {old}"), True


def _expected_size(finding: Finding) -> Optional[int]:
    """The size the blamed layer argument holds (`in_channels` 3), which the input should have had."""
    evidence = finding.evidence
    layer = evidence.layer if evidence is not None else None
    if layer is None or not finding.param or not hasattr(layer, "args"):
        return None
    return D.as_int(to_dim(layer.args.get(finding.param))) if finding.param in layer.args else None


def _image_sizes(finding: Finding, tensor: Tensor, dims: list) -> list:
    """Square image sizes to try when a Linear after the convolutions expects C*s*s features for the
    C-channel map it gets (the author sized it for an s×s map), or a skip connection does not line up."""
    if len(dims) != 4 or dims[-1] != dims[-2]:
        return []
    if finding.code in ("linear-in-features", "view-invalid-shape"):
        expected = _expected_size(finding) if finding.code == "linear-in-features" else _flatten_width(finding)
        side = _map_side(tensor, expected)
        if side is None:
            return []
        got, wanted = side
        estimate = dims[-1] * wanted / got
    elif finding.code == "conv-kernel-too-large":
        return [s for s in _IMAGE_SIZES if s > dims[-1]]
    elif finding.code in ("cat-mismatch", "broadcast-mismatch"):
        estimate = dims[-1]
        sizes = sorted({16 * math.floor(estimate / 16), 16 * math.ceil(estimate / 16)} - {dims[-1], 0})
        return sorted(sizes, key=lambda s: abs(s - estimate))
    else:
        return []
    # An image size people mistake for another is near it (28 for 32, 256 for 224), never 4x away.
    near = (s for s in _IMAGE_SIZES if s != dims[-1] and dims[-1] / 2 <= s <= dims[-1] * 2)
    return sorted(near, key=lambda s: abs(s - estimate))


def _flatten_width(finding: Finding) -> Optional[int]:
    """The features per sample of a flattening `x.view(-1, 16 * 5 * 5)`: its second size."""
    evidence = finding.evidence
    call = evidence.call_loc.node if evidence is not None and evidence.call_loc is not None else None
    sizes = evidence.sizes if evidence is not None else None
    if not isinstance(call, cst.Call) or not sizes or len(sizes) != 2:
        return None
    first = call.args[0].value if call.args else None
    is_minus_one = isinstance(first, cst.UnaryOperation) and isinstance(first.operator, cst.Minus) and \
        isinstance(first.expression, cst.Integer) and first.expression.value == "1"
    return D.as_int(sizes[1]) if is_minus_one else None


def _map_side(tensor: Tensor, expected: Optional[int]) -> Optional[tuple]:
    """(the side the last square map has, the side the Linear was sized for)."""
    if expected is None:
        return None
    for step in reversed(tensor.trace):
        shape = step.shape
        if shape.ranked and shape.rank == 4:
            channels, h, w = (D.as_int(d) for d in shape.dims[1:])
            if None in (channels, h, w) or h != w or h == 0 or expected % channels:
                return None
            side = math.isqrt(expected // channels)
            return (h, side) if side * side * channels == expected and side != h else None
    return None


def _factory_text(call: cst.Call, holder, sizes: list, source: Source) -> str:
    """`torch.randn(1, 1, 28, 28)` for `torch.randn(1, 28, 28)`; `torch.randint(0, 9, (8, 40))` for
    `torch.randint(0, 9, (40,))`: the other arguments kept as written."""
    if holder is not None:
        inner = ", ".join(sizes) + ("," if len(sizes) == 1 else "")
        written = f"[{', '.join(sizes)}]" if isinstance(holder, cst.List) else f"({inner})"
        args = [written if a.value is holder else source.code(a).strip().rstrip(",").strip() for a in call.args]
    else:
        keywords = [source.code(a).strip().rstrip(",").strip() for a in call.args if a.keyword is not None]
        args = [", ".join(sizes)] + keywords
    return f"{source.code(call.func)}({', '.join(args)})"


# -- a layer's geometry ---------------------------------------------------------------------------------
_GEOMETRY = {"kernel_size": (-2, 2), "stride": (-1, 1), "padding": (-1, 1)}  # the edits tried, per argument
MAX_GEOMETRY = 3  # geometry edits tried per finding
_SLIDING = ("Conv1d", "Conv2d", "Conv3d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d")


def _odd_geometry(finding: Finding) -> Iterator[Cause]:
    """`nn.MaxPool2d(4, 2)` among pools of kernel 2, before a Linear written for a 4x4 map; a conv of
    kernel 5 with padding 1 before a residual add: the one layer whose kernel, stride or padding breaks
    the convention (a pool's stride is its kernel, a conv's padding keeps the size) or differs from its
    siblings', set to the usual value, gives the map the rest of the program expects. The sizes are
    followed through the trace with the rules' own arithmetic; an edit is proposed only where that
    reaches the size wanted. A layer built by one constructor call many times (a cfg loop) changes
    everywhere it runs."""
    found = []  # (the arithmetic could not follow it, cause): the ones it confirms are tried first
    for steps, wanted in _maps_wanted(finding):
        sliding = [step.layer for step in steps if _kind(step.layer) in _SLIDING]
        start = 1 if len(steps) < 12 else 2  # a trace cut to its last steps has a gap after its first
        proposed = set()
        for index in range(start, len(steps)):
            layer = steps[index].layer
            if _kind(layer) not in _SLIDING:
                continue
            for param, value, why in _usual_geometry(layer, sliding):
                where = layer.arg_locs.get(param)
                if where is None or not isinstance(where.node, cst.Integer) or (id(where.node), value) in proposed:
                    continue
                followed = _side_after(steps, index, where.node, param, value)
                if followed is not None and followed != wanted:
                    continue  # the arithmetic says it does not give the map; an unknown step leaves it to the trial
                proposed.add((id(where.node), value))
                fix = Fix(f"Set {layer.label}'s {param} to {value}", where, str(value),
                          target=f"{layer.label}'s {param}", param=param)
                found.append((followed is None, Cause(
                    finding.code, fix, f"{layer.label}'s {param}={_int_arg(layer, param)} {why}, and the map comes "
                                       f"out the wrong size where {wanted}×{wanted} is expected: {finding.message}")))
    found.sort(key=lambda pair: pair[0])
    yield from (cause for _, cause in found[:MAX_GEOMETRY])


def _usual_geometry(layer, sliding: list) -> Iterator[tuple]:
    """(argument, value, why the current one is odd): the conventions first, then what its siblings of
    the same kind have."""
    kind = _kind(layer)
    kernel, stride, padding = (_int_arg(layer, p) for p in ("kernel_size", "stride", "padding"))
    if "Pool" in kind and None not in (kernel, stride) and kernel != stride:
        yield "stride", kernel, "differs from its kernel"
        yield "kernel_size", stride, "differs from its stride"
    if "Conv" in kind and None not in (kernel, padding) and kernel % 2 and padding not in (0, (kernel - 1) // 2):
        yield "kernel_size", 2 * padding + 1, f"does not match its padding {padding}"
        yield "padding", (kernel - 1) // 2, f"does not keep the size with kernel {kernel}"
    for param in _GEOMETRY:
        current = _int_arg(layer, param)
        siblings = [_int_arg(other, param) for other in sliding if other is not layer and _kind(other) == kind]
        for value in {v for v in siblings if v is not None and v != current}:
            if current is not None and siblings.count(value) * 2 > len(siblings):
                yield param, value, f"differs from the other {kind} layers' {value}"


def _maps_wanted(finding: Finding) -> Iterator[tuple]:
    """(the steps of a tensor's trace, the side its last square map should have): for a Linear whose
    in_features is C*s*s of the C-channel map it got, s; for a skip connection (cat, +) of two square
    maps, the other one's side, with the steps since the two parted."""
    evidence = finding.evidence
    if evidence is None:
        return
    if finding.code in ("linear-in-features", "view-invalid-shape") and isinstance(evidence.source, Tensor):
        width = _expected_size(finding) if finding.code == "linear-in-features" else _flatten_width(finding)
        found = _map_side(evidence.source, width)
        if found is not None:
            yield evidence.source.trace, found[1]
    elif finding.code in ("cat-mismatch", "broadcast-mismatch") and len(evidence.operands) == 2:
        first, second = evidence.operands
        for one, other in ((first, second), (second, first)):
            side = _side(other.shape)
            shared = {id(step) for step in other.trace}
            parted = next((i for i, step in enumerate(one.trace) if id(step) not in shared), None)
            if side is not None and parted and _side(one.shape) not in (None, side):
                yield one.trace[parted - 1:], side


def _kind(layer) -> str:
    kind = getattr(layer, "kind", None) or ""
    return kind.rsplit(".", 1)[-1]


def _int_arg(layer, param: str) -> Optional[int]:
    value = layer.args.get(param) if hasattr(layer, "args") else None
    if param == "stride" and getattr(value, "value", 0) is None:
        value = layer.args.get("kernel_size")  # a pool's stride defaults to its kernel
    dim = to_dim(value) if value is not None else None
    return D.as_int(dim) if dim is not None else None


def _wanted_side(finding: Finding) -> Optional[int]:
    """The side of the square map a Linear written as a product was sized for (`128 * 4 * 4`: 4)."""
    if finding.code != "linear-in-features" or not written_for_a_map(finding):
        return None
    found = _map_side(finding.evidence.source, _expected_size(finding))
    return found[1] if found is not None else None


def _side_after(steps: tuple, index: int, node, param: str, value: int) -> Optional[int]:
    """The last square map's side when `param` written at `node` is `value` (from step `index` on, in every
    layer that constructor call built), following the sizes through the steps; None where a step's
    arithmetic is not known here."""
    side = _side(steps[index - 1].shape)
    if side is None:
        return None
    last = None
    for position in range(index, len(steps)):
        step = steps[position]
        before, after = _side(steps[position - 1].shape), _side(step.shape)
        if _kind(step.layer) in _SLIDING:
            where = step.layer.arg_locs.get(param)
            side = _slide(step.layer, side, {param: value} if where is not None and where.node is node else {})
            if side is None or side < 1:
                return None
        elif after is None:
            break  # flattened: the map before it is the one the Linear was written for
        elif before != after:
            return None  # a step that resizes the map in a way not followed here
        last = side
    return last


def _slide(layer, side: int, change: dict) -> Optional[int]:
    args = {p: change.get(p, _int_arg(layer, p)) for p in ("kernel_size", "stride", "padding", "dilation")}
    if args["dilation"] is None:
        args["dilation"] = 1
    if None in args.values() or getattr(layer.args.get("ceil_mode"), "value", False):
        return None
    out = pool_out(side, args["kernel_size"], args["stride"], args["padding"], args["dilation"], False) \
        if "Pool" in _kind(layer) else conv_out(side, args["kernel_size"], args["stride"], args["padding"], args["dilation"])
    return D.as_int(out)


def _side(shape) -> Optional[int]:
    """The side of a square 2-D map (N, C, H, W), else None."""
    if shape is None or not shape.ranked or shape.rank != 4:
        return None
    h, w = D.as_int(shape.dims[2]), D.as_int(shape.dims[3])
    return h if h is not None and h == w else None


# -- widths ---------------------------------------------------------------------------------------------
def odd_width(arriving, expected) -> bool:
    """Widths are nearly always even: an odd one (63, 83, 15) meeting an even one it should equal is the
    typo, the even one is what was meant."""
    a, e = D.as_int(arriving), D.as_int(expected)
    return a is not None and e is not None and min(a, e) >= 8 and a % 2 == 1 and e % 2 == 0


def _odd_width_in_a_broadcast(finding: Finding) -> Iterator[Cause]:
    """`mu + logvar` where fc22 = nn.Linear(400, 19) beside fc21's 20: the layer that made the odd size."""
    evidence = finding.evidence
    if finding.code != "broadcast-mismatch" or evidence is None or len(evidence.operands) != 2:
        return
    first, second = evidence.operands
    if not (first.shape.ranked and second.shape.ranked) or first.shape.rank != second.shape.rank:
        return
    for one, other in ((first, second), (second, first)):
        mine, theirs = D.as_int(one.shape.dims[-1]), D.as_int(other.shape.dims[-1])
        layer = _maker_of_width(one, mine)
        if not odd_width(mine, theirs) or layer is None:
            continue
        where = layer.arg_locs.get("out_features")
        if where is None or not isinstance(where.node, cst.Integer):
            continue
        fix = Fix(f"Set {layer.label}'s out_features to {theirs}", where, str(theirs),
                  target=f"{layer.label}'s out_features", param="out_features")
        yield Cause(finding.code, fix, f"{layer.label}'s out_features={mine} is odd where the tensor it meets has "
                                       f"{theirs}: {finding.message}")


def _maker_of_width(tensor: Tensor, width) -> Optional[object]:
    """The Linear that made the tensor's last dim, through the steps after it that keep that dim."""
    for step in reversed(tensor.trace):
        if _kind(step.layer) == "Linear":
            return step.layer
        shape = step.shape
        if not shape.ranked or not shape.dims or D.as_int(shape.dims[-1]) != width:
            return None
    return None


def _channels_the_product_names(finding: Finding) -> Iterator[Cause]:
    """`nn.Linear(32 * 7 * 7, 128)` fed a 64x7x7 map: the product names 32 channels, so the layer that
    made 64 is the one to change (its out_channels to 32)."""
    evidence = finding.evidence
    node = finding.loc.node if finding.loc is not None else None
    if finding.code != "linear-in-features" or evidence is None or not isinstance(evidence.source, Tensor) or \
            not isinstance(node, cst.BinaryOperation):
        return
    factors = _literal_factors(node)
    maps = [step for step in reversed(evidence.source.trace) if step.shape.ranked and step.shape.rank == 4]
    if factors is None or len(factors) != 3 or not maps:
        return
    channels, h, w = (D.as_int(d) for d in maps[0].shape.dims[1:])
    if (factors[1], factors[2]) != (h, w) or factors[0] == channels:
        return
    for step in reversed(evidence.source.trace):
        layer = step.layer
        made = to_dim(layer.args.get("out_channels")) if _kind(layer).startswith("Conv") else None
        if made is not None and D.as_int(made) == channels:
            where = layer.arg_locs.get("out_channels")
            if where is not None and isinstance(where.node, cst.Integer):
                fix = Fix(f"Set {layer.label}'s out_channels to {factors[0]}", where, str(factors[0]),
                          target=f"{layer.label}'s out_channels", param="out_channels")
                yield Cause(finding.code, fix, f"{evidence.layer.label}'s in_features is written for a "
                                               f"{factors[0]}×{h}×{w} map, and {layer.label} makes {channels} "
                                               f"channels: {finding.message}")
            return


def _literal_factors(node) -> Optional[list]:
    """[32, 7, 7] for `32 * 7 * 7`; None unless every factor is an int literal."""
    if isinstance(node, cst.Integer):
        return [int(node.value, 0)]
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
        left, right = _literal_factors(node.left), _literal_factors(node.right)
        return left + right if left is not None and right is not None else None
    return None


# -- state built for one batch size ---------------------------------------------------------------------
def _fixed_batch_state(finding: Finding, source: Source) -> Iterator[Cause]:
    """`h0 = torch.zeros(self.num_layers, 32, self.hidden_size)` in forward, for a model then called on a
    batch of 16: the literal batch of a state made inside the model becomes `x.size(0)` (or 1), in every
    such factory of that function at once (h0 and c0), so any batch fits."""
    evidence = finding.evidence
    if evidence is None:
        return
    made = [t for t in evidence.operands if _made_in_a_method(t, source)]
    data = [t for t in evidence.operands if not any(t is m for m in made) and t.shape.ranked]
    if not made or not data:
        return
    unit = made[0].trace[0].loc.unit
    name = _first_parameter(unit)
    if name is None:
        return
    calls = [t.trace[0].loc.node for t in made if t.trace[0].loc.unit is unit]
    first = [a.value for a in calls[0].args if a.keyword is None]
    for dim in (0, 1):
        batch = D.as_int(data[0].shape.dim(dim)) if data[0].shape.rank > dim else None
        for position, node in enumerate(first):
            if batch is None or not isinstance(node, cst.Integer) or int(node.value, 0) == batch:
                continue
            literal = node.value
            edits = [Loc(unit, args[position].value) for args in ([a for a in c.args if a.keyword is None] for c in calls)
                     if len(args) > position and isinstance(args[position].value, cst.Integer)
                     and args[position].value.value == literal]
            content = f"{name}.size({dim})"
            fixes = [Fix(f"Follow the batch: {content}", loc, content, target="the state's batch") for loc in edits]
            fix = fixes[0]
            fix.also = tuple(fixes[1:])
            yield Cause(finding.code, fix, f"the state made in forward has a batch of {literal}, and `{name}` has "
                                           f"{batch}: {content} follows the batch: {finding.message}")


def _made_in_a_method(tensor, source: Source) -> bool:
    first = tensor.trace[0] if isinstance(tensor, Tensor) and tensor.trace else None
    return first is not None and first.label == "input" and first.loc is not None and \
        isinstance(first.loc.node, cst.Call) and id(first.loc.unit) in source.methods


def _first_parameter(unit) -> Optional[str]:
    """`x` of `def forward(self, x, hidden=None)`."""
    if not isinstance(unit, cst.FunctionDef):
        return None
    params = list(unit.params.posonly_params) + list(unit.params.params)
    return params[1].name.value if len(params) > 1 else None


# -- the name written -----------------------------------------------------------------------------
MAX_NAMES = 4


def _other_name(finding: Finding, source: Source) -> Iterator[Cause]:
    """`nn.GroupNorm(8, in_ch)` where `out_ch` was meant: another int name in scope where an argument is
    written as a name: at the blamed layer, at the layer upstream that made the arriving size, at a layer
    the blamed one wraps (`TransformerEncoder(encoder_layer)`), or, for a broadcast, at the layer that
    made each side. The re-analysis runs every instance of the class, so a name that passes fits them
    all. Names that hold the size the mismatch calls for come first, then any other int name."""
    candidates = [c for place in _places(finding) for c in _names_for(finding, source, *place)]
    candidates.sort(key=lambda pair: not pair[1])  # stable: the names that hold the fitting size first
    for cause, _ in candidates[:MAX_NAMES]:
        yield cause


def _places(finding: Finding) -> list:
    """(layer, param, where it is written as a name, the size that would fit there or None)."""
    evidence = finding.evidence
    if evidence is None:
        return []
    places = []

    def add(layer, first, fits) -> None:
        written = getattr(layer, "named_args", None) or {}
        for param in sorted(written, key=lambda p: p != first):  # the argument that sets the size first
            if param == first or param not in _NOT_A_WIDTH:
                places.append((layer, param, written[param], fits if param == first else None))

    layer = evidence.layer
    arriving = finding.fix.size if finding.fix is not None else None
    expected = to_dim(layer.args.get(finding.param)) if finding.param and hasattr(layer, "args") \
        and finding.param in layer.args else None
    add(layer, finding.param, arriving)
    producer, produced = evidence.producer or (None, None)
    add(producer, produced, expected)
    arrived = evidence.source.shape.dims[-1] if isinstance(evidence.source, Tensor) and evidence.source.shape.dims \
        else None
    for inner in (getattr(layer, "args", None) or {}).values():
        if hasattr(inner, "named_args") and inner is not layer:
            # TransformerEncoder(encoder_layer): the size the wrapped layer gets is what its width should be
            add(inner, next((p for p in _MAKES_WIDTH if p in inner.named_args), None), arrived)
    if finding.code == "broadcast-mismatch" and len(evidence.operands) == 2:
        for one, other in (evidence.operands, evidence.operands[::-1]):
            maker, param, size = _broadcast_maker(one, other)
            if maker is not None:
                add(maker, param, size)
    return places


def _broadcast_maker(one: Tensor, other: Tensor) -> tuple:
    """(the layer that made `one`'s mismatched dim, its argument for it, `other`'s size there)."""
    if not (one.shape.ranked and other.shape.ranked) or not one.trace:
        return None, None, None
    for mine, theirs in zip(reversed(one.shape.dims), reversed(other.shape.dims)):
        a, b = D.as_int(mine), D.as_int(theirs)
        if a is not None and b is not None and a != b and 1 not in (a, b):
            layer = next((step.layer for step in reversed(one.trace) if step.layer is not None), None)
            param = next((p for p in _MAKES_WIDTH if p in (getattr(layer, "args", None) or {})), None)
            return (layer, param, theirs) if param is not None else (None, None, None)
    return None, None, None


# Arguments that count or shape rather than size a feature dim: never a name meant for a width.
_NOT_A_WIDTH = frozenset({"num_layers", "kernel_size", "stride", "padding", "dilation", "groups", "num_heads", "nhead",
                          "num_groups", "dropout", "bias", "batch_first", "bidirectional", "eps", "momentum",
                          "output_padding", "padding_idx", "max_norm", "dim", "start_dim", "end_dim"})
_MAKES_WIDTH = ("out_features", "out_channels", "embedding_dim", "hidden_size", "d_model", "embed_dim",
                "num_features", "normalized_shape")


def _names_for(finding: Finding, source: Source, layer, param: str, loc, fits) -> Iterator[tuple]:
    """(cause, whether the name holds the size that fits there) for each other int name in scope (the
    function's own names, and this file's top-level ones where the function is defined in it)."""
    env, current_name = loc.env, loc.node.value
    if not isinstance(env, dict):
        return
    visible = {**source.globals, **env} if id(loc.unit) in source.functions else env
    if current_name not in visible:
        return
    current = to_dim(visible[current_name])
    if current is None or D.as_int(current) is None:
        return  # only an int written as a name can have been meant as another int
    for name, value in visible.items():
        if name in (current_name, "self") or name.startswith("_") or not name.isidentifier():
            continue
        size = to_dim(value)
        if size is None or D.as_int(size) is None or D.eq(size, current) is True:
            continue
        fix = Fix(f"Use {name}", loc, name, target=f"{layer.label}'s {param}", param=param)
        yield Cause(finding.code, fix, f"{layer.label}'s {param} is `{current_name}` ({D.show(current)}), where "
                                       f"`{name}` ({D.show(size)}) fits: {finding.message}"), \
            fits is not None and D.eq(size, fits) is True


# -- helpers ---------------------------------------------------------------------------------------
def _unit(finding: Finding):
    evidence = finding.evidence
    return evidence.call_loc.unit if evidence is not None and evidence.call_loc is not None else None


def _shape_text(dims: list) -> str:
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def _short(text: str, limit: int = 48) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 5] + "...)"

