"""Differential checks of one rule against real torch (CPU), for the hypothesis tests of the
layout/matmul/reduction/joining/resize rules.

A call is written like a rule example: tensors as `T(*dims)`, everything else as plain python.
`differential(qualname, *args, **kwargs)` runs the rule and torch and asserts that they agree:
the same output (shape tuples, nested for tuple outputs) or both raise (torch a RuntimeError,
ValueError, IndexError or NotImplementedError; the rule a ShapeError with a catalogued code).
"""

from __future__ import annotations

import functools
import os
import warnings
from typing import Any

import torch
from hypothesis import settings
from hypothesis import strategies as st

from shapels.codes import CODES
from shapels.rules.base import RuleCall, ShapeError, Unknowable, from_python
from shapels.rules.registry import REGISTRY, T
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Layer, ListValue, Seq, Tensor, Unknown

TORCH_ERRORS = (RuntimeError, ValueError, IndexError, NotImplementedError)

# SHAPELS_FUZZ_EXAMPLES=500 for a longer hunt.
SETTINGS = settings(max_examples=int(os.environ.get("SHAPELS_FUZZ_EXAMPLES", "40")), deadline=None)


class Raised(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message[:300]}")
        self.kind = kind


# -- torch side --------------------------------------------------------------------------------
def _torch_value(v: Any) -> Any:
    if isinstance(v, T):
        return torch.zeros(tuple(v.dims), dtype=getattr(torch, v.torch_dtype))  # the dtype the rule side sees
    if isinstance(v, list):
        return [_torch_value(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_torch_value(x) for x in v)
    return v


def _plain(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)):
        return tuple(_plain(o) for o in out)
    return out


def run_torch(qualname: str, args, kwargs, init, init_kwargs) -> Any:
    args = [_torch_value(a) for a in args]
    kwargs = {k: _torch_value(v) for k, v in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if REGISTRY[qualname].is_layer:
                target = functools.reduce(getattr, qualname.split(".")[1:], torch)(*init, **init_kwargs)
            elif qualname.startswith("torch.Tensor."):
                target = getattr(args.pop(0), qualname.rsplit(".", 1)[1])
            else:
                target = functools.reduce(getattr, qualname.split(".")[1:], torch)
            return _plain(target(*args, **kwargs))
        except TORCH_ERRORS as error:
            return Raised(type(error).__name__, str(error))


# -- rule side ---------------------------------------------------------------------------------
def value(v: Any):
    if isinstance(v, T):
        return Tensor(Shape.of(v.dims), dtype=v.torch_dtype)
    if isinstance(v, Shape):
        return Tensor(v)
    if isinstance(v, list):
        return ListValue([value(x) for x in v])
    if isinstance(v, tuple):
        return Seq(tuple(value(x) for x in v))
    return from_python(v)


def _rule_plain(out: Any) -> Any:
    if isinstance(out, Shape):
        assert out.ranked and all(D.is_concrete(d) for d in out.dims), f"not concrete: {out}"
        return tuple(int(d) for d in out.dims)
    if isinstance(out, tuple):
        return tuple(_rule_plain(o) for o in out)
    if isinstance(out, Unknown):
        return out
    raise AssertionError(f"unexpected rule output {out!r}")


def call_rule(qualname: str, *args, init=(), init_kwargs=None, **kwargs) -> tuple:
    """(output, RuleCall): the raw output, ShapeError or Unknowable instance."""
    rule = REGISTRY[qualname]
    init_bound, layer = None, None
    if rule.is_layer:
        init_bound = rule.init_signature.bind([value(a) for a in init], {k: value(v) for k, v in (init_kwargs or {}).items()})
        layer = Layer(qualname, init_bound)
    bound = rule.call_signature.bind([value(a) for a in args], {k: value(v) for k, v in kwargs.items()})
    call = RuleCall(qualname, init_bound, bound, layer)
    try:
        return rule.fn(call), call
    except (ShapeError, Unknowable) as outcome:
        return outcome, call


def differential(qualname: str, *args, init=(), init_kwargs=None, **kwargs) -> Any:
    """Assert that the rule and torch agree on a concrete call; returns torch's outcome."""
    expected = run_torch(qualname, list(args), kwargs, init, init_kwargs or {})
    got, call = call_rule(qualname, *args, init=init, init_kwargs=init_kwargs, **kwargs)
    where = f"{qualname} init={init!r} {init_kwargs or {}!r} args={args!r} kwargs={kwargs!r}"
    assert not isinstance(got, Unknowable), f"{where}\n  torch gave {expected!r}\n  the rule was Unknowable({got})"
    if isinstance(expected, Raised):
        assert isinstance(got, ShapeError), f"{where}\n  torch raised {expected}\n  the rule gave {got!r}"
    else:
        assert not isinstance(got, ShapeError), f"{where}\n  torch gave {expected!r}\n  the rule raised {got.code}: {got.message}"
        assert _rule_plain(got) == expected, f"{where}\n  torch gave {expected!r}\n  the rule gave {got!r}"
    if isinstance(got, ShapeError):
        assert got.code in CODES, got.code
    assert not call.conditions, f"{where}: concrete dims left conditions {call.conditions}"
    return expected


def symbolic(qualname: str, *args, **kwargs):
    """The rule's output on symbolic/unranked inputs (Shape arguments); no torch."""
    got, _ = call_rule(qualname, *args, **kwargs)
    return got


# -- strategies --------------------------------------------------------------------------------
def shapes(min_rank: int = 0, max_rank: int = 4, min_size: int = 1, max_size: int = 4):
    return st.lists(st.integers(min_size, max_size), min_size=min_rank, max_size=max_rank).map(tuple)


def dim_for(rank: int, slack: int = 1):
    """A dim argument for a tensor of `rank`, sometimes just out of range."""
    r = max(rank, 1)
    return st.integers(-r - slack, r - 1 + slack)


__all__ = ["SETTINGS", "T", "call_rule", "differential", "dim_for", "shapes", "symbolic"]
