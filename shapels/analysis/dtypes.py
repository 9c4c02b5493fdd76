"""A tensor's dtype, where a call makes it certain: what tells an index tensor (`table[index]`, rows
picked by position) from a mask (`x[x > 0]`, a data-dependent count).

Known only from what states it: a `dtype=` argument, a cast (`.long()`, `.float()`), a factory whose
default is fixed (`torch.arange` of ints is int64, `torch.zeros` is float32, `torch.full` by its fill
value), a comparison (bool), the ops that keep their input's dtype (views, copies, `copy_` into a
buffer), torch's type promotion where every operand's dtype is known (arithmetic, `where`, `cat`;
`promotion.py`), and reductions whose result dtype follows from the input's. Anything else leaves it
unknown (None), and an unknown dtype decides nothing.
"""

from __future__ import annotations

from typing import Optional

from shapels.analysis import promotion
from shapels.values import Const, Number, Seq, ListValue, Tensor, Value

INTEGER = tuple(promotion.INTEGER_BITS)  # the integer dtypes followed (one table, with their widths)

# torch.<name> -> its dtype
NAMES = {"float32": "float32", "float": "float32", "float64": "float64", "double": "float64", "float16": "float16",
         "half": "float16", "bfloat16": "bfloat16", "int64": "int64", "long": "int64", "int32": "int32", "int": "int32",
         "int16": "int16", "short": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool"}
_CASTS = {"long": "int64", "int": "int32", "short": "int16", "float": "float32", "double": "float64",
          "half": "float16", "bfloat16": "bfloat16", "bool": "bool", "byte": "uint8", "char": "int8"}
_FLOAT_FACTORIES = {"randn", "rand", "zeros", "ones", "empty", "randn_like", "rand_like"}
_COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
                "logical_and", "logical_or", "logical_not", "logical_xor", "isnan", "isinf", "isfinite", "isneginf",
                "isposinf", "isreal", "signbit"}
# Tensor methods (and torch functions of one tensor) whose result has the input's dtype.
_KEEP = {"view", "reshape", "flatten", "permute", "transpose", "swapaxes", "t", "contiguous", "clone", "detach",
         "unsqueeze", "squeeze", "expand", "expand_as", "repeat", "flip", "roll", "narrow", "select", "copy_",
         "unflatten", "movedim", "zeros_like", "ones_like", "empty_like", "full_like", "cpu", "cuda", "requires_grad_",
         "fill_", "zero_"}
# Elementwise ops that keep an integer tensor integer when the other operand is a Python int.
_INT_ARITHMETIC = {"add", "sub", "mul", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
                   "__iadd__", "__isub__", "__imul__", "add_", "sub_", "mul_", "remainder", "__mod__",
                   "__floordiv__", "floor_divide"}


def named(value: Optional[Value]) -> Optional[str]:
    """`torch.long` as a dtype name; None for anything else."""
    qualname = getattr(value, "qualname", None)
    if isinstance(qualname, str) and qualname.startswith("torch."):
        return NAMES.get(qualname[len("torch."):])
    return None


def of_result(qualname: str, bound: dict) -> Optional[str]:
    """The dtype of the tensor `qualname(**bound)` returns, where it is certain."""
    family, _, name = qualname.rpartition(".")
    if family in ("numpy", "numpy.random"):
        return _numpy_index_dtype(name, bound)
    if family not in ("torch", "torch.Tensor", "torch.nn.functional"):
        return None
    extra = bound.get("kwargs") if isinstance(bound.get("kwargs"), dict) else {}
    asked = bound.get("dtype", extra.get("dtype"))
    if asked is not None and not (isinstance(asked, Const) and asked.value is None):
        return named(asked)
    source = bound.get("input")
    source_dtype = source.dtype if isinstance(source, Tensor) else None
    if name in _CASTS and family == "torch.Tensor":
        return _CASTS[name]
    if name == "to":
        target = _to_target(bound)
        return target if target is not None else (source_dtype if _to_keeps_dtype(bound) else None)
    if name in _COMPARISONS:
        return "bool"
    if name in _KEEP:
        return source_dtype
    if name in _INT_ARITHMETIC and source_dtype in INTEGER and _python_int(bound.get("other")):
        return source_dtype
    promoted = _promoted(family, name, bound, source_dtype)
    if promoted is not None:
        return promoted
    if family == "torch" and name in _FLOAT_FACTORIES - {"randn_like", "rand_like"}:
        return "float32"
    if family == "torch" and name == "arange":
        values = [bound.get(k) for k in ("start", "end", "step")]
        return "int64" if all(v is None or _python_int(v) or isinstance(v, Const) and v.value is None
                              for v in values) else None
    if family == "torch" and name in ("tensor", "as_tensor"):
        return _data_dtype(bound.get("data"))
    if family == "torch" and name == "randint":
        return "int64"
    if family == "torch" and name == "full":
        return promotion.scalar_dtype(bound.get("fill_value"))
    return None


def _numpy_index_dtype(name: str, bound: dict) -> Optional[str]:
    """numpy's integer arrays that scripts index with (`x[np.random.permutation(len(x))]`,
    `np.random.choice(n, k)`): numpy's default
    int (int64 on the platforms shapels runs on) when no dtype is asked for."""
    asked = bound.get("dtype")
    if asked is not None and not (isinstance(asked, Const) and asked.value is None):
        return None
    if name == "permutation" and _python_int(bound.get("x")) or name == "choice" and _python_int(bound.get("a")):
        return "int64"
    if name == "arange" and all(v is None or _python_int(v) or isinstance(v, Const) and v.value is None
                                for v in (bound.get(k) for k in ("start", "stop", "step"))):
        return "int64"
    return None


def _promoted(family: str, name: str, bound: dict, source_dtype: Optional[str]) -> Optional[str]:
    """Arithmetic, `where`, `cat`/`stack` and reductions: torch's promotion of known operand dtypes."""
    extra = bound.get("kwargs") if isinstance(bound.get("kwargs"), dict) else {}
    positional = bound.get("args")
    if name in promotion.ARITHMETIC and family in ("torch", "torch.Tensor"):
        if set(extra) - {"rounding_mode"} or (isinstance(positional, Seq) and positional.items):
            return None  # alpha=, out=, extra arguments: not followed
        rounding = extra.get("rounding_mode")
        exact_division = rounding is None or isinstance(rounding, Const) and rounding.value is None
        return promotion.arithmetic(name, bound.get("input"), bound.get("other"), exact_division)
    if family == "torch" and name == "where" and bound.get("input") is not None and bound.get("other") is not None:
        return promotion.result_type([bound.get("input"), bound.get("other")])
    if family == "torch" and name in ("cat", "concat", "concatenate", "stack"):
        tensors = bound.get("tensors")
        return promotion.result_type(list(tensors.items)) if isinstance(tensors, (Seq, ListValue)) else None
    if name in promotion.REDUCTIONS:
        return promotion.reduced(name, source_dtype)
    return None


def _python_int(value: Optional[Value]) -> bool:
    return isinstance(value, Number) and not isinstance(value.value, float) and value.is_int


def _to_target(bound: dict) -> Optional[str]:
    """`.to(torch.long)`, `.to(dtype=...)`, `.to(device, torch.long)`."""
    args = bound.get("args")
    for value in list(args.items if isinstance(args, Seq) else []) + [(bound.get("kwargs") or {}).get("dtype")]:
        found = named(value)
        if found is not None:
            return found
    return None


def _to_keeps_dtype(bound: dict) -> bool:
    """`.to('cpu')` / `.to(device)`: only a device (a string or a known device), so the dtype stays."""
    args = bound.get("args")
    items = list(args.items) if isinstance(args, Seq) else []
    extra = bound.get("kwargs") if isinstance(bound.get("kwargs"), dict) else {}
    return len(items) <= 1 and all(isinstance(v, Const) and isinstance(v.value, str) for v in items) \
        and set(extra) <= {"device", "non_blocking"}


def _data_dtype(data: Optional[Value]) -> Optional[str]:
    """torch.tensor(data): bools give bool, ints int64, any float float32 (nested lists of numbers)."""
    leaves = []

    def walk(value) -> bool:
        if isinstance(value, (Seq, ListValue)):
            return all(walk(v) for v in value.items)
        leaves.append(value)
        return True

    walk(data)
    if not leaves:
        return None
    if all(isinstance(v, Const) and isinstance(v.value, bool) for v in leaves):
        return "bool"
    if not all(isinstance(v, Number) for v in leaves):
        return None
    return "int64" if all(_python_int(v) for v in leaves) else "float32"
