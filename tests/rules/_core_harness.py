"""Run a shape rule and real torch (CPU) on the same call, and compare the outcomes.

A call is written the way rule examples are (`shapels.rules.registry.Example`): tensors as
`T(*dims, dtype=...)`, everything else as plain python values (ints, floats, strings, None, tuples,
lists, lists of T for torch.cat). `differential(...)` runs both sides and asserts they agree:
the same output (shapes as tuples, nested tuples for tuple outputs, ints for numbers), or torch
raises and the rule raises ShapeError.

Used by tests/rules/test_rule_examples.py and tests/rules/test_core_differential.py. Only tests import
torch; the rules never do.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from typing import Any

import numpy
import torch

from shapels.rules.base import from_python
from shapels.rules.registry import REGISTRY, Example, Rule, T
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Const, ListValue, Number, Seq, Tensor, Value

from harnesses import load  # noqa: E402  (tests/ is on sys.path: pytest's rootdir import mode)

_side = load("_rule_side")
Raised, Opaque, describe = _side.Raised, _side.Opaque, _side.describe


# Errors by which torch rejects a call's shapes or arguments. A TypeError is not among them: it means
# the call itself is malformed (a test bug), not that the shapes are wrong.
TORCH_ERRORS = (RuntimeError, ValueError, IndexError, AssertionError)

torch.manual_seed(0)


# -- outcomes ---------------------------------------------------------------------------------

def normalize(out: Any) -> Any:
    """An expected output (`Example.out`) with lists turned into tuples."""
    if isinstance(out, (list, tuple)):
        return tuple(normalize(o) for o in out)
    return out


# -- the torch side ---------------------------------------------------------------------------
def make_tensor(spec: T) -> torch.Tensor:
    dims = tuple(int(d) for d in spec.dims)
    dtype = spec.dtype
    if dtype in ("long", "int64", "int", "int32"):
        return torch.randint(0, 2, dims, dtype=torch.int64 if dtype in ("long", "int64") else torch.int32)
    if dtype == "bool":
        return torch.randint(0, 2, dims).bool()
    if dtype == "probability":  # floats in [0, 1): what bernoulli_ takes as p
        return torch.rand(dims)
    return torch.randn(dims, dtype=getattr(torch, dtype) if dtype not in ("float",) else torch.float32)


def to_torch(value: Any) -> Any:
    if isinstance(value, T):
        return make_tensor(value)
    if isinstance(value, list):
        return [to_torch(v) for v in value]
    if isinstance(value, tuple):
        return tuple(to_torch(v) for v in value)
    if isinstance(value, dict):
        return {k: to_torch(v) for k, v in value.items()}
    return value


def resolve(qualname: str) -> Any:
    """`torch.nn.Conv2d` -> the class, by getattr from the torch module (einops names from einops, numpy
    names from numpy: shapels/rules/arrays.py)."""
    parts = qualname.split(".")
    if parts[0] == "numpy":
        return functools.reduce(getattr, parts[1:], numpy)
    if parts[0] == "einops":  # einops.rearrange, einops.layers.torch.Rearrange: the real package
        module, name = qualname.rsplit(".", 1)
        return getattr(importlib.import_module(module), name)
    assert parts[0] == "torch", qualname
    return functools.reduce(getattr, parts[1:], torch)


def torch_output(out: Any) -> Any:
    """A torch result as plain python: a tensor as its shape tuple, tuples/lists/Size as tuples."""
    if isinstance(out, (torch.Tensor, numpy.ndarray)):
        return tuple(int(d) for d in out.shape)
    if isinstance(out, (tuple, list)):  # torch.Size, return_types namedtuples, lists of tensors
        return tuple(torch_output(o) for o in out)
    if isinstance(out, bool):
        return out
    if isinstance(out, int):
        return int(out)
    return out


def run_torch(qualname: str, is_layer: bool, ex: Example, errors: tuple = TORCH_ERRORS) -> Any:
    """Torch's outcome: the output as plain python, or Raised(exception type, message)."""
    if qualname.startswith("einops.layers."):
        errors = errors + (KeyError,)  # einops layers look their recipe up by rank: a wrong rank is a KeyError
    # oneDNN (mkldnn) kernels skip some of torch's own shape checks (a grouped ConvTranspose with an
    # empty output), and whether torch picks them depends on batch size and thread count; compare
    # with torch's reference CPU kernels.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.backends.mkldnn.flags(enabled=False):
            try:
                args = [to_torch(a) for a in ex.args]
                kwargs = {k: to_torch(v) for k, v in ex.kwargs.items()}
                if qualname.startswith("numpy."):  # numpy's functions take numpy's arrays
                    args = [a.numpy() if isinstance(a, torch.Tensor) else a for a in args]
                if is_layer:
                    module = resolve(qualname)(*to_torch(ex.init), **to_torch(ex.init_kwargs))
                    out = module(*args, **kwargs)
                elif qualname.startswith("torch.Tensor."):
                    method = qualname[len("torch.Tensor."):]
                    out = getattr(args[0], method)(*args[1:], **kwargs)
                else:
                    out = resolve(qualname)(*args, **kwargs)
            except errors as error:
                return Raised(type(error).__name__, str(error))
    return torch_output(out)


# -- the rule side ----------------------------------------------------------------------------
def to_value(value: Any) -> Value:
    if isinstance(value, T):
        return Tensor(Shape.of(value.dims), dtype=value.torch_dtype)
    if isinstance(value, list):
        return ListValue([to_value(v) for v in value])
    if isinstance(value, tuple):
        return Seq(tuple(to_value(v) for v in value))
    return from_python(value)


def rule_output(out: Any) -> Any:
    """A rule's output as plain python; anything not concrete becomes Opaque."""
    if out is None:
        return Opaque("unknown tensor")
    if isinstance(out, Shape):
        if out.ranked and all(D.is_concrete(d) for d in out.dims):
            return tuple(D.as_int(d) for d in out.dims)
        return Opaque(out)
    if isinstance(out, Tensor):
        return rule_output(out.shape)
    if isinstance(out, (tuple, list)):
        return tuple(rule_output(o) for o in out)
    if isinstance(out, (Seq, ListValue)):
        return tuple(rule_output(o) for o in out.items)
    if isinstance(out, Number):
        return rule_output(out.value)
    if isinstance(out, Const):
        return out.value
    if isinstance(out, bool):
        return out
    if isinstance(out, int):
        return out
    if D.is_expr(out):
        return int(out) if out.is_Integer else (float(out) if out.is_Float else Opaque(out))
    if isinstance(out, float):
        return out
    return Opaque(out)


def run_rule(rule: Rule, qualname: str, ex: Example) -> Any:
    """The rule's outcome: the output as plain python (Opaque where not concrete) or Raised(code)."""
    return _side.run_rule(rule, qualname, ex, to_value, rule_output)


# -- comparing --------------------------------------------------------------------------------
def differential(qualname: str, *args, init=(), init_kwargs=None, torch_errors=TORCH_ERRORS, **kwargs) -> Any:
    """Run the rule for `qualname` and torch on one concrete call; assert that they agree.

    Agreement: the same output, or torch raises (one of `torch_errors`) and the rule raises
    ShapeError. Returns torch's outcome so that callers can check it further.
    """
    rule = REGISTRY[qualname]
    ex = Example(tuple(args), dict(kwargs), tuple(init), dict(init_kwargs or {}))
    expected = run_torch(qualname, rule.is_layer, ex, torch_errors)
    got = run_rule(rule, qualname, ex)
    where = describe(qualname, ex)
    _side.assert_agrees(where, "torch", expected, got)
    return expected


def check_example(rule: Rule, ex: Example) -> None:
    """A Fixit-style example: torch and the rule both give `ex.out`, or both raise (`ex.error`)."""
    qualname = rule.qualnames[0]
    where = describe(qualname, ex)
    assert (ex.out is None) != (ex.error is None), f"{where}: an example needs exactly one of out= and error="
    expected = run_torch(qualname, rule.is_layer, ex)
    got = run_rule(rule, qualname, ex)
    if ex.error is not None:
        assert isinstance(expected, Raised), f"{where}\n  the example says error={ex.error!r}, but torch gave {expected!r}"
        assert isinstance(got, Raised), f"{where}\n  the example says error={ex.error!r}, but the rule gave {got!r}"
        assert got.code == ex.error, f"{where}\n  the rule raised {got.code!r} ({got.message}), the example says {ex.error!r}"
        return
    want = normalize(ex.out)
    assert expected == want, f"{where}\n  the example says out={want!r}, but torch gave {expected!r}"
    assert got == want, f"{where}\n  the example says out={want!r}, but the rule gave {got!r}"


def all_examples() -> list:
    """(id, rule, example) for every example of every rule, each rule once (by its first name)."""
    seen: set = set()
    cases = []
    for rule in REGISTRY.values():
        if id(rule) in seen or rule.name.split(".")[0] == "keras":  # run against Keras by _keras_harness.py
            continue
        seen.add(id(rule))
        for i, ex in enumerate(rule.examples):
            cases.append((f"{rule.qualnames[0]}[{i}]", rule, ex))
    return cases
