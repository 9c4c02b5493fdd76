"""einops: rearrange/reduce/repeat and the Rearrange/Reduce layers, from their pattern strings.

`rearrange(x, 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)', p1=16, p2=16)`: each element on the left
names one input dim (a group splits it: one unknown axis per group, the rest from the keyword
lengths), `...` stands for any run of dims, and each element on the right multiplies its axes. What
einops rejects for the shapes in play (a rank the left side cannot match, a length that does not
divide, a keyword length that differs from the dim) is an `op-input-shape` finding; a pattern that
would fail whatever the shapes (a typo in it) is not a shape finding, so it is left unknown.
"""

from __future__ import annotations

import keyword

from shapels.codes import OP_INPUT_SHAPE
from shapels.rules.base import RuleCall, Unknowable, to_dim
from shapels.rules.registry import T, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Const, Tensor

ELLIPSIS = "..."
CODE = OP_INPUT_SHAPE


class Group(list):
    """A parenthesised element: `(h w)`, `(...)`, `()`; a bare axis is a plain one-item list."""


def parse_side(text: str) -> list:
    """'b (h w) ... 1 ()' -> [['b'], Group(['h', 'w']), ['...'], [1], Group([])]; Unknowable on a
    malformed side."""
    elements: list = []
    group = None
    for token in text.replace("(", " ( ").replace(")", " ) ").split():
        if token == "(":
            if group is not None:
                raise Unknowable("pattern")  # nested parentheses
            group = Group()
        elif token == ")":
            if group is None:
                raise Unknowable("pattern")
            elements.append(group)
            group = None
        else:
            atom = _atom(token)
            if group is not None:
                group.append(atom)
            else:
                elements.append([atom])
    if group is not None:
        raise Unknowable("pattern")
    return elements


def _atom(token: str):
    if token == ELLIPSIS:
        return ELLIPSIS
    if token.isdecimal():
        return int(token)
    if token.isidentifier() and not keyword.iskeyword(token) and not token.startswith("_") and not token.endswith("_"):
        return token
    raise Unknowable("pattern")


def _bare_ellipsis(element: list) -> bool:
    return not isinstance(element, Group) and element == [ELLIPSIS]


def _names(side: list) -> list:
    return [a for element in side for a in element if isinstance(a, str) and a != ELLIPSIS]


def _has_ellipsis(side: list) -> bool:
    return any(a == ELLIPSIS for element in side for a in element)


def _validate(kind: str, left: list, right: list, lengths: dict) -> None:
    """What einops rejects before it looks at a shape: Unknowable (a pattern error, not ours)."""
    names_l, names_r = _names(left), _names(right)
    if len(set(names_l)) != len(names_l) or len(set(names_r)) != len(names_r):
        raise Unknowable("pattern")  # an axis named twice on one side
    if sum(a == ELLIPSIS for e in left for a in e) > 1 or sum(a == ELLIPSIS for e in right for a in e) > 1:
        raise Unknowable("pattern")
    if any(a == ELLIPSIS and isinstance(e, Group) for e in left for a in e):
        raise Unknowable("pattern")  # an ellipsis inside parentheses on the left
    if _has_ellipsis(left) != _has_ellipsis(right):
        raise Unknowable("pattern")
    # Numbers other than 1: reduced axes on reduce's left side, new axes on repeat's right side.
    if kind != "reduce" and any(isinstance(a, int) and a != 1 for e in left for a in e):
        raise Unknowable("pattern")
    if kind != "repeat" and any(isinstance(a, int) and a != 1 for e in right for a in e):
        raise Unknowable("pattern")
    if kind == "rearrange" and set(names_l) != set(names_r):
        raise Unknowable("pattern")
    if kind == "reduce" and not set(names_r) <= set(names_l):
        raise Unknowable("pattern")
    if kind == "repeat" and (not set(names_l) <= set(names_r) or not set(names_r) - set(names_l) <= set(lengths)):
        raise Unknowable("pattern")  # a new axis needs its length
    if not set(lengths) <= set(names_l) | set(names_r):
        raise Unknowable("axes_lengths")


def _lengths(call: RuleCall, name: str) -> dict:
    given = call.args.get(name)
    if given is None:
        given = call.init.get(name, {})
    out = {}
    for axis, value in (given or {}).items():
        size = to_dim(value)
        if size is None:
            raise Unknowable(axis)
        out[axis] = size
    return out


def _divide(call: RuleCall, size, known, unknown_axis: str, shape: Shape, pattern: str):
    if D.eq(known, 0) is not False:
        raise Unknowable(unknown_axis)  # a zero length: einops' own error, not a shape one
    if D.as_int(size) is not None and D.as_int(known) is not None:
        if D.as_int(size) % D.as_int(known) != 0:
            call.fail(CODE, f"einops: {pattern!r} cannot split a dim of {D.show(size)} into parts of {D.show(known)} "
                            f"(for {unknown_axis}) in {shape.show()}")
        return int(D.as_int(size) // D.as_int(known))
    quotient = D.cancelled_quotient(size, known)
    if quotient.is_integer:
        return D.const(quotient)
    raise Unknowable(unknown_axis)


def transform(call: RuleCall, kind: str, shape: Shape, pattern: str, lengths: dict) -> Shape:
    if not isinstance(pattern, str) or pattern.count("->") != 1:
        raise Unknowable("pattern")
    left_text, right_text = pattern.split("->")
    left, right = parse_side(left_text), parse_side(right_text)
    _validate(kind, left, right, lengths)
    if not shape.ranked:
        raise Unknowable("tensor")
    dims = list(shape.dims)
    if _has_ellipsis(left):
        if len(dims) < len(left) - 1:
            call.fail(CODE, f"einops: {pattern!r} needs at least {len(left) - 1} dims; the tensor is {shape.show()}")
        at = next(i for i, e in enumerate(left) if _bare_ellipsis(e))
        width = len(dims) - (len(left) - 1)
        matched = dims[:at] + [None] + dims[at + width:]
        ellipsis_dims = dims[at:at + width]
    else:
        if len(dims) != len(left):
            call.fail(CODE, f"einops: {pattern!r} expects {len(left)} dims; the tensor is {shape.show()}")
        matched, ellipsis_dims = dims, []
    axes = dict(lengths)
    for element, size in zip(left, matched):
        if _bare_ellipsis(element):
            continue
        known, unknown = 1, []
        for atom in element:
            if isinstance(atom, int):
                known *= atom
            elif atom in axes:
                known *= axes[atom]
            else:
                unknown.append(atom)
        if len(unknown) > 1:
            raise Unknowable("pattern")  # einops cannot infer two lengths of one group either
        if unknown:
            axes[unknown[0]] = _divide(call, size, known, unknown[0], shape, pattern)
        elif D.eq(known, size) is False:
            call.fail(CODE, f"einops: {pattern!r} needs {D.show(known)} for "
                            f"({' '.join(str(a) for a in element)}), the dim is {D.show(size)} in {shape.show()}")
    out = []
    for element in right:
        if _bare_ellipsis(element):
            out.extend(ellipsis_dims)
            continue
        size = 1
        for atom in element:
            if atom == ELLIPSIS:
                for d in ellipsis_dims:
                    size *= d
            elif isinstance(atom, int):
                size *= atom
            else:
                size *= axes[atom]
        out.append(size)
    return Shape.of(out)


def _pattern(call: RuleCall) -> str:
    value = call.value("pattern")
    if not isinstance(value, Const) or not isinstance(value.value, str):
        raise Unknowable("pattern")
    return value.value


def _apply(call: RuleCall, kind: str, tensor_name: str):
    tensor = call.value(tensor_name)
    if not isinstance(tensor, Tensor):
        raise Unknowable(tensor_name)  # a list of tensors is stacked first: not followed
    return transform(call, kind, tensor.shape, _pattern(call), _lengths(call, "axes_lengths"))


@function(
    "einops.rearrange",
    signature="tensor, pattern, **axes_lengths",
    examples=[
        ex(T(2, 3, 8, 8), "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=4, p2=4, out=(2, 4, 48)),
        ex(T(2, 3, 4), "b ... -> b (...)", out=(2, 12)),
        ex(T(2, 6), "b (h d) -> b h d", h=2, out=(2, 2, 3)),
        ex(T(2, 7), "b (h d) -> b h d", h=2, error=CODE),
        ex(T(2, 3, 4), "b c -> c b", error=CODE),
        ex(T(2, 3), "b c -> b 1 c ()", out=(2, 1, 3, 1)),
    ],
)
def rearrange(call: RuleCall):
    return _apply(call, "rearrange", "tensor")


@function(
    "einops.reduce",
    signature="tensor, pattern, reduction, **axes_lengths",
    examples=[
        ex(T(2, 3, 8, 8), "b c h w -> b c", "mean", out=(2, 3)),
        ex(T(2, 3, 8, 8), "b c (h h2) (w w2) -> b c h w", "max", h2=2, w2=2, out=(2, 3, 4, 4)),
        ex(T(2, 3, 8, 8), "b c h w -> b c 1 1", "mean", out=(2, 3, 1, 1)),
        ex(T(2, 3, 9, 8), "b c (h h2) w -> b c h w", "max", h2=2, error=CODE),
    ],
)
def reduce(call: RuleCall):
    return _apply(call, "reduce", "tensor")


@function(
    "einops.repeat",
    signature="tensor, pattern, **axes_lengths",
    examples=[
        ex(T(3, 4), "h w -> b h w", b=2, out=(2, 3, 4)),
        ex(T(3, 4), "h w -> h (w r) 3", r=2, out=(3, 8, 3)),
        ex(T(1, 5), "1 d -> b d", b=4, out=(4, 5)),
        ex(T(2, 5), "1 d -> b d", b=4, error=CODE),
    ],
)
def repeat(call: RuleCall):
    return _apply(call, "repeat", "tensor")


@layer(
    "einops.layers.torch.Rearrange",
    init="pattern, **axes_lengths",
    forward="input",
    examples=[
        ex(T(2, 3, 4, 4), init=("b c h w -> b (c h w)",), out=(2, 48)),
        ex(T(2, 3, 4, 4), init=("b c (h p) w -> b (c p) h w",), init_kwargs={"p": 2}, out=(2, 6, 2, 4)),
        ex(T(2, 3, 4), init=("b c h w -> b (c h w)",), error=CODE),
    ],
)
def rearrange_layer(call: RuleCall):
    return _apply(call, "rearrange", "input")


@layer(
    "einops.layers.torch.Reduce",
    init="pattern, reduction, **axes_lengths",
    forward="input",
    examples=[
        ex(T(2, 3, 4, 4), init=("b c h w -> b c", "mean"), out=(2, 3)),
        ex(T(2, 3, 4, 6), init=("b c (h 2) (w 2) -> b c h w", "max"), out=(2, 3, 2, 3)),
        ex(T(2, 3, 5, 6), init=("b c (h h2) w -> b c h w", "max"), init_kwargs={"h2": 2}, error=CODE),
    ],
)
def reduce_layer(call: RuleCall):
    return _apply(call, "reduce", "input")
