"""torch's type promotion, for the dtypes it follows (bool, integers, float16/bfloat16/float32/float64).

As `torch.result_type` decides it: operands fall into three groups (tensors with dims, 0-d tensors,
Python scalars); within a group dtypes promote along the lattice (`torch.promote_types`), and a group
of lower priority counts only when its category (bool < integer < floating) is higher. Python scalars
stand for int64, the default float dtype (float32) or bool. Any operand whose dtype, or whose rank
where it matters, is unknown makes the result unknown (None). Checked against torch in
tests/analysis/test_promotion.py.
"""

from __future__ import annotations

from typing import Optional

from shapels.values import Const, Number, Tensor, Value

INTEGER_BITS = {"uint8": 8, "int8": 8, "int16": 16, "int32": 32, "int64": 64}
_FLOATS = {"float16": 16, "bfloat16": 16, "float32": 32, "float64": 64}
DEFAULT_FLOAT = "float32"

# Ops whose result is the operands' promoted dtype (true division: integers become the default float).
ARITHMETIC = {"add", "sub", "subtract", "mul", "multiply", "maximum", "minimum", "remainder", "fmod", "floor_divide",
              "div", "divide", "true_divide", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__"}
_TRUE_DIVISION = {"div", "divide", "true_divide", "__truediv__", "__rtruediv__"}
REDUCTIONS = {"sum", "nansum", "prod", "cumsum", "cumprod", "mean", "nanmean", "amax", "amin", "argmax", "argmin"}


def _category(dtype: str) -> int:
    return 0 if dtype == "bool" else 1 if dtype in INTEGER_BITS else 2


def promote_types(a: str, b: str) -> str:
    """`torch.promote_types(a, b)` for the followed dtypes."""
    if a == b:
        return a
    if a == "bool" or b == "bool":
        return b if a == "bool" else a
    if _category(a) != _category(b):
        return a if _category(a) == 2 else b  # an integer with a float: the float
    if a in _FLOATS:
        if {a, b} == {"float16", "bfloat16"}:
            return "float32"
        return a if _FLOATS[a] > _FLOATS[b] else b
    if "uint8" in (a, b):
        other = b if a == "uint8" else a
        return "int16" if other == "int8" else other
    return a if INTEGER_BITS[a] > INTEGER_BITS[b] else b


def scalar_dtype(value: Optional[Value]) -> Optional[str]:
    """The dtype a Python scalar stands for in promotion (and `torch.full`'s fill value gives)."""
    if isinstance(value, Const) and isinstance(value.value, bool):
        return "bool"
    if isinstance(value, Number):
        if isinstance(value.value, float):
            return DEFAULT_FLOAT
        return "int64" if value.is_int else None
    return None


def _combine(higher: Optional[str], lower: Optional[str]) -> Optional[str]:
    """c10's combine_categories: the lower-priority group counts only from a higher category."""
    if higher is None:
        return lower
    if lower is None or _category(higher) == 2:
        return higher
    if higher == "bool" or _category(lower) == 2:
        return promote_types(higher, lower)
    return higher


def _promote_all(dtypes: list) -> Optional[str]:
    out = None
    for d in dtypes:
        out = d if out is None else promote_types(out, d)
    return out


def _decide(groups: dict) -> Optional[str]:
    return _combine(_promote_all(groups["dim"]), _combine(_promote_all(groups["zero"]), _promote_all(groups["wrapped"])))


def result_type(operands: list) -> Optional[str]:
    """`torch.result_type` over tensors and Python scalars, or None where it depends on something unknown.
    A tensor of unknown rank is tried both as 0-d and as dimensioned: known only if both agree."""
    groups: dict = {"dim": [], "zero": [], "wrapped": []}
    unranked = []
    for value in operands:
        if isinstance(value, Tensor):
            if value.dtype is None:
                return None
            if value.shape.ranked:
                groups["dim" if value.shape.rank > 0 else "zero"].append(value.dtype)
            elif value.shape.dims:  # known trailing dims: at least 1-d
                groups["dim"].append(value.dtype)
            else:
                unranked.append(value.dtype)
        else:
            dtype = scalar_dtype(value)
            if dtype is None:
                return None
            groups["wrapped"].append(dtype)
    if not any(groups.values()) and not unranked:
        return None
    answers = set()
    for as_zero in range(2 ** len(unranked)) if len(unranked) <= 4 else ():
        trial = {k: list(v) for k, v in groups.items()}
        for i, dtype in enumerate(unranked):
            trial["zero" if as_zero >> i & 1 else "dim"].append(dtype)
        answers.add(_decide(trial))
    return answers.pop() if len(answers) == 1 else None


def arithmetic(name: str, a: Optional[Value], b: Optional[Value], exact_division: bool) -> Optional[str]:
    """The dtype of `a <op> b` (either may be a Python scalar)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        return None
    out = result_type([a, b])
    if out is not None and name in _TRUE_DIVISION and exact_division and _category(out) < 2:
        return DEFAULT_FLOAT
    return out


def reduced(name: str, dtype: Optional[str]) -> Optional[str]:
    """A reduction's dtype without `dtype=`: sums and products of bools and integers are int64, indices
    int64, max/min keep the input's; mean of an integer tensor is torch's error, so unknown."""
    if dtype is None:
        return None
    if name in ("argmax", "argmin"):
        return "int64" if dtype != "bool" else None  # torch has no argmax of bools
    if name in ("amax", "amin"):
        return dtype
    if name in ("mean", "nanmean"):
        return dtype if _category(dtype) == 2 else None
    return "int64" if _category(dtype) < 2 else dtype
