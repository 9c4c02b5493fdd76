"""Broadcasting for elementwise binary ops: + - * / and their torch.* / Tensor.* names."""

from __future__ import annotations

from typing import Optional

from shapels.codes import BROADCAST_MISMATCH, SHAPE_CONDITION
from shapels.rules.base import RuleCall, Unknowable
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Tensor


def broadcast(call: RuleCall, a: Shape, b: Shape) -> Shape:
    """torch's broadcasting: align from the right; equal dims or a 1 on one side."""
    n = max(len(a.dims), len(b.dims))
    out = []
    for i in range(1, n + 1):
        x, y = a.dim(-i), b.dim(-i)
        out.append(_broadcast_dim(call, x, y, a, b, n - i))
    out.reverse()
    if a.ranked and b.ranked:
        return Shape.of(out)
    return Shape.suffix(out)


def _broadcast_dim(call: RuleCall, x, y, a: Shape, b: Shape, index: int):
    if x is None or y is None:
        present = x if x is not None else y
        # A missing dim on a ranked side is a broadcast 1; on an unranked side it is unknown.
        missing_shape = a if x is None else b
        if missing_shape.ranked:
            return present
        return D.fresh("?")
    if D.eq(x, y) is True or D.eq(y, 1) is True:
        return x
    if D.eq(x, 1) is True:
        return y
    if D.eq(x, y) is False and D.eq(x, 1) is False and D.eq(y, 1) is False:
        call.fail(
            BROADCAST_MISMATCH,
            f"the size of tensor a ({D.show(x)}) must match the size of tensor b ({D.show(y)}) "
            f"at non-singleton dimension {index}: {a.show()} and {b.show()}",
        )
    call.conditions.append(
        _condition(f"broadcasting {a.show()} with {b.show()} holds only if {D.show(x)} = {D.show(y)} or one is 1")
    )
    return D.fresh("?")


def _condition(message: str):
    from shapels.rules.base import Condition

    return Condition(SHAPE_CONDITION, message)


def _shape_of(call: RuleCall, name: str) -> Optional[Shape]:
    """A tensor operand's shape; a python number is a 0-d operand; None when unknowable."""
    v = call.value(name)
    if isinstance(v, Tensor):
        return v.shape
    from shapels.values import Number

    if isinstance(v, Number):
        return Shape.of([])
    return None


def _binary(call: RuleCall):
    a, b = _shape_of(call, "input"), _shape_of(call, "other")
    if a is None or b is None:
        return None
    return broadcast(call, a, b)


def broadcast_inplace(call: RuleCall, a: Shape, b: Shape, what: str = "an in-place operation") -> Shape:
    """`a.add_(b)`, `a += b`: b must broadcast to a's shape, which the result keeps."""
    out = broadcast(call, a, b)
    grows = a.ranked and out.ranked and out.rank > a.rank
    if grows or any(D.eq(a.dim(-i), out.dim(-i)) is False for i in range(1, min(len(a.dims), len(out.dims)) + 1)):
        call.fail(
            BROADCAST_MISMATCH,
            f"{what} on {a.show()} cannot broadcast it to {out.show()} (the other operand is {b.show()})",
        )
    return a


def _inplace(call: RuleCall):
    a, b = _shape_of(call, "input"), _shape_of(call, "other")
    if a is None:
        return None
    if b is None:
        return a
    return broadcast_inplace(call, a, b)


_BINARY = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder",
           "fmod", "pow", "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
           "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "hypot", "copysign"]
_DUNDER = ["__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
           "__floordiv__", "__rfloordiv__", "__mod__", "__pow__", "__rpow__", "__and__", "__or__", "__xor__",
           "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"]
_INPLACE = ["__iadd__", "__isub__", "__imul__", "__itruediv__", "add_", "sub_", "mul_", "div_"]

function(
    *[f"torch.{n}" for n in _BINARY],
    *[f"torch.Tensor.{n}" for n in _BINARY + _DUNDER],
    signature="input, other, *args, **kwargs",
    broadcasts=True,
    examples=[
        ex(T(4, 1, 3), T(5, 1), out=(4, 5, 3)),
        ex(T(2, 3), T(3), out=(2, 3)),
        ex(T(2, 3), 2.0, out=(2, 3)),
        ex(T(4, 5), T(4, 3), error=BROADCAST_MISMATCH),
    ],
)(_binary)

function(
    *[f"torch.Tensor.{n}" for n in _INPLACE],
    signature="input, other, *args, **kwargs",
    examples=[
        ex(T(2, 3), T(3), out=(2, 3)),
        ex(T(3), T(2, 3), error=BROADCAST_MISMATCH),
        ex(T(1, 3), T(2, 3), error=BROADCAST_MISMATCH),
    ],
)(_inplace)


@function(
    "torch.Tensor.copy_",
    signature="input, src, non_blocking=False",
    examples=[
        ex(T(2, 3), T(3), out=(2, 3)),
        ex(T(2, 3), T(1, 1), out=(2, 3)),
        ex(T(3), T(2, 3), error=BROADCAST_MISMATCH),
        ex(T(2, 3), T(2, 4), error=BROADCAST_MISMATCH),
    ],
)
def copy_(call: RuleCall):
    """`buffer.copy_(src)`: src must broadcast to the buffer's shape, which the result keeps."""
    a, src = _shape_of(call, "input"), call.value("src")
    if a is None:
        return None
    if not isinstance(src, Tensor):
        return a  # torch wants a tensor here; not a shape finding of ours
    return broadcast_inplace(call, a, src.shape, "copy_")


@function(
    "torch.where",
    signature="condition, input=None, other=None",
    examples=[ex(T(3, 1, dtype="bool"), T(1, 4), T(4), out=(3, 4)), ex(T(3, 1, dtype="bool"), T(2, 4), 0.0, error=BROADCAST_MISMATCH)],
)
def where(call: RuleCall):
    if call.is_none("input") and call.is_none("other"):
        # torch.where(condition): one 1-D index tensor per dim, of a data-dependent length
        shape = call.shape("condition")
        if not shape.ranked:
            raise Unknowable("condition")
        return tuple(Shape.of([D.fresh("nonzero")]) for _ in range(max(shape.rank, 1)))
    shapes = [_shape_of(call, n) for n in ("condition", "input", "other")]
    if any(s is None for s in shapes):
        return None
    return broadcast(call, broadcast(call, shapes[0], shapes[1]), shapes[2])
