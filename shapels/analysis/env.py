"""Joining what two control-flow paths know, for an `if` whose condition is unknown."""

from __future__ import annotations

from typing import Optional

from shapels.analysis.objects import BoundUserMethod, Builtin, ClassRef, Instance, Partial, PendingImport, UserFunction
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import (UNKNOWN, Alternatives, BoundMethod, Const, DictValue, FunctionRef, Layer, Number, Seq, Tensor,
                            Value)

# Values a join keeps as alternatives rather than forgetting: what code calls or reads attributes of.
CALLABLES = (Layer, Instance, ClassRef, FunctionRef, UserFunction, Partial, BoundMethod, BoundUserMethod, Builtin,
             Alternatives, PendingImport)
MAX_ALTERNATIVES = 4  # each call runs every one; past this, unknown


def join(a: Value, b: Value) -> Value:
    if a is b:
        return a
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return Tensor(join_shapes(a.shape, b.shape), a.trace if len(a.trace) >= len(b.trace) else b.trace,
                      dtype=a.dtype if a.dtype == b.dtype else None)
    if isinstance(a, Number) and isinstance(b, Number):
        if isinstance(a.value, float) or isinstance(b.value, float):
            return a if a.value == b.value else UNKNOWN
        return a if D.eq(a.value, b.value) is True else Number(D.fresh("?"))
    if isinstance(a, Const) and isinstance(b, Const) and type(a.value) is type(b.value) and a.value == b.value:
        return a
    if isinstance(a, Seq) and isinstance(b, Seq) and len(a.items) == len(b.items):
        return Seq(tuple(join(x, y) for x, y in zip(a.items, b.items)))
    if type(a) is DictValue and type(b) is DictValue:
        # `kwargs = {'num_workers': 1} if cuda else {}`: a key one path alone has may be there, its value unknown
        return DictValue({k: join(a.items[k], b.items[k]) if k in a.items and k in b.items else UNKNOWN
                          for k in {**a.items, **b.items}})
    if isinstance(a, CALLABLES) and isinstance(b, CALLABLES):
        return alternatives(a, b)
    return UNKNOWN


def join_all(values: list) -> Value:
    """What several paths (return statements, the options of a value) give, joined."""
    out = values[0]
    for value in values[1:]:
        out = join(out, value)
    return out


def unanimous(verdicts) -> Optional[bool]:
    """The verdict every option gives (truth, isinstance of one of several modules), else None."""
    distinct = set(verdicts)
    return distinct.pop() if len(distinct) == 1 else None


def alternatives(a: Value, b: Value) -> Value:
    options: list = []
    for value in (a, b):
        for option in (value.options if isinstance(value, Alternatives) else (value,)):
            if not any(option is o for o in options):
                options.append(option)
    if len(options) == 1:
        return options[0]
    return Alternatives(tuple(options)) if len(options) <= MAX_ALTERNATIVES else UNKNOWN


def join_shapes(a: Shape, b: Shape) -> Shape:
    if a.ranked and b.ranked and a.rank == b.rank:
        return Shape.of(x if D.eq(x, y) is True else D.fresh("?") for x, y in zip(a.dims, b.dims))
    n = min(len(a.dims), len(b.dims))
    tail = [
        a.dims[len(a.dims) - n + i] if D.eq(a.dims[len(a.dims) - n + i], b.dims[len(b.dims) - n + i]) is True else D.fresh("?")
        for i in range(n)
    ]
    return Shape.suffix(tail)


def join_envs(a: dict, b: dict) -> dict:
    out = {}
    for name in a.keys() | b.keys():
        if name in a and name in b:
            out[name] = join(a[name], b[name])
        else:
            out[name] = UNKNOWN
    return out
