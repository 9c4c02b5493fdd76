"""Tensor factories that drivers build dummy inputs with: randn, zeros, randint, tensor, ..._like."""

from __future__ import annotations

import sympy

from shapels.rules.base import RuleCall, Unknowable
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Const, ListValue, Number, Seq, Tensor

_SIZE_FACTORIES = ["randn", "rand", "zeros", "ones", "empty"]


def _size(call: RuleCall, name: str) -> Shape:
    dims = call.int_list(name)
    if any(d is None for d in dims):
        return Shape.of(d if d is not None else D.fresh("?") for d in dims)
    return Shape.of(dims)


@function(
    *[f"torch.{n}" for n in _SIZE_FACTORIES],
    signature="*size, out=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False, generator=None, memory_format=None",
    label="input",
    examples=[ex(2, 3, out=(2, 3)), ex((1, 3, 8, 8), out=(1, 3, 8, 8))],
)
def factory(call: RuleCall):
    return _size(call, "size")


@function(
    "torch.full",
    signature="size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False",
    label="input",
    examples=[ex((2, 3), 7.0, out=(2, 3))],
)
def full(call: RuleCall):
    return _size(call, "size")


@function(
    "torch.randint",
    signature="*args, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False",
    label="input",
    examples=[ex(0, 1000, (1, 10), out=(1, 10)), ex(5, (3, 4), out=(3, 4))],
)
def randint(call: RuleCall):
    args = call.value("args").items
    if len(args) in (2, 3) and isinstance(args[-1], (Seq, ListValue)):
        dims = [D.const(x.value) if isinstance(x, Number) else None for x in args[-1].items]
        if all(d is not None for d in dims):
            return Shape.of(dims)
    raise Unknowable("size")


def _nested_shape(value):
    if isinstance(value, (Seq, ListValue)):
        inner = [_nested_shape(v) for v in value.items]
        if not inner:
            return [0]
        if any(i is None for i in inner) or any(i != inner[0] for i in inner):
            return None
        return [len(value.items)] + inner[0]
    if isinstance(value, Number) or (isinstance(value, Const) and isinstance(value.value, bool)):
        return []
    return None


@function(
    "torch.tensor", "torch.as_tensor", "torch.Tensor", "torch.FloatTensor", "torch.LongTensor",
    signature="data, *args, **kwargs",
    label="input",
    examples=[ex([[1, 2, 3], [4, 5, 6]], out=(2, 3)), ex([1.0, 2.0], out=(2,))],
)
def tensor(call: RuleCall):
    dims = _nested_shape(call.value("data"))
    if dims is None:
        raise Unknowable("data")
    return Shape.of(sympy.Integer(d) for d in dims)


@function(
    "torch.zeros_like", "torch.ones_like", "torch.randn_like", "torch.rand_like", "torch.empty_like",
    "torch.full_like", "torch.randint_like",
    signature="input, *args, **kwargs",
    preserves_shape=True,
    examples=[ex(T(2, 5), out=(2, 5))],
)
def like(call: RuleCall):
    return call.shape("input")


@function(
    "torch.arange",
    signature="start, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad=False",
    label="arange",
    examples=[ex(10, out=(10,)), ex(2, 11, 3, out=(3,))],
)
def arange(call: RuleCall):
    start, end, step = call.dim_or_none("start"), call.dim_or_none("end"), call.dim_or_none("step")
    if call.is_none("end"):
        start, end = sympy.Integer(0), start
    if start is None or end is None or step is None:
        raise Unknowable("start")
    if all(D.as_int(v) is not None for v in (start, end, step)):
        return Shape.of([max(0, len(range(int(start), int(end), int(step))))])
    if D.as_int(step) == 1:
        return Shape.of([end - start])
    raise Unknowable("step")


