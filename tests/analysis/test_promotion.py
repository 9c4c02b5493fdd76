"""Type promotion (analysis/promotion.py) against torch: promote_types over every pair of the followed
dtypes, result_type over every pair of operand kinds (dimensioned tensor, 0-d tensor, Python int,
float, bool) as binary ops and torch.where use it, and over lists of tensors as torch.cat uses it."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapels.analysis import promotion
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Const, Number, Tensor

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
KINDS = ["dim", "zero", "int", "float", "bool"]


def _name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _operand(kind: str, dtype: str, rank: int = 2):
    """(shapels value, torch value)."""
    if kind == "int":
        return Number(D.const(3)), 3
    if kind == "float":
        return Number(2.5), 2.5
    if kind == "bool":
        return Const(True), True
    rank = 0 if kind == "zero" else rank
    return Tensor(Shape.of([2] * rank), (), dtype=dtype), torch.ones((2,) * rank, dtype=getattr(torch, dtype))


@pytest.mark.parametrize("a, b", list(itertools.product(DTYPES, DTYPES)))
def test_promote_types_is_torchs(a, b):
    assert promotion.promote_types(a, b) == _name(torch.promote_types(getattr(torch, a), getattr(torch, b)))


@pytest.mark.parametrize("kind_a, kind_b", [(a, b) for a, b in itertools.product(KINDS, KINDS)
                                            if a in ("dim", "zero") or b in ("dim", "zero")])
@pytest.mark.parametrize("dtype_a, dtype_b", [("int32", "float16"), ("bool", "int8"), ("uint8", "int8"),
                                              ("float16", "bfloat16"), ("int64", "float64"), ("bool", "bool"),
                                              ("int16", "int64"), ("float32", "uint8")])
def test_result_type_of_two_operands_is_torchs(kind_a, kind_b, dtype_a, dtype_b):
    (ours_a, real_a), (ours_b, real_b) = _operand(kind_a, dtype_a), _operand(kind_b, dtype_b)
    assert promotion.result_type([ours_a, ours_b]) == _name(torch.result_type(real_a, real_b))
    if isinstance(real_a, torch.Tensor) and isinstance(real_b, torch.Tensor):
        expected = torch.where(torch.ones((), dtype=torch.bool), real_a, real_b).dtype
        assert promotion.result_type([ours_a, ours_b]) == _name(expected)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(DTYPES), min_size=1, max_size=5))
def test_result_type_of_concatenated_tensors_is_torchs(dtypes):
    pairs = [_operand("dim", d, rank=1) for d in dtypes]
    assert promotion.result_type([v for v, _ in pairs]) == _name(torch.cat([r for _, r in pairs]).dtype)


@pytest.mark.parametrize("name, op", [("div", torch.div), ("__truediv__", lambda a, b: a / b),
                                      ("floor_divide", torch.floor_divide), ("remainder", torch.remainder),
                                      ("mul", torch.mul), ("maximum", torch.maximum)])
@pytest.mark.parametrize("dtype_a, dtype_b", [("int64", "int64"), ("int32", "uint8"), ("bool", "int8"),
                                              ("float16", "int64"), ("int64", "float64")])
def test_arithmetic_dtypes_are_torchs(name, op, dtype_a, dtype_b):
    (ours_a, real_a), (ours_b, real_b) = _operand("dim", dtype_a), _operand("dim", dtype_b)
    assert promotion.arithmetic(name, ours_a, ours_b, True) == _name(op(real_a, real_b).dtype)


def test_a_tensor_of_unknown_rank_decides_only_where_its_rank_does_not_matter():
    unranked = Tensor(Shape.unknown(), (), dtype="float64")
    assert promotion.result_type([Tensor(Shape.of([2]), (), dtype="float64"), unranked]) == "float64"
    # float64 against int32: the higher category wins whether it is 0-d or not
    assert promotion.result_type([Tensor(Shape.of([2]), (), dtype="int32"), unranked]) == "float64"
    # same category: dimensioned it promotes (float64), 0-d it yields to the float16 tensor (float16)
    assert promotion.result_type([Tensor(Shape.of([2]), (), dtype="float16"), unranked]) is None
    assert promotion.result_type([Tensor(Shape.of([2]), (), dtype=None), Number(2.5)]) is None


@pytest.mark.parametrize("name, dtype", list(itertools.product(["sum", "prod", "cumsum", "mean", "amax", "argmax"],
                                                                ["bool", "int32", "int64", "float16", "float64"])))
def test_reduction_dtypes_are_torchs(name, dtype):
    real = torch.ones(3, dtype=getattr(torch, dtype))
    try:
        expected = _name(getattr(real, name)(*(() if name not in ("cumsum",) else (0,))).dtype)
    except RuntimeError:  # mean of an integer tensor, argmax of bools: torch's errors, so no dtype
        expected = None
    assert promotion.reduced(name, dtype) == expected
