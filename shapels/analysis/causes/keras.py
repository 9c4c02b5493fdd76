"""Keras's own ways to go wrong, which surface downstream of the mistake:
- a Dense on a feature map keeps the map's axes (it maps only the last one), so a model that forgot its
  Flatten runs until its output meets the targets, at `fit`;
- a window layer (conv, pool) whose padding, strides or pool size differ from the other window layers'
  leaves a map of another size, which fails where its branch meets another or where a later window has
  no room.
(A last Dense of another width than the targets is widths.width_the_target_names'; a branch of another
width, residual.width_of_a_broadcast_operand's.)"""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from shapels.analysis.causes.base import Cause, Source
from shapels.analysis.findings import Finding, Fix
from shapels.analysis.positions import Loc
from shapels.codes import (BROADCAST_MISMATCH, CAT_MISMATCH, CONV_KERNEL_TOO_LARGE, LOSS_TARGET, MISSING_FLATTEN,
                           POOL_OUTPUT_EMPTY)
from shapels.symbolic import dims as D
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



# Keras's layers that slide a window over a map, and the arguments that set the map they leave
_SLIDING = {"Conv1D", "Conv2D", "Conv3D", "Convolution1D", "Convolution2D", "Convolution3D", "SeparableConv1D",
            "SeparableConv2D", "DepthwiseConv1D", "DepthwiseConv2D", "Conv1DTranspose", "Conv2DTranspose",
            "Conv3DTranspose", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
            "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D", "AvgPool3D"}
_GEOMETRY = ("padding", "strides", "pool_size")  # a pool's: its siblings' are the convention
# A convolution's kernel is no convention (a bottleneck mixes 1 and 3): only its padding and strides are compared
_CONV_GEOMETRY = ("padding", "strides")
MAX_GEOMETRY = 6  # edits tried per finding


def odd_branch_geometry(finding: Finding, source: Source) -> Iterator[Cause]:
    """A window layer (conv, pool) whose padding, strides, kernel or pool size differs from what the other
    window layers of the same code write, set to theirs (their own expression, `stride`), or a "valid"
    padding to "same". Where branches meet at a Keras Add or Concatenate with maps of different sizes
    (ResNet's shortcut given kernel 3 where its siblings have 1, an Inception branch's pool without "same"),
    the layers of the branches that differ from the most common map; where a map became too small for a
    later window (VGG's pool of 3 among pools of 2), the layers that made it. Nearest the failure first;
    the re-analysis decides."""
    groups = _window_layers(finding)
    if groups is None:
        return
    suspects, everyone = groups
    candidates = []  # (how much more the others write it than what this layer has, order, layer, param, ...)
    for order, layer in enumerate(suspects):
        for param in _GEOMETRY if "Pool" in layer.short_kind else _CONV_GEOMETRY:
            where = layer.arg_locs.get(param)
            if where is None or param in layer.named_args or isinstance(where.node, cst.Name):
                continue  # a name (`kernel_size`) is the caller's hyperparameter: it stays
            current = source.code(where.node)
            written = _their_texts(layer, param, where, everyone, source)
            options = {t: written.count(t) - written.count(current) for t in written if t != current}
            if param == "padding" and current.strip("'\"").lower() == "valid":
                options.setdefault('"same"', 1)  # the convention that keeps the size
            candidates += [(-lead, order, layer, param, where, current, text) for text, lead in options.items() if lead > 0]
    for _, _, layer, param, where, current, text in sorted(candidates, key=lambda c: c[:2])[:MAX_GEOMETRY]:
        fix = Fix(f"Set {layer.label}'s {param} to {text}", where, text, target=f"{layer.label}'s {param}")
        yield Cause(finding.code, fix, f"{layer.label}'s {param}={current} differs from the other window layers' "
                                       f"{text}, and the map it leaves is not the size the rest expects: "
                                       f"{finding.message}")


def _window_layers(finding: Finding) -> Optional[tuple]:
    """(the window layers that may be at fault, nearest the failure first; every window layer to compare
    them with), or None where the finding is not about a map's size."""
    evidence = finding.evidence
    if evidence is None:
        return None
    if finding.code in (POOL_OUTPUT_EMPTY, CONV_KERNEL_TOO_LARGE) and isinstance(evidence.source, Tensor):
        layers = [step.layer for step in evidence.source.trace if _sliding(step.layer)]
        return list(reversed(layers)), layers
    if finding.code not in (BROADCAST_MISMATCH, CAT_MISMATCH):
        return None
    maps = [t for t in evidence.operands if isinstance(t, Tensor) and t.shape.ranked and t.shape.rank >= 3]
    if len(maps) < 2 or len({t.shape.rank for t in maps}) != 1:
        return None
    sides = [tuple(D.as_int(d) for d in t.shape.dims[1:-1]) for t in maps]
    if None in {d for side in sides for d in side} or len(set(sides)) < 2:
        return None  # the maps agree (a width: residual.py's), or a size is not known
    usual = max(set(sides), key=sides.count)
    branches = []
    for tensor, side in zip(maps, sides):
        others = {id(step) for t in maps if t is not tensor for step in t.trace}
        own = [step.layer for step in tensor.trace if id(step) not in others and _sliding(step.layer)]
        branches.append((side != usual, own))
    suspects = [layer for odd, own in branches if odd for layer in reversed(own)] + \
        [layer for odd, own in branches if not odd for layer in reversed(own)]
    return suspects, [layer for _, own in branches for layer in own]


def _sliding(layer) -> bool:
    return isinstance(layer, Layer) and layer.kind.startswith("keras.layers.") and layer.short_kind in _SLIDING


def _their_texts(layer: Layer, param: str, where: Loc, everyone: list, source: Source) -> list:
    """What the other window layers write for `param`, one entry each, where it reads the same names (the
    same function, or the top level for both)."""
    texts: list = []
    for other in everyone:
        # a bare name is where it is written (named_args), not the caller's value it was traced to (arg_locs)
        written = (other.named_args.get(param) or other.arg_locs.get(param)) if other is not layer else None
        if written is not None and _same_scope(written.unit, where.unit):
            texts.append(source.code(written.node))
    return texts


def _same_scope(a, b) -> bool:
    functions = (cst.FunctionDef, cst.Lambda)
    return a is b or not isinstance(a, functions) and not isinstance(b, functions)
