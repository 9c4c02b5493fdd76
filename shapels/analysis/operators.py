"""Operators: arithmetic on sizes, and + - * / @ on tensors through the broadcasting/matmul rules."""


from __future__ import annotations

from typing import TYPE_CHECKING

from shapels import rules as rule_registry
from shapels.analysis import calls
from shapels.analysis.containers import sequence_container
from shapels.analysis.python_values import MISSING_VALUE, plain
from shapels.symbolic import dims as D
from shapels.values import (
    UNKNOWN,
    Const,
    Layer,
    ListValue,
    Number,
    Seq,
    Tensor,
    Value,
)

if TYPE_CHECKING:
    from shapels.analysis.protocol import Interp


_NUMBER_OPS = {
    "Add": lambda a, b: a + b,
    "Subtract": lambda a, b: a - b,
    "Multiply": lambda a, b: a * b,
    "FloorDivide": lambda a, b: D.floordiv(a, b),
    "Divide": lambda a, b: a / b,
    "Modulo": lambda a, b: a % b,
    "Power": lambda a, b: a ** b,
}


_TENSOR_OPS = {
    "Add": "torch.Tensor.__add__",
    "Subtract": "torch.Tensor.__sub__",
    "Multiply": "torch.Tensor.__mul__",
    "Divide": "torch.Tensor.__truediv__",
    "FloorDivide": "torch.Tensor.__floordiv__",
    "Modulo": "torch.Tensor.__mod__",
    "Power": "torch.Tensor.__pow__",
    "MatrixMultiply": "torch.matmul",
    "BitAnd": "torch.Tensor.__and__",
    "BitOr": "torch.Tensor.__or__",
}


# bool op bool is a bool (`|`, `&`, `^` of two flags)
_BOOL_OPS = {"BitOr": lambda a, b: a | b, "BitAnd": lambda a, b: a & b, "BitXor": lambda a, b: a ^ b}


def binary(interp: Interp, op: str, left: Value, right: Value, frame, node) -> Value:
    if isinstance(left, Number) and isinstance(right, Number):
        return number_op(op, left, right)
    if isinstance(left, Tensor) or isinstance(right, Tensor):
        qualname = _TENSOR_OPS.get(op)
        rule = rule_registry.lookup(qualname) if qualname else None
        if rule is None or not isinstance(left, (Tensor, Number)) or not isinstance(right, (Tensor, Number)):
            return Tensor.unknown()
        return calls.apply_rule(interp, rule, qualname, None, [left, right], {}, frame, node)
    if op == "Add" and isinstance(left, Layer) and sequence_container(left):
        # `self.layers += [...]`: ModuleList/Sequential.__iadd__ extends in place and returns self
        return calls.call_layer_method(interp, left, "extend", [right], {}, frame, node)
    if op == "Add" and isinstance(left, (Seq, ListValue)) and isinstance(right, (Seq, ListValue)):
        items = list(left.items) + list(right.items)
        return Seq(tuple(items)) if isinstance(left, Seq) else ListValue(items)
    if op == "Multiply" and isinstance(left, (Seq, ListValue)) and isinstance(right, Number):
        n = D.as_int(right.value)
        if n is not None and 0 <= n <= 4096:
            items = list(left.items) * n
            return Seq(tuple(items)) if isinstance(left, Seq) else ListValue(items)
    if op in _BOOL_OPS and isinstance(left, Const) and isinstance(right, Const) \
            and type(left.value) is bool and type(right.value) is bool:
        return Const(_BOOL_OPS[op](left.value, right.value))  # `return_mems | return_attn`: flags
    if op == "Modulo" and isinstance(left, Const) and isinstance(left.value, str):
        values = plain(right)
        if values is MISSING_VALUE:
            return UNKNOWN
        try:
            return Const(left.value % values)
        except (TypeError, ValueError, KeyError):
            return UNKNOWN
    return UNKNOWN


def _of_two_ints(fn, a: int, b: int) -> Number:
    """What Python computes from two ints: an int, except a negative power (`2 ** -1` is 0.5, not 0)."""
    result = fn(a, b)
    return Number(result if type(result) is float else int(result))


def number_op(op: str, left: Number, right: Number) -> Value:
    a, b = left.value, right.value
    fn = _NUMBER_OPS.get(op)
    if fn is None:
        return UNKNOWN
    try:
        # Two ints, the common case, as the general path below takes them, without its five calls into dims
        # (806 operations on efficientnet with its driver)
        if type(a) is int and type(b) is int:
            if op in ("FloorDivide", "Modulo", "Divide") and b == 0:
                return UNKNOWN
            return Number(a / b) if op == "Divide" else _of_two_ints(fn, a, b)
        if isinstance(a, float) or isinstance(b, float):
            if D.as_int(a) is None and not isinstance(a, float) or D.as_int(b) is None and not isinstance(b, float):
                # symbolic with a float, e.g. (C // h) ** -0.5: still a number (a scale), not unknown
                return Number(fn(D.expr(a), D.expr(b))) if op != "FloorDivide" else UNKNOWN
            return Number(float(fn(float(a), float(b)))) if op != "FloorDivide" else Number(float(a) // float(b))
        if op in ("FloorDivide", "Modulo", "Divide") and D.eq(b, 0) is True:
            return UNKNOWN
        if D.is_concrete(a) and D.is_concrete(b):
            a, b = D.as_int(a), D.as_int(b)
            if op == "Divide":
                return Number(a / b)  # true division of two ints: the float Python computes
            return _of_two_ints(fn, a, b)
        if op == "Divide":
            result = D.expr(a) / D.expr(b)
            return Number(float(result)) if result.is_Number else Number(result)
        return Number(fn(a, b))
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError):
        return UNKNOWN
