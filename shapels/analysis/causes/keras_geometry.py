"""Keras's window layers (conv, pool) whose geometry is off: the padding, strides or pool size that differ
from the other window layers' (and the file's other calls of its class, sliding.py), or a kernel that breaks
a convention (a "valid" kernel 3 among 1x1s, a non-square kernel, a strided kernel that does not tile the
map, a "same" window that strides on the branch that came out smaller). The map it leaves fails where its
branch meets another or where a later window has no room."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from shapels import rules
from shapels.analysis.causes.base import Cause, Source, window_of
from shapels.analysis.causes.fit_targets import map_the_targets_want
from shapels.analysis.causes.sliding import calls_of, is_literal, literal_value, odd_literals, texts, values
from shapels.analysis.findings import Finding, Fix
from shapels.analysis.positions import Loc
from shapels.codes import BROADCAST_MISMATCH, CAT_MISMATCH, CONV_KERNEL_TOO_LARGE, POOL_OUTPUT_EMPTY
from shapels.symbolic import dims as D
from shapels.values import MAX_TRACE, Layer, Tensor


MAX_GEOMETRY = 6  # edits tried per finding
# Which of a Keras window layer's arguments are its kernel, strides and padding, its registry entry says
# (rules' Window, `padding_mode`); the window layers here are those that convolve, pool or transpose.
_SLIDES = ("conv", "pool", "transposed")


def _compared(window) -> tuple:
    """The arguments compared with the other window layers': a pool's padding, strides and size (its
    siblings' are the convention); a convolution's padding and strides only, since its kernel is no
    convention (a bottleneck mixes 1 and 3)."""
    return (window.padding, window.stride, window.kernel) if window.pool else (window.padding, window.stride)


def odd_branch_geometry(finding: Finding, source: Source) -> Iterator[Cause]:
    """A window layer (conv, pool) whose padding, strides, kernel or pool size differs from what the other
    window layers of the same code write, set to theirs (their own expression, `stride`), or a "valid"
    padding to "same". Where branches meet at a Keras Add or Concatenate with maps of different sizes
    (ResNet's shortcut given kernel 3 where its siblings have 1, an Inception branch's pool without "same"),
    the layers of the branches that differ from the most common map; where a map became too small for a
    later window (VGG's pool of 3 among pools of 2), that window and the layers that made it. A literal
    is compared with the literals the others write, an expression (`stride * 2`) with their expressions.
    Nearest the failure first; the re-analysis decides."""
    groups = _window_layers(finding)
    if groups is None:
        return
    suspects, everyone, smaller = groups
    candidates = []  # (how much more the others write it than what this layer has, order, layer, param, ...)
    for order, layer in enumerate(suspects):
        window = window_of(layer)
        for param in _compared(window):
            where = layer.arg_locs.get(param)
            if where is None or param in layer.named_args or isinstance(where.node, cst.Name):
                continue  # a name (`kernel_size`) is the caller's hyperparameter: it stays
            if param == window.stride and _patchifies(layer, window):
                continue  # kernel = strides tiles the map (ConvNeXt's stem): no slip of one of them
            current = source.code(where.node)
            # a literal against the literals its siblings write, an expression (`stride * 2`) against theirs
            literal = is_literal(where.node)
            written = [t for t, is_lit in _their_texts(layer, param, where, everyone, source) if is_lit == literal]
            options = {t: written.count(t) - written.count(current) for t in written if t != current}
            if param == window.padding and current.strip("'\"").lower() == "valid":
                options.setdefault('"same"', 1)  # the convention that keeps the size
            candidates += [(-lead, order, layer, param, where, current, text,
                            f"differs from the other window layers' {text}") for text, lead in options.items() if lead > 0]
        candidates += [(-lead, order, layer, param, where, current, text, "has sides that differ, where the file's "
                        "windows are square") for lead, param, where, current, text in _square(layer, source)]
        if id(layer) in smaller:
            kept = _unit_strides(layer, window, source)
            if kept is not None:
                candidates.append((0, order, layer, window.stride, *kept, 'with padding "same" shrinks its branch\'s map, '
                                   "where the branches it meets keep theirs"))
        patch = _patch_kernel(layer, window, source)
        if patch is not None:
            candidates.append((0, order, layer, window.kernel, *patch, "differs from its strides, where the other "
                               "strided convolutions of its class patchify (kernel = strides)"))
        unit = _unit_kernel(layer, window, source)
        if unit is not None:
            # `padding="valid"` written out is the slip more likely than the kernel beside it: its fix first
            rank = 0 if window.padding in layer.arg_locs else -unit[0]
            candidates.append((rank, order, layer, window.kernel, *unit[1:],
                               'with padding "valid" shrinks the map, where the other 1x1 convolutions keep it'))
    candidates.sort(key=lambda c: c[:2])
    candidates += _beyond_the_trace(finding, suspects, source)
    for _, _, layer, param, where, current, text, why in candidates[:MAX_GEOMETRY]:
        label = layer if isinstance(layer, str) else layer.label
        fix = Fix(f"Set {label}'s {param} to {text}", where, _content(where.node, text), target=f"{label}'s {param}")
        yield Cause(finding.code, fix, f"{label}'s {param}={current} {why}, and the map it leaves is not the size "
                                       f"the rest expects: {finding.message}")


def _keras_windows() -> list:
    """(qualname, Window) of the Keras window layers (aliases included), by class name."""
    return sorted(((qualname, window) for qualname, window in rules.window_layers()
                   if window.padding_mode and window.slides in _SLIDES), key=lambda item: item[0].rsplit(".", 1)[-1])


def _beyond_the_trace(finding: Finding, suspects: list, source: Source) -> list:
    """Where a map became too small for a window and its trace was cut before the layers that made it
    (InceptionResNetV2's stem pool, thirty blocks upstream): the file's pools whose size, strides or
    padding differ from what most calls of their class write, as candidates after the trace's own."""
    evidence = finding.evidence
    if finding.code not in (POOL_OUTPUT_EMPTY, CONV_KERNEL_TOO_LARGE) or len(evidence.source.trace) < MAX_TRACE:
        return []
    seen = {id(layer.loc.node) for layer in suspects if layer.loc is not None}
    found = []
    for qualname, window in _keras_windows():
        if not window.pool:
            continue
        name = qualname.rsplit(".", 1)[-1]
        for call, param, node, usual in odd_literals(source, qualname, _compared(window)):
            if id(call) not in seen:
                found.append((0, len(suspects), name, param, Loc(source.unit_of(call), node), source.code(node), usual,
                              f"differs from what the other {name} layers write, {usual}"))
    return found


def _square(layer: Layer, source: Source) -> Iterator[tuple]:
    """(how many of the file's window layers write that side, param, where, the text, the square) for a
    kernel or pool written with two sides that differ, both above 1 (`(5, 3)`; Inception's 1x7 is meant):
    the square of either side, the side the file's windows write more often first (else the smaller: the
    re-analysis keeps the one that fits)."""
    param = window_of(layer).kernel
    where = layer.arg_locs.get(param)
    node = where.node if where is not None else None
    if not isinstance(node, cst.Tuple) or len(node.elements) != 2:
        return
    sides = [literal_value(e.value) for e in node.elements]
    if not all(isinstance(side, int) and side > 1 for side in sides) or sides[0] == sides[1]:
        return
    written = [literal_value(call.get(window.kernel)) for qualname, window in _keras_windows()
               for _, call in calls_of(qualname, source) if call.get(window.kernel) is not None]
    for side in sorted(sides, key=lambda side: (-written.count(side), side)):
        yield written.count(side), param, where, source.code(node), f"({side}, {side})"


def _content(node, text: str) -> str:
    """`text` as the edit writes it over `node`: a parenthesized tuple's span leaves out its parentheses, so
    a tuple written over it goes in without its own."""
    if isinstance(node, cst.Tuple) and node.lpar and text.startswith("("):
        try:
            new = cst.parse_expression(text)
        except cst.ParserSyntaxError:
            return text
        if isinstance(new, cst.Tuple) and new.lpar:
            return text[1:-1]
    return text


def _unit_strides(layer: Layer, window, source: Source) -> Optional[tuple]:
    """(where, the strides written, 1 written as they are) for a window with "same" padding and literal
    strides above 1: "same" says the size was to be kept (an Inception branch's pool)."""
    where = layer.arg_locs.get(window.stride)
    padding = getattr(layer.args.get(window.padding), "value", None)
    if where is None or str(padding).lower() != "same":
        return None
    node = where.node
    stride = literal_value(node)
    if not isinstance(stride, int) or stride < 2:
        return None
    text = f"({', '.join('1' for _ in node.elements)})" if isinstance(node, cst.Tuple) else "1"
    return where, source.code(node), text


def _patchifies(layer: Layer, window) -> bool:
    kernel, strides = layer.arg_locs.get(window.kernel), layer.arg_locs.get(window.stride)
    if window.pool or kernel is None or strides is None:
        return False
    value = literal_value(kernel.node)
    return isinstance(value, int) and value > 1 and value == literal_value(strides.node)


def _patch_kernel(layer: Layer, window, source: Source) -> Optional[tuple]:
    """(where, the kernel written, its strides' text) for a strided "valid" convolution whose kernel is larger
    than its strides where the file's other strided calls of its class have kernel = strides (ConvNeXt's
    stem and downsampling layers): the kernel that tiles the map."""
    where, strides = layer.arg_locs.get(window.kernel), layer.arg_locs.get(window.stride)
    if window.pool or where is None or strides is None or not isinstance(where.node, cst.Integer):
        return None
    kernel, stride = literal_value(where.node), literal_value(strides.node)
    padding = getattr(layer.args.get(window.padding), "value", None)
    if not isinstance(stride, int) or stride < 2 or kernel <= stride or str(padding).lower() != "valid":
        return None
    others = values(layer, (window.kernel, window.stride), source)
    if not any(isinstance(s, int) and s > 1 and k == s for k, s in others):
        return None
    return where, source.code(where.node), str(stride)


def _unit_kernel(layer: Layer, window, source: Source) -> Optional[tuple]:
    """(how many more of the other calls of its class are 1x1 than like it, where, the kernel written, "1")
    for a convolution whose "valid" padding shrinks the map by its kernel at stride 1 where the others are
    mostly 1x1 (ResNet's projection shortcut written with kernel 3): the kernel that keeps the size."""
    where = layer.arg_locs.get(window.kernel)
    if window.pool or where is None or isinstance(where.node, cst.Name):
        return None
    kernel = literal_value(where.node)
    padding = getattr(layer.args.get(window.padding), "value", None)
    strides = layer.arg_locs.get(window.stride)
    if not isinstance(kernel, int) or kernel < 2 or str(padding).lower() != "valid" or \
            strides is not None and literal_value(strides.node) != 1:
        return None
    others = values(layer, (window.kernel, window.padding, window.stride), source)
    lead = sum(row[0] == 1 for row in others) - others.count((kernel, "valid", 1))
    if lead <= 0:
        return None
    text = "1" if isinstance(where.node, cst.Integer) else "(1, 1)"
    return lead, where, source.code(where.node), text


def _window_layers(finding: Finding) -> Optional[tuple]:
    """(the window layers that may be at fault, nearest the failure first; every window layer to compare
    them with; the ids of those on a branch whose map came out smaller than another's), or None where the
    finding is not about a map's size."""
    evidence = finding.evidence
    if evidence is None:
        return None
    if finding.code in (POOL_OUTPUT_EMPTY, CONV_KERNEL_TOO_LARGE) and isinstance(evidence.source, Tensor):
        layers = [step.layer for step in evidence.source.trace if _sliding(step.layer)]
        if _sliding(evidence.layer):  # the window that has no room is a suspect too (its kernel written 3 for 1)
            layers.append(evidence.layer)
        return list(reversed(layers)), layers, set()
    wanted = map_the_targets_want(finding)
    if wanted is not None:  # an autoencoder's output of another size than its targets: its window layers
        layers = [step.layer for step in wanted[0].trace if _sliding(step.layer)]
        return list(reversed(layers)), layers, set()
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
    # the branches whose map is smaller than another's on every axis: a "same" window striding there shrank it
    smaller = {id(layer) for (_, own), side in zip(branches, sides) for layer in own
               if any(all(a <= b for a, b in zip(side, other)) and side != other for other in sides)}
    return suspects, [layer for _, own in branches for layer in own], smaller


def _sliding(layer) -> bool:
    """A Keras window layer: one that convolves, pools or transposes a map, padded by a mode."""
    window = window_of(layer)
    return window is not None and window.padding_mode and window.slides in _SLIDES


def _their_texts(layer: Layer, param: str, where: Loc, everyone: list, source: Source) -> list:
    """(text, whether it is a literal) of what the other window layers write for `param`, one entry each,
    where it reads the same names (the same function, or the top level for both), and what the file's
    other calls of its class write as literals."""
    found: list = []
    counted = set()  # the calls counted here: the file's other calls of its class are counted once each
    for other in everyone:
        # a bare name is where it is written (named_args), not the caller's value it was traced to (arg_locs)
        written = (other.named_args.get(param) or other.arg_locs.get(param)) if other is not layer else None
        if written is not None and _same_scope(written.unit, where.unit):
            found.append((source.code(written.node), is_literal(written.node)))
            counted.add(id(other.loc.node) if other.loc is not None else None)
    found += [(text, True) for text in texts(layer, param, source, skip=counted)]
    return found


def _same_scope(a, b) -> bool:
    functions = (cst.FunctionDef, cst.Lambda)
    return a is b or not isinstance(a, functions) and not isinstance(b, functions)
