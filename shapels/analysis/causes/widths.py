"""Widths the rest of the program speaks for: an odd width meeting an even one, and the channels a
Linear written as C*h*w names."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from shapels.analysis.causes.base import Cause, Source, expected_size, kind_of
from shapels.analysis.findings import Finding, Fix
from shapels.analysis.positions import Loc
from shapels.codes import BROADCAST_MISMATCH, LINEAR_IN_FEATURES, LOSS_TARGET, MATMUL_MISMATCH
from shapels.rules import lookup
from shapels.rules.base import to_dim
from shapels.symbolic import dims as D
from shapels.values import Layer, Tensor


def odd_width(arriving, expected) -> bool:
    """Widths are nearly always even: an odd one (63, 83, 15) meeting an even one it should equal is the
    typo, the even one is what was meant."""
    a, e = D.as_int(arriving), D.as_int(expected)
    return a is not None and e is not None and min(a, e) >= 8 and a % 2 == 1 and e % 2 == 0


def odd_width_in_a_broadcast(finding: Finding) -> Iterator[Cause]:
    """`mu + logvar` where fc22 = nn.Linear(400, 19) beside fc21's 20: the layer that made the odd size."""
    evidence = finding.evidence
    if finding.code != BROADCAST_MISMATCH or evidence is None or len(evidence.operands) != 2:
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


def width_part_in_a_broadcast(finding: Finding, source: Source) -> Iterator[Cause]:
    """`x + layers.Dense(embedding_dim * 2)(x)` where x has embedding_dim: the width argument of one operand's
    maker is an expression, and a part of it (a name, `len(chars)`, `sizes[i]`) holds the other operand's
    width. That part is the size the author named for it; the rest of the expression is the slip. The same
    for a contraction's two sizes (`ops.tensordot(user_vector, movie_vector, 2)`, evidence.paired)."""
    evidence = finding.evidence
    if finding.code not in (BROADCAST_MISMATCH, MATMUL_MISMATCH) or evidence is None or len(evidence.operands) != 2:
        return
    first, second = evidence.operands
    if not (isinstance(first, Tensor) and isinstance(second, Tensor) and first.shape.ranked and second.shape.ranked) \
            or not first.shape.dims or not second.shape.dims:
        return
    if finding.code == MATMUL_MISMATCH:  # the axes the contraction paired, counted from the right
        if evidence.paired is None:
            return
        axes = (evidence.paired[0] - first.shape.rank, evidence.paired[1] - second.shape.rank)
    else:
        axis = _differing_axis(first.shape, second.shape)
        if axis is None:
            return
        axes = (axis, axis)
    for (one, at), (other, other_at) in (((first, axes[0]), (second, axes[1])), ((second, axes[1]), (first, axes[0]))):
        mine, theirs = D.as_int(one.shape.dims[at]), D.as_int(other.shape.dims[other_at])
        layer = _maker_of_axis(one, at, mine)
        rule = lookup(layer.kind) if layer is not None else None
        param = rule.makes_width if rule is not None else None
        where = layer.arg_locs.get(param) if param is not None else None
        content = _part_worth(where, theirs, source, mine) if where is not None else None
        if content is None:
            continue
        fix = Fix(f"Set {layer.label}'s {param} to {content}", where, content, target=f"{layer.label}'s {param}",
                  param=param)
        yield Cause(finding.code, fix, f"{layer.label}'s {param} makes {mine} where the tensor it is combined with has "
                                       f"{theirs}, which {content} holds: {finding.message}")


def _differing_axis(a, b) -> Optional[int]:
    """The axis (from the right) where two broadcast operands' sizes differ and neither is 1: the last where
    it differs there, else the one other axis that does (`mlp1_outputs + inputs` of (N, 128, 256) and
    (N, 64, 256)); None where the last sizes are unknown, or no other axis or several differ (an unknown
    size, Keras's batch, is not one that differs)."""
    def differs(k):
        x, y = D.as_int(a.dims[k]), D.as_int(b.dims[k])
        return None if None in (x, y) else x != y and 1 not in (x, y)
    last = differs(-1)
    if last is not False:
        return -1 if last else None
    others = [k for k in range(-2, -min(len(a.dims), len(b.dims)) - 1, -1) if differs(k)]
    return others[0] if len(others) == 1 else None


def width_the_target_names(finding: Finding, source: Optional[Source] = None) -> Iterator[Cause]:
    """`F.binary_cross_entropy(recon, x.view(-1, 784))` where fc4 = nn.Linear(400, 1568), or Keras's
    `fit(x, to_categorical(y, 10))` on a last `Dense(5)`: a loss whose input must have its target's size,
    the sizes equal but the last, and a Linear (a Dense) made the input's last: the data says which width
    was meant, so that layer's width argument (its registry entry's makes_width) is the place to edit."""
    evidence = finding.evidence
    if finding.code != LOSS_TARGET or evidence is None or len(evidence.operands) != 2:
        return
    scores, target = evidence.operands
    if kind_of(evidence.layer).startswith(_TARGET_FIRST):  # Keras's losses take (y_true, y_pred)
        scores, target = target, scores
    if not (isinstance(scores, Tensor) and isinstance(target, Tensor) and scores.shape.ranked and target.shape.ranked):
        return
    if scores.shape.rank == target.shape.rank + 1 and target.shape.rank >= 1 and \
            (_squeezed(scores) or _keras_loss(evidence.layer)) and \
            all(D.eq(a, b) is True for a, b in zip(scores.shape.dims[:-1], target.shape.dims)):
        # siamese_network's `fc(x).squeeze()` against labels (N,): a width of 1 is what the squeeze drops; a
        # Keras loss squeezes an output's last axis of 1 to meet labels (N,) itself (the repair's re-analysis
        # keeps this only where it then runs clean)
        mine, theirs, meets = D.as_int(scores.shape.dims[-1]), 1, "has one dim fewer"
    elif scores.shape.rank != target.shape.rank or scores.shape.rank < 2 or \
            any(D.eq(a, b) is not True for a, b in zip(scores.shape.dims[:-1], target.shape.dims[:-1])):
        return
    else:
        mine, theirs = D.as_int(scores.shape.dims[-1]), D.as_int(target.shape.dims[-1])
        meets = f"has {theirs}"
    if _cut_to(target, theirs):
        return  # `y[:, :2]`: the targets were cut to that width where they are passed, so they may be the slip
    layer = _maker_of_width(scores, mine) if None not in (mine, theirs) and mine != theirs else None
    rule = lookup(layer.kind) if layer is not None else None
    param = rule.makes_width if rule is not None else None
    where = layer.arg_locs.get(param) if param is not None else None
    if where is None:
        return
    content = str(theirs) if isinstance(where.node, cst.Integer) else _part_worth(where, theirs, source, mine)
    if content is None:
        return  # a width written as a name or an expression: only a part of it that holds the size is the fix
    if theirs == 1 and not _written_in(layer, where):
        return  # a width passed down from a caller sizes more than this layer: 1 there is no author's intent
    fix = Fix(f"Set {layer.label}'s {param} to {content}", where, content, target=f"{layer.label}'s {param}",
              param=param)
    yield Cause(finding.code, fix, f"{layer.label}'s {param}={mine} makes the loss's input, whose target "
                                   f"{meets}: {finding.message}")


# Losses whose first argument is the target (Keras's: loss(y_true, y_pred)); torch's take (input, target)
_TARGET_FIRST = ("SparseCategoricalCrossentropy", "CategoricalCrossentropy", "BinaryCrossentropy",
                 "MeanSquaredError", "MeanAbsoluteError")
# Layers whose output's last axis is their width argument (and Keras's channels-last convolutions: _makes_last)
_LAST_AXIS_MAKERS = ("Linear", "Dense")


def _keras_loss(layer) -> bool:
    """A Keras loss (a `compile(loss=...)` string or class): it squeezes an output (N, 1) to meet labels (N,)."""
    return isinstance(layer, Layer) and layer.kind.startswith("keras.")


def _makes_last(layer) -> bool:
    """The layer's width argument sizes its output's last axis: a Linear, a Dense, or a Keras convolution
    in its default channels-last layout (its registry entry's makes_width is `filters`)."""
    if kind_of(layer) in _LAST_AXIS_MAKERS:
        return True
    rule = lookup(layer.kind) if isinstance(layer, Layer) and layer.kind.startswith("keras.layers.") else None
    layout = getattr(layer.args.get("data_format"), "value", None) if rule is not None else None
    return rule is not None and rule.makes_width is not None and layout in (None, "channels_last")


def _cut_to(target: Tensor, width) -> bool:
    """The targets' last axis got its size from an index (`y_train[:, :2]`): the targets as passed were cut."""
    for before, step in zip(target.trace, target.trace[1:]):
        if step.label == "index" and step.shape.ranked and before.shape.ranked and step.shape.dims and \
                before.shape.dims and D.as_int(step.shape.dims[-1]) == width != D.as_int(before.shape.dims[-1]):
            return True
    return False


def _part_worth(where: Loc, width: int, source: Optional[Source], made: Optional[int] = None) -> Optional[str]:
    """The text of the part of a width expression that holds the wanted width (`num_classes` in
    `Dense(num_classes * 2)` against targets of num_classes), where exactly one part does: the name the
    author wrote for that size, kept as a name. `made`: the width the layer got, which tells what the other
    operand of `x * 2` held where it was made (a loop's name has moved on since)."""
    if source is None:
        return None
    node = where.node
    if isinstance(node, cst.BinaryOperation) and made is not None:  # `filters * 2` made 128: filters held 64 there
        for part, literal in ((node.left, node.right), (node.right, node.left)):
            if isinstance(literal, cst.Integer) and not isinstance(part, cst.Integer) and \
                    _undone(node.operator, made, int(literal.value, 0), part is node.left) == width:
                return source.code(part)
    if not isinstance(where.env, dict):
        return None
    visible = {**source.globals, **where.env} if id(where.unit) in source.functions else where.env
    rebound = source.rebound(where.unit)  # a loop's name holds its last value in the env, not the one used here
    found = {source.code(part) for part in _parts(node)  # a literal part (the 2 of `* 2`) names no size
             if not isinstance(part, cst.Integer) and not _names_in(part) & rebound and _int_of(part, visible) == width}
    return found.pop() if len(found) == 1 else None


def _undone(operator, made: int, literal: int, left: bool) -> Optional[int]:
    """The value of the other operand of `x op literal` (or `literal op x`) that made `made`."""
    if isinstance(operator, cst.Multiply) and literal and made % literal == 0:
        return made // literal
    if isinstance(operator, cst.Add):
        return made - literal
    if isinstance(operator, cst.Subtract):
        return made + literal if left else literal - made
    return None


def _names_in(node) -> set:
    return {node.value} if isinstance(node, cst.Name) else \
        {name for child in node.children for name in _names_in(child)}


def _parts(node) -> Iterator[cst.CSTNode]:
    """The operands of an arithmetic expression, nested ones included (not the whole)."""
    if isinstance(node, cst.BinaryOperation):
        for side in (node.left, node.right):
            yield side
            yield from _parts(side)


def _int_of(node, visible: dict) -> Optional[int]:
    """An operand's int value: a literal, a name the program bound to an int, an item of a sequence
    (`sizes[i]`), or `len(name)` of a string or sequence."""
    if isinstance(node, cst.Name):
        return D.as_int(to_dim(visible.get(node.value)))
    if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) and len(node.slice) == 1 and \
            isinstance(node.slice[0].slice, cst.Index):  # `sizes[i]`: an item of a list or tuple
        items = getattr(visible.get(node.value.value), "items", None)
        index = _int_of(node.slice[0].slice.value, visible)
        return D.as_int(to_dim(items[index])) if isinstance(items, (list, tuple)) and index is not None and \
            -len(items) <= index < len(items) else None
    if isinstance(node, cst.Integer):
        return int(node.value, 0)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "len" and \
            len(node.args) == 1 and isinstance(node.args[0].value, cst.Name):
        value = visible.get(node.args[0].value.value)
        items = getattr(value, "items", None)
        inner = getattr(value, "value", None)
        return len(items) if isinstance(items, (list, tuple)) else len(inner) if isinstance(inner, str) else None
    return None


def _squeezed(tensor: Tensor) -> bool:
    """A `.squeeze()` came after the layer that made the last dim: the author meant it to be 1 (a
    classifier's (N, 10) scores against (N,) labels, with no squeeze, say nothing of the kind)."""
    for step in reversed(tensor.trace):
        if step.label == "squeeze":
            return True
        if kind_of(step.layer) in _LAST_AXIS_MAKERS:
            return False
    return False


def _written_in(layer, where) -> bool:
    """The argument is written in the layer's own constructor call (`nn.Linear(256, 2)`)."""
    call = getattr(layer.loc, "node", None)
    return isinstance(call, cst.Call) and any(argument.value is where.node for argument in call.args)


def _maker_of_width(tensor: Tensor, width) -> Optional[object]:
    """The Linear (Dense) that made the tensor's last dim, through the steps after it that keep that dim."""
    return _maker_of_axis(tensor, -1, width)


def _maker_of_axis(tensor: Tensor, axis: int, width) -> Optional[object]:
    """The Linear (Dense) that made the tensor's axis `axis` (counted from the right, -1 the last), through
    the steps after it that keep that axis's size. A transpose moves the axis followed to where it was
    (Step.axes_from: mlp1's Dense made the last axis the transpose after it moved to the middle). At a
    broadcast whose first operand had another size there (`dot + user_bias` of () and (N, 2)), the size came
    from the joined operand that has it, where exactly one does: its maker is followed instead."""
    trace = tensor.trace
    for at in range(len(trace) - 1, -1, -1):
        step = trace[at]
        # the step's output: the maker's own must have the width there too (not a Dense before a reshape)
        if not _size_is(step.shape, axis, width):
            return None
        if axis == -1 and _makes_last(step.layer):
            return step.layer
        if step.axes_from is not None:
            rank = step.shape.rank
            if len(step.axes_from) != rank:
                return None
            axis = step.axes_from[axis + rank] - rank
            continue
        if step.joins and not (at and _size_is(trace[at - 1].shape, axis, width)):
            carriers = [t for t in step.joins if isinstance(t, Tensor) and _size_is(t.shape, axis, width)]
            return _maker_of_axis(carriers[0], axis, width) if len(carriers) == 1 else None
    return None


def _size_is(shape, axis: int, width) -> bool:
    """The shape has `width` at `axis` (counted from the right)."""
    return shape.ranked and len(shape.dims) >= -axis and D.as_int(shape.dims[axis]) == width


def factor_upstream(finding: Finding, source: Source, consumer_fix: Fix) -> Iterator[Cause]:
    """`to_qkv = nn.Linear(dim, (inner_dim * 3) * 2)` whose width reaches `to_out = nn.Linear(inner_dim, dim)`
    as inner_dim * 2, through a chunk and rearranges that keep the ratio: the layer that last set the arriving
    width (the nearest in the trace whose registry entry names its makes_width) wrote that width as an
    expression times a literal factor, and the expression alone (`inner_dim * 3`) is text the author wrote.
    Proposed only where the consumer's fix would write a multiple the producer does not (`inner_dim * 2`,
    made up by the repair): where it would copy the producer's own text (`bn1 = BatchNorm2d(width * 2)` after
    `Conv2d(3, width * 2)`), both sides are the author's and torch's blame stands. Nothing here decides:
    repair.py keeps this only if every layer after the producer then agrees."""
    evidence = finding.evidence
    tensor = evidence.source if evidence is not None else None
    arriving, expected = D.as_int(consumer_fix.size), expected_size(finding)
    if not isinstance(tensor, Tensor) or arriving is None or expected is None or arriving <= expected:
        return  # taking a factor off makes the width smaller: only a width that arrives too large
    made = next((step for step in reversed(tensor.trace) if _width_argument(step.layer)), None)
    layer = made.layer if made is not None else None
    param = _width_argument(layer)
    if param is None or not _makes_as_written(made, to_dim(layer.args.get(param))):
        return  # a bidirectional LSTM makes twice its hidden_size: the doubling is the layer's, not a slip
    where = layer.arg_locs[param]
    kept = _without_literal_factor(where.node)
    if kept is None or source.code(where.node) == consumer_fix.content:
        return
    content = source.code(kept.with_changes(lpar=[], rpar=[]))  # the whole argument is replaced: no parens needed
    fix = Fix(f"Set {layer.label}'s {param} to {content}", where, content, target=f"{layer.label}'s {param}",
              param=param)
    yield Cause(finding.code, fix, f"{layer.label}'s {param} is {content} times a literal factor, and the width "
                                   f"it makes arrives too large: {finding.message}")


def _width_argument(layer) -> Optional[str]:
    """The argument that sets a library layer's output width (its registry entry's makes_width), where the
    layer's constructor call has it."""
    rule = lookup(layer.kind) if isinstance(layer, Layer) else None
    param = rule.makes_width if rule is not None else None
    return param if param is not None and param in layer.arg_locs else None


def _makes_as_written(step, width) -> bool:
    """The layer's output has the width its argument says, as its channels (dim 1) or features (last dim)."""
    dims = step.shape.dims if step.shape.ranked else ()
    return width is not None and len(dims) >= 2 and any(D.eq(d, width) is True for d in (dims[1], dims[-1]))


def _without_literal_factor(node) -> Optional[cst.CSTNode]:
    """`inner_dim * 3` of `(inner_dim * 3) * 2` (or of `2 * (inner_dim * 3)`): the operand beside an int literal
    factor of 2 or more, where that operand is not itself a literal."""
    if not isinstance(node, cst.BinaryOperation) or not isinstance(node.operator, cst.Multiply):
        return None
    for kept, factor in ((node.left, node.right), (node.right, node.left)):
        if isinstance(factor, cst.Integer) and int(factor.value, 0) >= 2 and not isinstance(kept, cst.Integer):
            return kept
    return None


def channels_the_product_names(finding: Finding) -> Iterator[Cause]:
    """`nn.Linear(32 * 7 * 7, 128)` fed a 64x7x7 map: the product names 32 channels, so the layer that
    made 64 is the one to change (its out_channels to 32)."""
    evidence = finding.evidence
    node = finding.loc.node if finding.loc is not None else None
    if finding.code != LINEAR_IN_FEATURES or evidence is None or not isinstance(evidence.source, Tensor) or \
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
        made = to_dim(layer.args.get("out_channels")) if kind_of(layer).startswith("Conv") else None
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
