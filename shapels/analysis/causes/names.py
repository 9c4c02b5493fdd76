"""Another int name where an argument is written as a name (`GroupNorm(8, in_ch)` where `out_ch` was
meant), at the blamed layer, upstream, at a wrapped layer, or at the layers a broadcast meets."""

from __future__ import annotations

import functools
from typing import Iterator

import libcst as cst

from shapels import rules
from shapels.analysis.causes.base import MAKES_WIDTH, Cause, Source
from shapels.analysis.findings import Finding, Fix
from shapels.codes import BROADCAST_MISMATCH
from shapels.rules.base import to_dim
from shapels.symbolic import dims as D
from shapels.values import Tensor

MAX_NAMES = 4
MAX_UNFITTED = 2  # names tried where the mismatch does not say which size fits


def other_name(finding: Finding, source: Source, unsettled: bool = False) -> Iterator[Cause]:
    """`nn.GroupNorm(8, in_ch)` where `out_ch` was meant: another int name in scope where an argument is
    written as a name: at the blamed layer, at the layer upstream that made the arriving size, at a layer
    the blamed one wraps (`TransformerEncoder(encoder_layer)`), or, for a broadcast, at the layer that
    made each side. The re-analysis runs every instance of the class, so a name that passes fits them
    all. Where the mismatch says which size fits, only names that hold it are tried; where it does not
    (a GroupNorm's divisibility), a few names that hold a width (8 or more, not a count or a stride).
    `unsettled`: also names the function rebinds, whose value when the layer was made is not known here."""
    places = _places(finding)
    candidates = [c for place in places for c in _names_for(finding, source, *place)]
    fitting = sorted((cause for cause, fits in candidates if fits is True), key=lambda c: _disuse(c, source))
    if fitting or any(place[3] is not None for place in places):
        yield from fitting[:MAX_NAMES]
        if unsettled:
            # A name rebound in a loop (`n_in = i` after each layer) held another value when the layer was
            # made than it holds now: whether it fits is the re-analysis's to say (a last resort: trials cost)
            yield from [cause for cause, fits in candidates if fits is None][:MAX_UNFITTED]
        return
    widths = [cause for cause, _ in candidates if D.as_int(to_dim(cause.fix.loc.env.get(cause.fix.content))) or 0]
    yield from [cause for cause in widths if _holds_a_width(cause, source)][:MAX_UNFITTED]


def _disuse(cause: Cause, source: Source) -> int:
    """What the rest of the function says of a name swap (0 first): a parameter the function never
    uses, written back where it fits, is what the author passed it for (0); a swap that leaves the
    replaced name's only use gone makes that parameter unused (2); anything else (1)."""
    loc = cause.fix.loc
    unit = loc.unit
    if not isinstance(unit, cst.FunctionDef):
        return 1
    uses = source.name_uses(unit)
    parameters = {p.name.value for p in list(unit.params.posonly_params) + list(unit.params.params)
                  + list(unit.params.kwonly_params)}
    if cause.fix.content in parameters and uses.get(cause.fix.content, 0) == 0:
        return 0
    replaced = loc.node.value if isinstance(loc.node, cst.Name) else None
    if replaced in parameters and uses.get(replaced, 0) == 1:
        return 2
    return 1


def _holds_a_width(cause: Cause, source: Source) -> bool:
    loc = cause.fix.loc
    visible = {**source.globals, **loc.env} if id(loc.unit) in source.functions else loc.env
    value = D.as_int(to_dim(visible.get(cause.fix.content)))
    return value is not None and value >= 8


def _places(finding: Finding) -> list:
    """(layer, param, where it is written as a name, the size that would fit there or None)."""
    evidence = finding.evidence
    if evidence is None:
        return []
    places = []

    def add(layer, first, fits) -> None:
        written = getattr(layer, "named_args", None) or {}
        for param in sorted(written, key=lambda p: p != first):  # the argument that sets the size first
            if param == first or param not in _not_a_width():
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
            add(inner, next((p for p in MAKES_WIDTH if p in inner.named_args), None), arrived)
    if finding.code == BROADCAST_MISMATCH and len(evidence.operands) == 2:
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
            param = next((p for p in MAKES_WIDTH if p in (getattr(layer, "args", None) or {})), None)
            return (layer, param, theirs) if param is not None else (None, None, None)
    return None, None, None


# Arguments that count or shape rather than size a feature dim: never a name meant for a width. A window's
# kernel, stride, padding and dilation are among them, named as the registry's window layers name them
# (Keras's too, whose rules register on first use: hence built on the first finding that asks, not at import).
_COUNTS = frozenset({"num_layers", "groups", "num_heads", "nhead", "num_groups", "dropout", "bias", "batch_first",
                     "bidirectional", "eps", "momentum", "output_padding", "padding_idx", "max_norm", "dim",
                     "start_dim", "end_dim"})


@functools.lru_cache(maxsize=1)
def _not_a_width() -> frozenset:
    return _COUNTS | frozenset(
        name for _, window in rules.window_layers()
        for name in (window.kernel, window.stride, window.padding, window.dilation) if name is not None)


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
    rebound = source.rebound(loc.unit)
    for name, value in visible.items():
        if name in (current_name, "self") or name.startswith("_") or not name.isidentifier() or _names_a_count(name):
            continue
        size = to_dim(value)
        # the values are the ones the names hold when the function ends: a name rebound in it may have held
        # another when the layer was made, so whether it fits (or differs) is not known here
        if size is None or D.as_int(size) is None:
            continue
        unsettled = name in rebound
        if D.eq(size, current) is True and not unsettled and current_name not in rebound:
            continue
        fix = Fix(f"Use {name}", loc, name, target=f"{layer.label}'s {param}", param=param)
        was = "" if current_name in rebound else f" ({D.show(current)})"
        held, fitted = ("", "may fit") if unsettled else (f" ({D.show(size)})", "fits")
        yield Cause(finding.code, fix, f"{layer.label}'s {param} is `{current_name}`{was}, where `{name}`{held} "
                                       f"{fitted}: {finding.message}"), \
            None if unsettled else fits is not None and D.eq(size, fits) is True


MAX_UNUSED = 3  # unused-parameter edits tried per finding


def unused_parameter(finding: Finding, source: Source) -> Iterator[Cause]:
    """`self.fc = nn.Linear(hidden_dim * 2, hidden_dim)` in a constructor that takes `output_dim` and never
    uses it: the parameter the caller passes for a width, written back at a width argument of a layer the
    failing tensor went through (or the blamed layer's own argument), where that argument is a bare name.
    The caller passed it for a reason; the re-analysis decides whether it fits."""
    evidence = finding.evidence
    if evidence is None:
        return
    layers = [evidence.layer] if evidence.layer is not None else []
    for tensor in ([evidence.source] if isinstance(evidence.source, Tensor) else []) + list(evidence.operands):
        if isinstance(tensor, Tensor):
            layers += [step.layer for step in reversed(tensor.trace) if step.layer is not None]
    # Where the mismatch says which size fits (at the blamed argument: the size arriving; upstream: the size
    # the blamed layer expects), only a parameter holding it is tried: an unused `num_layers` of 2 is no width
    # (further upstream, past a cat or a sum, the size is not known here: the re-analysis decides)
    arriving = finding.fix.size if finding.fix is not None else None
    blamed = evidence.layer
    expected = to_dim(blamed.args.get(finding.param)) if finding.param and hasattr(blamed, "args") else None
    producer, produced = evidence.producer or (None, None)
    seen, found = set(), 0
    for layer in layers:
        written = getattr(layer, "named_args", None) or {}
        for param, loc in written.items():
            if param not in MAKES_WIDTH and param != finding.param:
                continue
            fits = arriving if layer is blamed and param == finding.param else \
                expected if layer is producer and param == produced else None
            for name in _unused_parameters(loc, source):
                # one edit per place and name: the same constructor line builds every instance
                if (id(loc.node), param, name) in seen or \
                        fits is not None and D.eq(to_dim(loc.env.get(name)), fits) is not True:
                    continue
                seen.add((id(loc.node), param, name))
                fix = Fix(f"Use {name}", loc, name, target=f"{layer.label}'s {param}", param=param)
                yield Cause(finding.code, fix, f"{layer.label}'s {param} is `{loc.node.value}`, and `{name}`, which "
                                               f"the constructor takes, is never used: {finding.message}")
                found += 1
                if found >= MAX_UNUSED:
                    return


def _unused_parameters(loc, source: Source) -> list:
    """The int parameters of the function the argument is written in that its body never names."""
    unit = loc.unit
    if not isinstance(unit, cst.FunctionDef) or not isinstance(loc.node, cst.Name) or not isinstance(loc.env, dict):
        return []
    uses = source.name_uses(unit)
    parameters = [p.name.value for p in list(unit.params.posonly_params) + list(unit.params.params)
                  + list(unit.params.kwonly_params)]
    return [name for name in parameters[1:] if uses.get(name, 0) == 0 and name != loc.node.value
            and D.as_int(to_dim(loc.env.get(name))) is not None and not _names_a_count(name)]


# Parts of a parameter's name that say it counts or strides rather than sizes a feature dim
# (`num_layers`, `n_heads`, `depth`, `kernel_size`): never a width meant elsewhere.
_COUNT_WORDS = ("layer", "head", "depth", "kernel", "stride", "pad", "drop", "group", "block", "step", "epoch",
                "seed", "iter", "classes_per")


def _names_a_count(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _COUNT_WORDS)
