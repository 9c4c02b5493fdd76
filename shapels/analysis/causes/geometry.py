"""A layer's kernel, stride or padding against the convention and its siblings, where the map it leaves
is not the one the rest of the program expects; sizes followed with the rules' own conv/pool
arithmetic."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from shapels.analysis.causes.base import (Cause, expected_size, flatten_width, is_one_d_sliding, kind_of, map_side, map_size,
                                          padded_window)
from shapels.analysis.causes.sliding import values
from shapels.analysis.findings import Finding, Fix
from shapels.codes import (BROADCAST_MISMATCH, CAT_MISMATCH, LINEAR_IN_FEATURES, LOSS_TARGET, OP_INPUT_SHAPE,
                           VIEW_INVALID_SHAPE)
from shapels.rules.base import to_dim
from shapels.rules.common import conv_out, pool_out
from shapels.symbolic import dims as D
from shapels.values import MAX_TRACE, Tensor

MAX_GEOMETRY = 3  # geometry edits tried per finding


def odd_geometry(finding: Finding, source=None) -> Iterator[Cause]:
    """`nn.MaxPool2d(4, 2)` among pools of kernel 2, before a Linear written for a 4x4 map; a conv of
    kernel 5 with padding 1 before a residual add: the one layer whose kernel, stride or padding breaks
    the convention (a pool's stride is its kernel; a conv's padding keeps the size, the kernel or the
    padding set as the pair its siblings write more; a 3x3 without padding among 1x1s; a conv strides by
    2 unless it patchifies) or differs from its siblings', set to the usual value, gives the map the rest
    of the program expects. The sizes are followed through the trace with the rules' own arithmetic; an
    edit is proposed only where that reaches the size wanted (or cannot follow the map). A layer built by
    one constructor call many times (a cfg loop) changes everywhere it runs. A pool's siblings are the
    file's other calls of its class (sliding.py), a conv's the convs its map went through; an einops
    pattern that cannot split the map names no size, and there only the conventions are tried. Which
    arguments are the kernel, stride and padding, the layer's registry entry says (rules' Window)."""
    found = []  # (the arithmetic could not follow it, cause): the ones it confirms are tried first
    proposed = set()
    for steps, wanted in _maps_wanted(finding):
        one_d = is_one_d_sliding(steps)
        sliding = [step.layer for step in steps if padded_window(step.layer) is not None]
        start = 1 if len(steps) < MAX_TRACE else 2  # a trace cut to its last steps has a gap after its first
        for index in range(start, len(steps)):
            layer = steps[index].layer
            window = padded_window(layer)
            if window is None:
                continue
            for param, value, why, sure in _usual_geometry(layer, window, sliding, source):
                where = layer.arg_locs.get(param)
                if where is None or not isinstance(where.node, cst.Integer) or (id(where.node), value) in proposed:
                    continue
                followed = _side_after(steps, index, where.node, param, value, one_d) if wanted is not None else None
                if followed is not None and wanted not in (followed, None if one_d else followed * followed):
                    continue  # the arithmetic says it does not give the map; an unknown step leaves it to the trial
                if wanted is None and not sure:
                    continue  # a conv's kernel or padding unlike its siblings': not where no size is named
                proposed.add((id(where.node), value))
                fix = Fix(f"Set {layer.label}'s {param} to {value}", where, str(value),
                          target=f"{layer.label}'s {param}", param=param)
                found.append((followed is None, Cause(
                    finding.code, fix, f"{layer.label}'s {param}={_int_arg(layer, param, window)} {why}, and the map comes "
                                       f"out the wrong size{_expected(wanted, followed, one_d)}: {finding.message}")))
    found.sort(key=lambda pair: pair[0])
    yield from (cause for _, cause in found[:MAX_GEOMETRY])


def _expected(wanted: Optional[int], followed: Optional[int], one_d: bool) -> str:
    """Where the map of side `wanted` is expected, as the message says it; a map whose positions became a
    sequence (ViT tokens, an attention bias of side²) by its side."""
    if wanted is None:
        return ""
    if one_d:
        return f" where length {wanted} is expected"
    if followed is not None and followed != wanted:
        return f" where {followed}×{followed} ({wanted} positions) is expected"
    return f" where {wanted}×{wanted} is expected"


def _usual_geometry(layer, window, sliding: list, source=None) -> Iterator[tuple]:
    """(argument, value, why the current one is odd, whether it may be tried where no map size is named (an
    einops split)): the conventions first, then what its siblings of the same kind have."""
    kind = kind_of(layer)
    kernel, stride, padding = (_int_arg(layer, p, window) for p in (window.kernel, window.stride, window.padding))
    dilation = _int_arg(layer, window.dilation, window) if window.dilation else None
    pairs = values(layer, (window.kernel, window.padding), source)  # the file's other calls of its class
    if window.pool and None not in (kernel, stride) and kernel != stride:
        yield window.stride, kernel, "differs from its kernel", True
        yield window.kernel, stride, "differs from its stride", True
    if not window.pool and None not in (kernel, padding) and dilation in (None, 1):
        # A conv keeps the size where padding = (kernel - 1) / 2, and one of the two was the slip: the pair
        # its siblings write more often first (kernel 5 among kernels of 3, padding 2 among paddings of 1).
        edits = []
        if kernel % 2 and padding not in (0, (kernel - 1) // 2):
            edits = [(pairs.count((2 * padding + 1, padding)), window.kernel, 2 * padding + 1,
                      f"does not match its padding {padding}"),
                     (pairs.count((kernel, (kernel - 1) // 2)), window.padding, (kernel - 1) // 2,
                      f"does not keep the size with kernel {kernel}")]
        elif padding == 0 and kernel > 1 and stride == 1 and pairs.count((1, 0)) > pairs.count((kernel, 0)):
            edits = [(1, window.kernel, 1, "leaves a smaller map where its siblings' 1x1 keep the size")]
        for _, param, value, why in sorted(edits, key=lambda edit: -edit[0]):
            yield param, value, why, True
    if not window.pool and None not in (kernel, stride, padding) and stride > 2 and (stride != kernel or padding):
        # a conv downsamples by 2, or patchifies: its stride is its kernel, unpadded
        yield window.stride, 2, f"with kernel {kernel} neither halves the map nor patchifies it", True
    for param in (window.kernel, window.stride, window.padding):
        current = _int_arg(layer, param, window)
        siblings = [_int_arg(other, param, window) for other in sliding if other is not layer and kind_of(other) == kind]
        # A pool's siblings are the file's other calls of its class where they say their values (a pool of
        # 4 among the file's pools of 2, not only those on this map's way); a conv's kernel, padding and
        # stride mix by design (1x1 and 3x3, a strided stem), so only the convs the map went through count
        written = [row[0] for row in values(layer, (param,), source)] if window.pool else []
        if sum(value is not None for value in written) >= 2:
            siblings = written
        for value in {v for v in siblings if isinstance(v, int) and v != current}:
            if current is not None and siblings.count(value) * 2 > len(siblings):
                yield param, value, f"differs from the other {kind} layers' {value}", \
                    window.pool or param == window.stride


def _maps_wanted(finding: Finding) -> Iterator[tuple]:
    """(the steps of a tensor's trace, the side its last map should have): for a Linear whose
    in_features is C*s*s of the C-channel map it got, s (C*L for a 1-D map: L); for two maps that must
    agree (a skip connection's cat or +, a loss's input against its target, as an autoencoder's output
    against its input), the other one's side, with the steps since the two parted (the whole trace of a
    tensor made apart, an attention bias); for a map an einops pattern cannot split, None."""
    evidence = finding.evidence
    if evidence is None:
        return
    if finding.code in (LINEAR_IN_FEATURES, VIEW_INVALID_SHAPE) and isinstance(evidence.source, Tensor):
        width = expected_size(finding) if finding.code == LINEAR_IN_FEATURES else flatten_width(finding)
        found = map_side(evidence.source, width)
        if found is not None:
            yield evidence.source.trace, found[1]
    elif finding.code == OP_INPUT_SHAPE and isinstance(evidence.source, Tensor) and evidence.source.trace:
        yield evidence.source.trace, None  # an einops pattern that cannot split the map: no one size is named
    elif finding.code in (CAT_MISMATCH, BROADCAST_MISMATCH, LOSS_TARGET) and len(evidence.operands) == 2:
        first, second = evidence.operands
        if not (isinstance(first, Tensor) and isinstance(second, Tensor)):
            return
        one_d = is_one_d_sliding(first.trace + second.trace)
        for one, other in ((first, second), (second, first)):
            side = map_size(other.shape, one_d)
            shared = {id(step) for step in other.trace}
            parted = next((i for i, step in enumerate(one.trace) if id(step) not in shared), None)
            if side is not None and parted is not None and map_size(one.shape, one_d) not in (None, side):
                yield one.trace[max(parted - 1, 0):], side  # nothing shared (a bias made apart): its whole trace


def _int_arg(layer, param: str, window) -> Optional[int]:
    value = layer.args.get(param) if hasattr(layer, "args") else None
    if param == window.stride and getattr(value, "value", 0) is None:
        value = layer.args.get(window.kernel)  # a pool's stride defaults to its kernel
    dim = to_dim(value) if value is not None else None
    return D.as_int(dim) if dim is not None else None


def _side_after(steps: tuple, index: int, node, param: str, value: int, one_d: bool) -> Optional[int]:
    """The last square map's side when `param` written at `node` is `value` (from step `index` on, in every
    layer that constructor call built), following the sizes through the steps; None where a step's
    arithmetic is not known here."""
    side = map_size(steps[index - 1].shape, one_d)
    if side is None:
        return None
    last = None
    for position in range(index, len(steps)):
        step = steps[position]
        before, after = map_size(steps[position - 1].shape, one_d), map_size(step.shape, one_d)
        window = padded_window(step.layer)
        if window is not None:
            where = step.layer.arg_locs.get(param)
            side = _slide(step.layer, window, side, {param: value} if where is not None and where.node is node else {})
            if side is None or side < 1:
                return None
        elif after is None:
            if any(map_size(later.shape, one_d) is not None for later in steps[position + 1:]):
                return None  # a map again later (tokens rearranged back, upsampled): not followed here
            break  # flattened: the map before it is the one the Linear was written for
        elif before != after:
            return None  # a step that resizes the map in a way not followed here
        last = side
    return last


def _slide(layer, window, side: int, change: dict) -> Optional[int]:
    """The side of the map `layer` leaves of one of `side`, with the arguments in `change` instead of its own."""
    kernel, stride, padding = (change.get(p, _int_arg(layer, p, window)) for p in (window.kernel, window.stride,
                                                                                   window.padding))
    dilation = change.get(window.dilation, _int_arg(layer, window.dilation, window)) if window.dilation else None
    if dilation is None:
        dilation = 1
    rounds_up = window.ceil_mode is not None and getattr(layer.args.get(window.ceil_mode), "value", False)
    if None in (kernel, stride, padding) or rounds_up:
        return None
    sizes = (side, kernel, stride, padding, dilation)
    out = pool_out(*sizes, False) if window.pool else conv_out(*sizes)
    return D.as_int(out)
