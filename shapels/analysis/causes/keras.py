"""Keras's own ways to go wrong, which surface downstream of the mistake:
- a Dense on a feature map keeps the map's axes (it maps only the last one), so a model that forgot its
  Flatten runs until its output meets the targets, at `fit`;
- a window layer (conv, pool) whose geometry is off leaves a map of another size, which fails where its
  branch meets another or where a later window has no room (keras_geometry.py).
(A last Dense of another width than the targets is widths.width_the_target_names'; a branch of another
width, residual.width_of_a_broadcast_operand's.)"""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from shapels.analysis.causes.base import Cause, Source
from shapels.analysis.findings import Finding, Fix
from shapels.analysis.positions import Loc
from shapels.codes import LOSS_TARGET, MISSING_FLATTEN
from shapels.values import Layer, Tensor

_DENSE = "keras.layers.Dense"


def forgotten_flatten(finding: Finding, source: Source) -> Iterator[Cause]:
    """The loss gets an output of higher rank than its targets, and a Dense upstream got a feature map
    ((N, H, W, C) where it was meant to see (N, H*W*C)): a Flatten belongs before that Dense. In a
    Sequential's list it is a new item; in functional code it wraps the Dense's input."""
    evidence = finding.evidence
    if finding.code != LOSS_TARGET or evidence is None or not isinstance(evidence.source, Tensor):
        return
    target = evidence.source.shape
    output = next((t for t in evidence.operands if isinstance(t, Tensor) and t is not evidence.source), None)
    if output is None or not (target.ranked and output.shape.ranked) or output.shape.rank <= max(target.rank, 2):
        return
    found = _dense_on_a_map(output)
    if found is None:
        return
    layer, applied, arriving = found
    fix = _fix(layer, applied, source)
    if fix is not None:
        yield Cause(MISSING_FLATTEN, fix, f"{layer.label} gets the feature map {arriving.show()}: a Keras Dense maps only its "
                                          f"last axis and keeps the others, so the model's output is "
                                          f"{output.shape.show()} where the targets are {target.show()}; a Flatten "
                                          "before it gives it (N, features)")


def _dense_on_a_map(output: Tensor) -> Optional[tuple]:
    """(the Dense, the step where it ran, the shape it got) of the last Dense in the output's chain that
    got more than two axes."""
    steps = output.trace
    for before, step in reversed(list(zip(steps, steps[1:]))):
        layer = step.layer
        if isinstance(layer, Layer) and layer.kind == _DENSE and before.shape.ranked and before.shape.rank > 2:
            return layer, step, before.shape
    return None


def _fix(layer: Layer, applied, source: Source) -> Optional[Fix]:
    constructor = layer.loc.node if layer.loc is not None else None
    if not isinstance(constructor, cst.Call):
        return None
    callee = source.code(constructor.func)
    if not callee.endswith("Dense"):
        return None
    flatten = callee[: -len("Dense")] + "Flatten"
    if "." not in flatten and "Flatten" not in source.globals:
        return None  # `Flatten` is not a name this file has: the fix would not run
    if id(constructor) in source.listed:  # keras.Sequential([..., layers.Dense(10)])
        return Fix(f"Add {flatten}() before {layer.label}", Loc(layer.loc.unit, constructor),
                   f"{flatten}(), {source.code(constructor)}", target="the model's layers")
    call = applied.loc.node if applied.loc is not None else None
    if isinstance(call, cst.Call) and call.func is constructor and len(call.args) == 1 and call.args[0].keyword is None:
        argument = call.args[0].value  # layers.Dense(10)(x) -> layers.Dense(10)(layers.Flatten()(x))
        return Fix(f"Flatten {source.code(argument)} first", Loc(applied.loc.unit, argument),
                   f"{flatten}()({source.code(argument)})", target="the Dense's input")
    return None
