"""Differential-test helper for the norm, recurrent and attention rules: run a rule and real torch
(CPU) on one concrete call and assert that they agree.

A call is written as plain python: tensors as `T(*dims)`, a layer argument (TransformerEncoder's
encoder_layer) as `L(qualname, *init, **init_kwargs)`, tuples/lists/ints/floats/str/None as
themselves. Agreement: the same output (shape tuples, nested for tuple outputs, None for a None
output), or torch raises (RuntimeError/ValueError/IndexError/AssertionError) and the rule raises
ShapeError.

One torch behaviour the rules leave alone on purpose: "Expected more than 1 value per channel when
training" depends on train/eval mode, which the static analysis does not know. When torch raises
that, we ask torch again in eval mode; a layer that normalises with batch statistics even then
(track_running_stats=False) still raises, and the rule must report it.
"""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass

import torch
from hypothesis import HealthCheck, event, settings

from shapels.rules.base import RuleCall, ShapeError, Unknowable, from_python
from shapels.rules.registry import REGISTRY, T
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Const, Layer, ListValue, Seq, Tensor, Unknown

TORCH_ERRORS = (RuntimeError, ValueError, IndexError, AssertionError)

__all__ = ["T", "L", "check", "examples_of", "check_example", "SETTINGS"]

# SHAPELS_DIFF_EXAMPLES=2000 for a long run; the default keeps the three test files well under a minute.
SETTINGS = settings(
    max_examples=int(os.environ.get("SHAPELS_DIFF_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass(frozen=True)
class L:
    """A module passed as an argument: L("torch.nn.TransformerEncoderLayer", 8, 2, 16)."""

    kind: str
    init: tuple
    init_kwargs: tuple

    def __init__(self, kind: str, *init, **init_kwargs):
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "init", init)
        object.__setattr__(self, "init_kwargs", tuple(sorted(init_kwargs.items())))


@dataclass(frozen=True)
class Raised:
    code: str
    message: str


class Opaque:
    """A rule output that is not fully concrete; equal to nothing."""

    def __init__(self, what):
        self.what = what

    def __eq__(self, other):
        return False

    __hash__ = object.__hash__

    def __repr__(self):
        return f"Opaque({self.what!r})"


# -- torch side --------------------------------------------------------------------------------
def _resolve(qualname: str):
    return functools.reduce(getattr, qualname.split(".")[1:], torch)


def _torch(value):
    if isinstance(value, T):
        return torch.randn(tuple(int(d) for d in value.dims))
    if isinstance(value, L):
        return _resolve(value.kind)(*_torch(value.init), **{k: _torch(v) for k, v in value.init_kwargs})
    if isinstance(value, (tuple, list)):
        return type(value)(_torch(v) for v in value)
    return value


def _plain(out):
    if isinstance(out, torch.Tensor):
        return tuple(int(d) for d in out.shape)
    if isinstance(out, (tuple, list)):
        return tuple(_plain(o) for o in out)
    return out


def run_torch(qualname, args, kwargs, init, init_kwargs, *, eval_mode=False):
    rule = REGISTRY[qualname]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            a, kw = _torch(tuple(args)), {k: _torch(v) for k, v in kwargs.items()}
            if rule.is_layer:
                module = _resolve(qualname)(*_torch(tuple(init)), **{k: _torch(v) for k, v in init_kwargs.items()})
                if eval_mode:
                    module.eval()
                out = module(*a, **kw)
            else:
                out = _resolve(qualname)(*a, **kw)
        except TORCH_ERRORS as error:
            if not eval_mode and rule.is_layer and "when training" in str(error):
                return run_torch(qualname, args, kwargs, init, init_kwargs, eval_mode=True)
            return Raised(type(error).__name__, str(error))
    return _plain(out)


# -- rule side ---------------------------------------------------------------------------------
def _value(value):
    if isinstance(value, T):
        return Tensor(Shape.of(value.dims), dtype=value.torch_dtype)
    if isinstance(value, L):
        rule = REGISTRY[value.kind]
        bound = rule.init_signature.bind([_value(v) for v in value.init], {k: _value(v) for k, v in value.init_kwargs})
        return Layer(value.kind, bound)
    if isinstance(value, tuple):
        return Seq(tuple(_value(v) for v in value))
    if isinstance(value, list):
        return ListValue([_value(v) for v in value])
    return from_python(value)


def _rule_plain(out):
    if out is None or isinstance(out, Unknown):
        return Opaque("unknown")
    if isinstance(out, Shape):
        if out.ranked and all(D.is_concrete(d) for d in out.dims):
            return tuple(D.as_int(d) for d in out.dims)
        return Opaque(out.show())
    if isinstance(out, Const):
        return out.value
    if isinstance(out, (tuple, list)):
        return tuple(_rule_plain(o) for o in out)
    return Opaque(out)


def run_rule(qualname, args, kwargs, init, init_kwargs):
    rule = REGISTRY[qualname]
    init_bound, layer = None, None
    if rule.is_layer:
        init_bound = rule.init_signature.bind([_value(v) for v in init], {k: _value(v) for k, v in init_kwargs.items()})
        layer = Layer(qualname, init_bound)
    call_bound = rule.call_signature.bind([_value(v) for v in args], {k: _value(v) for k, v in kwargs.items()})
    try:
        return _rule_plain(rule.fn(RuleCall(qualname, init_bound, call_bound, layer)))
    except ShapeError as error:
        return Raised(error.code, error.message)
    except Unknowable as why:
        return Opaque(f"Unknowable({why})")


# -- comparing ---------------------------------------------------------------------------------
def check(qualname: str, *args, init=(), init_kwargs=None, **kwargs):
    """Assert that the rule for `qualname` and torch agree on this call; return torch's outcome."""
    init_kwargs = dict(init_kwargs or {})
    expected = run_torch(qualname, args, kwargs, init, init_kwargs)
    got = run_rule(qualname, args, kwargs, init, init_kwargs)
    where = f"{qualname} init={init!r} {init_kwargs!r} args={args!r} kwargs={kwargs!r}"
    event("torch raised" if isinstance(expected, Raised) else "torch ran")
    if isinstance(expected, Raised):
        assert isinstance(got, Raised), f"{where}\n  torch raised {expected}\n  rule gave {got!r}"
    else:
        assert not isinstance(got, Raised), f"{where}\n  torch gave {expected!r}\n  rule raised {got}"
        assert got == expected, f"{where}\n  torch gave {expected!r}\n  rule gave  {got!r}"
    return expected


def examples_of(module: str) -> list:
    """(id, qualname, example) for each example of the rules defined in `module`."""
    seen, cases = set(), []
    for rule in REGISTRY.values():
        if id(rule) in seen or rule.fn.__module__ != module:
            continue
        seen.add(id(rule))
        cases += [(f"{rule.name}[{i}]", rule.name, e) for i, e in enumerate(rule.examples)]
    return cases


def check_example(qualname: str, example) -> None:
    """torch and the rule both give `example.out`, or both raise and the rule with `example.error`."""
    where = f"{qualname} {example!r}"
    args = (qualname, example.args, example.kwargs, example.init, example.init_kwargs)
    expected, got = run_torch(*args), run_rule(*args)
    if example.error is not None:
        assert isinstance(expected, Raised), f"{where}: torch gave {expected!r}"
        assert isinstance(got, Raised) and got.code == example.error, f"{where}: rule gave {got!r}"
        return
    want = _plain(example.out)
    assert expected == want, f"{where}: torch gave {expected!r}"
    assert got == want, f"{where}: rule gave {got!r}"
