"""Statements in forward that do something unintended: a dropped `x.view(...)` result, a flatten from
dim 0, a reduction without keepdim, a Linear on an unflattened conv map, and a wrapped layer's width
written where torch does not look (TransformerEncoder's layer)."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from shapels.analysis.causes.base import MAKES_WIDTH, Cause, Source, conv_map_into_linear, failing_unit, short
from shapels.analysis.findings import Finding, Fix
from shapels.analysis.positions import Loc
from shapels.codes import BROADCAST_MISMATCH, FLATTEN_BATCH, LOSS_TARGET, MISSING_FLATTEN, MISSING_KEEPDIM, UNUSED_RESULT
from shapels.rules.base import to_dim
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


def discarded_results(finding: Finding, source: Source) -> Iterator[Cause]:
    """`x.view(-1, 400)` alone on its line: its result is dropped and x is unchanged."""
    unit = failing_unit(finding)
    ordered = sorted(source.bare_calls, key=lambda pair: pair[0] is not unit)  # the failing function's first
    for fn, statement in ordered:
        call = statement.value
        target = _receiver(call)
        if target is None:
            continue
        text = source.code(call)
        fix = Fix(f"Assign the result: {target} = {short(text)}", Loc(fn, statement), f"{target} = {text}",
                  target="the statement")
        what = call.func.attr.value if isinstance(call.func, cst.Attribute) else "it"
        yield Cause(UNUSED_RESULT, fix, f"the result of `{short(text)}` is never used: {what} returns a new "
                                        f"tensor and leaves {target} as it was")


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
    is_module = isinstance(base, cst.Name) and base.value in ("torch", "F", "nn")
    if name in _RETURNS_NEW and _is_target(base) and not is_module:
        return cst.Module(body=[]).code_for_node(base)
    return None


def _is_target(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) or isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)


def flattened_batch(finding: Finding, source: Source) -> Iterator[Cause]:
    """`nn.Flatten(start_dim=0)`, `torch.flatten(x, 0)`, `x.flatten(0)`: the batch becomes features. Also
    in a top-level `model = nn.Sequential(..., nn.Flatten(0), ...)`."""
    for fn, call in source.calls + source.top_level_calls:
        argument = _start_dim_argument(call)
        if argument is None:
            continue
        keyword = argument.keyword is not None
        fix = Fix("Flatten from dim 1: " + ("start_dim=1" if keyword else "1"), Loc(fn, argument.value), "1",
                  target="start_dim")
        yield Cause(FLATTEN_BATCH, fix, f"`{short(source.code(call))}` flattens from dim 0, which merges the "
                                        "batch into the features: start_dim=1 keeps the batch dim")


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


def dropped_keepdim(finding: Finding, source: Source) -> Iterator[Cause]:
    """`x - x.mean(-1)`, `self.fc1(x.mean(dim=(2, 3)))`: the reduction lost the dim that what follows
    lines up against. Candidates: reductions the failing tensors went through, and for a broadcast the
    reductions of the failing function (the reduced operand may be the other one)."""
    evidence = finding.evidence
    if evidence is None:
        return
    seen = set()
    traced = [(step.loc.unit, step.loc.node) for tensor in evidence.operands for step in reversed(tensor.trace)
              if step.loc is not None and isinstance(step.loc.node, cst.Call)]
    unit = failing_unit(finding)
    local = [(fn, call) for fn, call in source.calls if fn is unit] if finding.code == BROADCAST_MISMATCH else []
    for fn, call in traced + local:
        if id(call) in seen or not _reduces_a_dim(call):
            continue
        seen.add(id(call))
        text = source.code(call)
        body = text[:-1].rstrip()
        content = body + ("" if body.endswith(("(", ",")) else ", ") + "keepdim=True)"
        fix = Fix("Keep the reduced dim: keepdim=True", Loc(fn, call), content, target="the reduction")
        yield Cause(MISSING_KEEPDIM, fix, f"`{short(text)}` drops the reduced dim, so it no longer lines up "
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


def forgotten_flatten(finding: Finding, source: Source) -> Iterator[Cause]:
    """`self.fc1(x)` on a (N, C, H, W) map whose C*H*W is fc1's in_features: flatten it at the call."""
    found = conv_map_into_linear(finding)
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
    yield Cause(MISSING_FLATTEN, fix, f"{finding.evidence.layer.label} gets the feature map {shape.show()} "
                                      "unflattened: a Linear takes its last axis as the features; flattened from "
                                      f"dim 1 it is (N, {D.show(expected)}), what it expects")


def wrapped_width(finding: Finding) -> Iterator[Cause]:
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
        for param in MAKES_WIDTH:
            where = inner.arg_locs.get(param)
            current = D.as_int(to_dim(inner.args.get(param))) if param in inner.args else None
            if where is None or current is None or current == arrived or not isinstance(where.node, cst.Integer):
                continue
            fix = Fix(f"Set {param} to {arrived}", where, str(arrived), target=f"the wrapped layer's {param}",
                      param=param)
            yield Cause(finding.code, fix, f"the layer {layer.label} wraps is built with {param}={current}, and "
                                           f"{arrived} features arrive: {finding.message}")
            return


def rows_a_view_multiplied(finding: Finding, source: Source) -> Iterator[Cause]:
    """`h_n.view(-1, H)` of a 2-layer LSTM's (2, N, H) state: the view's -1 took the layers with the batch, and
    the loss gets 2N rows against N targets. Where the loss's input has k times its target's rows and a view
    or reshape made them from a tensor whose dims before the batch multiply to k, that tensor's last entry
    along them (`h_n[-1]`, the last layer's state, the last step) has the batch's rows."""
    evidence = finding.evidence
    if finding.code != LOSS_TARGET or evidence is None or len(evidence.operands) != 2:
        return
    scores, target = evidence.operands
    if not all(isinstance(t, Tensor) and t.shape.ranked and t.shape.rank >= 1 for t in (scores, target)):
        return
    rows, batch = D.as_int(scores.shape.dims[0]), D.as_int(target.shape.dims[0])
    if rows is None or batch is None or batch < 1 or rows <= batch or rows % batch:
        return
    steps = scores.trace
    for i in range(len(steps) - 1, 0, -1):
        step, before = steps[i], steps[i - 1].shape
        call = step.loc.node if step.loc is not None else None
        if step.label not in ("view", "reshape") or not isinstance(call, cst.Call) or \
                not isinstance(call.func, cst.Attribute) or not before.ranked or before.rank < 2:
            continue
        if not step.shape.ranked or D.as_int(step.shape.dims[0]) != rows:
            return
        leading, middle = D.as_int(before.dims[0]), D.as_int(before.dims[1])
        if leading == batch:  # the batch kept its place: a layer made k times the per-sample values the view expects
            yield from _width_the_view_splits(finding, steps[:i], rows // batch)
            return
        data = steps[0].shape  # where the tensor came from: the batch the data has
        if before.rank != 3 or leading != rows // batch or middle != batch or \
                data.ranked and data.rank and D.as_int(data.dims[0]) == leading:
            return  # dim 0 is the data's batch (a batch-first sequence): a target that lost its batch, not this view
        receiver = source.code(call.func.value)
        fix = Fix(f"Take the last entry along dim 0: {short(receiver)}[-1]", Loc(step.loc.unit, call), f"{receiver}[-1]",
                  target="the view")
        yield Cause(finding.code, fix, f"`{short(source.code(call))}` merges dim 0 ({leading}, e.g. an RNN's layers) "
                                       f"with the batch ({batch}): {rows} rows reach the loss against {batch} targets: "
                                       f"{finding.message}")
        return


def _width_the_view_splits(finding: Finding, steps: tuple, factor: int) -> Iterator[Cause]:
    """`output.view(-1, 1)` of a (N, 2, 1, 1) map where the loss's target has N rows: the layer that made the
    2 channels (its out_channels or out_features, a literal) made `factor` times what the view's rows hold."""
    width = D.as_int(steps[-1].shape.dims[1])
    for step in reversed(steps):
        shape = step.shape
        if not shape.ranked or shape.rank < 2 or D.as_int(shape.dims[1]) != width:
            return
        layer = step.layer
        param = next((p for p in ("out_channels", "out_features") if layer is not None and p in layer.arg_locs), None)
        if param is None:
            continue
        where = layer.arg_locs[param]
        if not isinstance(where.node, cst.Integer) or width is None or width % factor:
            return
        wanted = width // factor
        fix = Fix(f"Set {layer.label}'s {param} to {wanted}", where, str(wanted), target=f"{layer.label}'s {param}",
                  param=param)
        yield Cause(finding.code, fix, f"{layer.label}'s {param}={width} makes {factor} times the values a later "
                                       f"view spreads over the rows, which then outnumber the targets: {finding.message}")
        return
