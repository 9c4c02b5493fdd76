"""A residual or gated sum whose branch makes another width: the layer that made one operand's size."""

from __future__ import annotations

from typing import Iterator, Optional

import libcst as cst

from shapels import rules
from shapels.analysis.causes.base import Cause, kind_of, padded_window, window_of
from shapels.analysis.findings import Finding, Fix
from shapels.codes import BROADCAST_MISMATCH, CAT_MISMATCH
from shapels.rules.base import to_dim
from shapels.symbolic import dims as D
from shapels.values import Tensor

MAX_NAMES = 2  # variables holding the needed size tried before the number


def width_of_a_broadcast_operand(finding: Finding) -> Iterator[Cause]:
    """`x + self.ff(x)` where ff's last Linear makes 128 and x has 64: set the layer that made the odd
    operand's size (a Linear's out_features, a conv's out_channels) to the size the other operand has,
    written as a name in scope that holds it where there is one. Both operands are proposed, the one whose
    maker is nearer first; the re-analysis keeps whichever leaves the file clean."""
    evidence = finding.evidence
    # (`torch.cat((cls_tokens, x), dim=1)` too: the size other than the joined one that differs)
    if finding.code not in (BROADCAST_MISMATCH, CAT_MISMATCH) or evidence is None or len(evidence.operands) != 2:
        return
    first, second = evidence.operands
    if not (isinstance(first, Tensor) and isinstance(second, Tensor) and first.shape.ranked and second.shape.ranked):
        return
    if finding.code == CAT_MISMATCH and first.shape.rank != second.shape.rank:
        return
    # Sizes paired from the right, as broadcasting pairs them (`x * self.gamma` of (1, 32, H, W) and (16, 1, 1))
    paired = range(1, min(first.shape.rank, second.shape.rank) + 1)
    sizes = {k: (D.as_int(first.shape.dims[-k]), D.as_int(second.shape.dims[-k])) for k in paired}
    differing = [k for k, (a, b) in sizes.items() if a != b and None not in (a, b) and 1 not in (a, b)]
    if len(differing) != 1:
        return
    from_right = differing[0]
    makers = []
    for one, other in ((first, second), (second, first)):
        dim, other_dim = one.shape.rank - from_right, other.shape.rank - from_right
        found = _maker(one, dim)
        if found is not None:
            makers.append((found[2], found[0], found[1], D.as_int(one.shape.dims[dim]),
                           D.as_int(other.shape.dims[other_dim]), _maker(other, other_dim)))
    for _, layer, param, mine, theirs, sibling in sorted(makers, key=lambda m: m[0]):
        # Written as a name (`nn.Linear(hidden, hidden)`), the argument is one of the class's sizes: another
        # name there keeps the author's terms and every instance; else where the value was written.
        named = (getattr(layer, "named_args", None) or {}).get(param)
        candidates = [(named, name) for name in _names_holding(named, theirs)] if named is not None else []
        where = layer.arg_locs.get(param)
        if where is not None:
            candidates += [(where, text) for text in _sibling_text(where, sibling) + _names_holding(where, theirs)
                           + [str(theirs)]]
        for loc, text in candidates:
            fix = Fix(f"Set {layer.label}'s {param} to {text}", loc, text, target=f"{layer.label}'s {param}",
                      param=param, size=theirs)
            yield Cause(finding.code, fix, f"{layer.label}'s {param} makes {mine} where the tensor it is combined "
                                           f"with has {theirs}: {finding.message}")


def _maker(tensor: Tensor, dim: int) -> Optional[tuple]:
    """(layer, its argument, steps since) of the Linear or Dense (last dim) or convolution (channel dim:
    dim 1 for torch's, the last for Keras's channels-last ones) that made `dim` of the tensor, through
    later steps of the same rank that keep that size."""
    rank, size = tensor.shape.rank, D.as_int(tensor.shape.dims[dim])
    for since, step in enumerate(reversed(tensor.trace)):
        shape = step.shape
        if not shape.ranked or shape.rank != rank or D.as_int(shape.dims[dim]) != size:
            return None
        kind = kind_of(step.layer)
        if kind in ("Linear", "Dense") and dim == rank - 1:
            return step.layer, "out_features" if kind == "Linear" else "units", since
        window = window_of(step.layer)
        width = _width_argument(step.layer) if window is not None else None
        if width is None:
            continue
        if padded_window(step.layer) is not None and dim == rank - window.spatial - 1:
            return step.layer, width, since  # a torch convolution's channels: dim 1 of (N, C, *map)
        if window.padding_mode and window.slides in ("conv", "transposed") and dim == _keras_channels(step.layer, rank):
            return step.layer, width, since
    return None


def _width_argument(layer) -> Optional[str]:
    """The argument that sizes the layer's output channels (its registry entry's makes_width)."""
    rule = rules.lookup(layer.kind)
    return rule.makes_width if rule is not None else None


def _keras_channels(layer, rank: int) -> int:
    """The channel axis of a Keras convolution's output: the last unless data_format is channels_first."""
    fmt = layer.args.get("data_format") if hasattr(layer, "args") else None
    return 1 if getattr(fmt, "value", None) == "channels_first" else rank - 1


def _sibling_text(where, sibling: Optional[tuple]) -> list:
    """The expression the other operand's maker wrote for its width (`4 * filters`), where it was written in
    the same function: the author's own terms for the size, valid at this argument too."""
    if sibling is None:
        return []
    other, param, _ = sibling
    written = getattr(other, "arg_locs", {}).get(param)
    if written is None or written.unit is not where.unit or written.node is where.node:
        return []
    text = cst.Module(body=[]).code_for_node(written.node)
    return [text] if text != cst.Module(body=[]).code_for_node(where.node) else []


def _names_holding(loc, size: int) -> list:
    """Variables in scope where the argument was written whose value is `size`."""
    env = getattr(loc, "env", None)
    if not isinstance(env, dict):
        return []
    names = []
    for name, value in env.items():
        if name == "self" or name.startswith("_") or not isinstance(name, str):
            continue
        held = to_dim(value)
        if held is not None and D.as_int(held) == size:
            names.append(name)
            if len(names) == MAX_NAMES:
                break
    return names
