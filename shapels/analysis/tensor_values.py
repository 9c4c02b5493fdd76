"""Element values through the tensor calls that create or transform small tensors.

`apply_rule` asks `elements_of` after a rule gave the call's shape: a torch.arange, a torch.tensor
of numbers (either with a float32/int32/int64 dtype), + - * / with numbers or other such tensors, log,
round, pow, diff, dtype casts and max/min over the whole tensor keep their values (symbolic/elements.py
says how exactly), and torch.unique gives its values, inverse and counts, and so its length
(`unique_result`); `.tolist()` and `.item()` turn them back into numbers. Any other call, argument or
keyword leaves the values unknown (`.tolist()` of a tensor of known shape is then lists of unknowns).

A tensor's values live in a `Cell` that every alias of the tensor shares, and that is emptied
(`forget`) once anything may write to that memory: an in-place method or operator, `out=`, an item
assignment, a layer (inplace=True ones write their input), an unknown call it is passed to.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterable, Optional, Union

from shapels.analysis import dtypes
from shapels.symbolic import dims as D
from shapels.symbolic import elements as E
from shapels.symbolic.elements import Elements
from shapels.symbolic.shape import Shape
from shapels.values import UNKNOWN, Const, ListValue, Number, Seq, Tensor, Value

# call name (after torch. / torch.Tensor.) -> (operation, operands swapped)
_BINARY = {
    "add": ("add", False), "__add__": ("add", False), "__radd__": ("add", True),
    "sub": ("sub", False), "subtract": ("sub", False), "__sub__": ("sub", False), "__rsub__": ("sub", True),
    "mul": ("mul", False), "multiply": ("mul", False), "__mul__": ("mul", False), "__rmul__": ("mul", True),
    "div": ("div", False), "divide": ("div", False), "true_divide": ("div", False),
    "__truediv__": ("div", False), "__rtruediv__": ("div", True),
}
_POWER = ("pow", "__pow__")
_UNARY = ("log", "round", "diff", "float", "int", "long")
_CASTS = ("float", "int", "long")  # these return the input itself when its dtype already matches
_EXTREMES = {"max": max, "amax": max, "min": min, "amin": min}  # over the whole tensor: a 0-d result
_NEW_MEMORY = set(_BINARY) | set(_POWER) | set(_UNARY) | set(_EXTREMES) | {"arange", "tensor", "as_tensor", "unique"}
_FOLLOWED_DTYPES = (E.FLOAT32,) + E.INT_DTYPES  # the dtypes symbolic/elements.py computes in
# Arguments a call may carry at their default and keep its values known.
_DEFAULTS = {"round": {"decimals": 0}, "diff": {"n": 1, "dim": -1, "prepend": None, "append": None}}


class Cell:
    """The known values of one tensor's memory; None once something may have written to it."""

    __slots__ = ("elements",)

    def __init__(self, elements: Optional[Elements]):
        self.elements = elements


def known(tensor: Tensor) -> Optional[Elements]:
    return tensor.data.elements if tensor.data is not None else None


def forget(values: Iterable) -> None:
    """Values (and those inside lists, tuples and dicts) that may be written to lose their elements."""
    for value in values:
        kind = type(value)  # value classes are never subclassed: exact types (a layer call passes many)
        if kind is Tensor:
            if value.data is not None:
                value.data.elements = None
        elif kind is Seq or kind is ListValue:
            forget(value.items)
        elif isinstance(value, dict):
            forget(value.values())


def result_cell(qualname: str, bound: dict, shape: Shape) -> Optional[Cell]:
    """The values of a call's result: a new cell, or the input's own where torch returns the input
    itself (`.long()` of an int64 tensor), so that a write through either reaches both."""
    elements = elements_of(qualname, bound)
    if elements is None or not fits(elements, shape):
        return None
    source = bound.get("input")
    if qualname.rpartition(".")[2] in _CASTS and isinstance(source, Tensor) and known(source) is not None \
            and known(source).dtype == elements.dtype:
        return source.data
    return Cell(elements)


def may_write(qualname: str, bound: dict, is_layer: bool) -> bool:
    """Whether a call may write to its tensor arguments' memory (add_, __iadd__, out=, inplace=True, a
    layer), or return a view of it that a later write goes through (any call but the value ops here,
    which return new tensors): either way their values can no longer be trusted."""
    name = qualname.rpartition(".")[2]
    if is_layer or name.endswith("_") and not name.endswith("__") or name.startswith("__i") or name == "__setitem__":
        return True
    if name not in _NEW_MEMORY:
        return True
    extra = bound.get("kwargs") if isinstance(bound.get("kwargs"), dict) else {}
    for key in ("out", "inplace"):
        value = bound.get(key, extra.get(key))
        if value is not None and not (isinstance(value, Const) and value.value in (None, False)):
            return True
    return False


def scalar(value: Value) -> Optional[Union[int, float]]:
    """A python int or float that a Number stands for (bools and symbols are not scalars here)."""
    if isinstance(value, Number):
        if isinstance(value.value, float):
            return value.value
        return D.as_int(value.value)
    return None


def _operand(value: Value):
    if isinstance(value, Tensor):
        return known(value)
    return scalar(value)


def _only_defaults(bound: dict, allowed: dict) -> bool:
    """No extra positional or keyword arguments, and the named ones at their defaults."""
    extra_args = bound.get("args")
    if isinstance(extra_args, Seq) and extra_args.items or bound.get("kwargs"):
        return False
    for name, default in allowed.items():
        value = bound.get(name)
        if value is None:
            continue
        if default is None:
            if not (isinstance(value, Const) and value.value is None):
                return False
        elif scalar(value) != default:
            return False
    return True


def elements_of(qualname: str, bound: dict) -> Optional[Elements]:
    """The values of the tensor `qualname(**bound)` returns, where they are known."""
    family, _, name = qualname.rpartition(".")
    if family not in ("torch", "torch.Tensor"):
        return None
    if name in _BINARY:
        if not _only_defaults(bound, {}):
            return None
        op, swapped = _BINARY[name]
        a, b = _operand(bound.get("input")), _operand(bound.get("other"))
        if a is None or b is None or not (isinstance(a, Elements) or isinstance(b, Elements)):
            return None
        if swapped:
            a, b = b, a
        if op == "div" and not isinstance(a, Elements) and name.startswith("__"):
            # `k / t` runs t.__rtruediv__(k), which torch writes as t.reciprocal() * k: two roundings
            return E.binary("mul", E.binary("div", 1, b), a)
        return E.binary(op, a, b)
    if name in _POWER:
        base, exponent = _operand(bound.get("input")), _operand(bound.get("other"))
        if _only_defaults(bound, {}) and isinstance(exponent, Elements) and isinstance(base, (int, float)):
            return E.pow_scalar_base(base, exponent)
        return None
    if name in _UNARY:
        source = _operand(bound.get("input"))
        if not isinstance(source, Elements) or not _only_defaults(bound, _DEFAULTS.get(name, {})):
            return None
        return E.UNARY[name](source)
    if name in _EXTREMES:
        return _extreme(_EXTREMES[name], bound)
    if family == "torch" and name == "arange":
        return _arange(bound)
    if family == "torch" and name in ("tensor", "as_tensor"):
        return _from_data(bound)
    return None


def _is(value: Optional[Value], expected) -> bool:
    """An argument left out, or passed as the constant `expected` (None, True, False)."""
    return value is None or isinstance(value, Const) and value.value is expected


def _dtype(arguments: dict) -> Union[str, None, bool]:
    """The `dtype=` asked for: None when left out, False when it is not one the elements follow."""
    value = arguments.get("dtype")
    if _is(value, None):
        return None
    name = dtypes.named(value)
    return name if name in _FOLLOWED_DTYPES else False


def _extreme(pick, bound: dict) -> Optional[Elements]:
    """`t.max()` / `torch.amin(t)` over the whole tensor. Bounds of a float element hold the true value,
    so the largest lower and largest upper bound hold the largest value (and so for the smallest)."""
    source = _operand(bound.get("input"))
    dim = bound.get("dim")
    whole = _is(dim, None) or isinstance(dim, Seq) and not dim.items
    if not isinstance(source, Elements) or not source.items or not whole or not _is(bound.get("keepdim"), False) \
            or not _only_defaults(bound, {"out": None}) or not _is(bound.get("other"), None):
        return None
    if source.is_float:
        return Elements(source.dtype, ((pick(lo for lo, _ in source.items), pick(hi for _, hi in source.items)),), 0)
    return Elements(source.dtype, (pick(source.items),), 0)


def unique_result(qualname: str, bound: dict, result: Value) -> Optional[Value]:
    """torch.unique of known values (every element: no dim): its sorted distinct values, and the
    inverse indices and counts when asked for, each with its length now known. A float element must
    be known exactly: two ranges that overlap may or may not be one value."""
    if qualname.rpartition(".")[2] != "unique":
        return None
    source = _operand(bound.get("input"))
    if not isinstance(source, Elements) or not _is(bound.get("sorted"), True) or not _is(bound.get("dim"), None):
        return None
    if source.is_float and any(lo != hi for lo, hi in source.items):
        return None
    keys = [lo for lo, _ in source.items] if source.is_float else list(source.items)
    distinct = sorted(set(keys))
    position = {v: i for i, v in enumerate(distinct)}
    parts = [Elements(source.dtype, tuple((v, v) for v in distinct) if source.is_float else tuple(distinct), 1)]
    if _asked(bound.get("return_inverse")):
        parts.append(Elements("int64", tuple(position[k] for k in keys), source.ndim))
    if _asked(bound.get("return_counts")):
        parts.append(Elements("int64", tuple(keys.count(v) for v in distinct), 1))
    tensors = result.items if isinstance(result, Seq) else (result,)
    if len(tensors) != len(parts) or not all(isinstance(t, Tensor) and t.shape.ranked and t.shape.rank == e.ndim
                                             for t, e in zip(tensors, parts)):
        return None
    out = tuple(dataclasses.replace(t, shape=Shape.of([len(e.items)] if e.ndim else []), data=Cell(e))
                for t, e in zip(tensors, parts))
    return Seq(out) if isinstance(result, Seq) else out[0]


def _asked(flag: Optional[Value]) -> bool:
    return isinstance(flag, Const) and flag.value is True


def _arange(bound: dict) -> Optional[Elements]:
    dtype = _dtype(bound)
    if not _only_defaults(bound, {"out": None}) or dtype is False:
        return None
    start, end, step = (scalar(bound.get(k)) if bound.get(k) is not None else None for k in ("start", "end", "step"))
    if isinstance(bound.get("end"), Const) and bound["end"].value is None:
        start, end = 0, start
    if not all(isinstance(v, int) for v in (start, end, step)):
        return None  # float ranges accumulate in double: not followed
    ints = E.arange(start, end, step)
    if ints is None or dtype is None:
        return ints
    if dtype == E.FLOAT32 and any(abs(v) > 2 ** 24 for v in ints.items):
        return None  # beyond float32's exact integers: how torch rounds each step is not followed
    return E.to_dtype(ints, dtype)


def _from_data(bound: dict) -> Optional[Elements]:
    """torch.tensor(data): a device changes no value; of the dtypes only float32 (each number rounded
    to it, as from_python does) and, for int data, int32/int64 in range are followed."""
    extra_args, extra = bound.get("args"), bound.get("kwargs") if isinstance(bound.get("kwargs"), dict) else {}
    if isinstance(extra_args, Seq) and extra_args.items or set(extra) - {"dtype", "device", "requires_grad"}:
        return None
    dtype = _dtype(extra)
    if dtype is False:
        return None
    data = bound.get("data")
    if isinstance(data, Number):
        values, ndim = [scalar(data)], 0
    elif isinstance(data, (Seq, ListValue)) and not getattr(data, "uncertain", False):
        values, ndim = [scalar(v) for v in data.items], 1
    else:
        return None
    if None in values or dtype in E.INT_DTYPES and not all(isinstance(v, int) for v in values):
        return None  # a float converted straight to an int is not the float32 cast then truncated
    elements = E.from_python(values, ndim=ndim)
    return E.to_dtype(elements, dtype) if elements is not None and dtype is not None else elements


def fits(elements: Elements, shape: Shape) -> bool:
    """Whether values and the shape the rule inferred agree (a 0-d or 1-d tensor of that length)."""
    if not shape.ranked or shape.rank != elements.ndim:
        return False
    return elements.ndim == 0 and len(elements.items) == 1 or D.as_int(shape.dim(0)) == len(elements.items)


def to_python_value(tensor: Tensor, method: str) -> Value:
    """`t.tolist()` / `t.item()` of a tensor whose values are known; UNKNOWN otherwise."""
    elements = known(tensor)
    if elements is None:
        return _unknown_numbers(tensor.shape) if method == "tolist" else UNKNOWN
    numbers = [_number(v) for v in E.to_python(elements)]
    if method == "item":
        return numbers[0] if len(numbers) == 1 else UNKNOWN
    return numbers[0] if elements.ndim == 0 else ListValue(numbers)


def _unknown_numbers(shape: Shape) -> Value:
    """`.tolist()` of a tensor whose values are not known but whose shape is: nested lists of that
    shape (their lengths known, each number unknown), so `len()`, zips and loops over it still work."""
    sizes = [D.as_int(d) for d in shape.dims] if shape.ranked else [None]
    if not sizes or None in sizes or math.prod(sizes) > E.MAX_ELEMENTS:
        return UNKNOWN

    def nested(level: int) -> Value:
        if level == len(sizes):
            return UNKNOWN
        return ListValue([nested(level + 1) for _ in range(sizes[level])])

    return nested(0)


def _number(value) -> Value:
    if value is None:
        return UNKNOWN
    if isinstance(value, int):
        return Number(D.const(value))
    return Number(float(value))
