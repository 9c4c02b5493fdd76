"""Element values through the tensor calls that create or transform small tensors.

`apply_rule` asks `elements_of` after a rule gave the call's shape: a torch.arange, a torch.tensor
of numbers, + - * / with numbers or other such tensors, log, round, pow, diff and dtype casts keep
their values (symbolic/elements.py says how exactly); `.tolist()` and `.item()` turn them back into
numbers. Any other call, argument or keyword leaves the values unknown.

A tensor's values live in a `Cell` that every alias of the tensor shares, and that is emptied
(`forget`) once anything may write to that memory: an in-place method or operator, `out=`, an item
assignment, a layer (inplace=True ones write their input), an unknown call it is passed to.
"""

from __future__ import annotations

from typing import Iterable, Optional, Union

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
_NEW_MEMORY = set(_BINARY) | set(_POWER) | set(_UNARY) | {"arange", "tensor", "as_tensor"}
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
        if isinstance(value, Tensor) and value.data is not None:
            value.data.elements = None
        elif isinstance(value, (Seq, ListValue)):
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
    if family == "torch" and name == "arange":
        return _arange(bound)
    if family == "torch" and name in ("tensor", "as_tensor"):
        return _from_data(bound)
    return None


def _arange(bound: dict) -> Optional[Elements]:
    if not _only_defaults(bound, {"out": None, "dtype": None}):
        return None
    start, end, step = (scalar(bound.get(k)) if bound.get(k) is not None else None for k in ("start", "end", "step"))
    if isinstance(bound.get("end"), Const) and bound["end"].value is None:
        start, end = 0, start
    if not all(isinstance(v, int) for v in (start, end, step)):
        return None  # float ranges accumulate in double: not followed
    return E.arange(start, end, step)


def _from_data(bound: dict) -> Optional[Elements]:
    if not _only_defaults(bound, {}):
        return None  # a dtype or device: not followed
    data = bound.get("data")
    if isinstance(data, Number):
        value = scalar(data)
        return E.from_python([value], ndim=0) if value is not None else None
    if isinstance(data, (Seq, ListValue)) and not getattr(data, "uncertain", False):
        values = [scalar(v) for v in data.items]
        return None if None in values else E.from_python(values)
    return None


def fits(elements: Elements, shape: Shape) -> bool:
    """Whether values and the shape the rule inferred agree (a 0-d or 1-d tensor of that length)."""
    if not shape.ranked or shape.rank != elements.ndim:
        return False
    return elements.ndim == 0 and len(elements.items) == 1 or D.as_int(shape.dim(0)) == len(elements.items)


def to_python_value(tensor: Tensor, method: str) -> Value:
    """`t.tolist()` / `t.item()` of a tensor whose values are known; UNKNOWN otherwise."""
    elements = known(tensor)
    if elements is None:
        return UNKNOWN
    numbers = [_number(v) for v in E.to_python(elements)]
    if method == "item":
        return numbers[0] if len(numbers) == 1 else UNKNOWN
    return numbers[0] if elements.ndim == 0 else ListValue(numbers)


def _number(value) -> Value:
    if value is None:
        return UNKNOWN
    if isinstance(value, int):
        return Number(D.const(value))
    return Number(float(value))
