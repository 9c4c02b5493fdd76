"""The registry of shape rules, keyed by qualified name (`torch.nn.Linear`, `torch.Tensor.view`).

Each rule carries examples (`Example`) that the tests run against real torch, Fixit-style.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from shapels.rules.base import RuleCall, Signature, checking_input_dtypes


@dataclass(frozen=True)
class T:
    """A tensor in an example, by shape: T(1, 3, 32, 32), T(1, 10, dtype="long"); dtype="probability" holds
    floats in [0, 1)."""

    dims: tuple
    dtype: str = "float"

    def __init__(self, *dims: int, dtype: str = "float"):
        object.__setattr__(self, "dims", tuple(dims))
        object.__setattr__(self, "dtype", dtype)

    @property
    def torch_dtype(self) -> str:
        """The dtype's torch name (float32 for "float" and "probability", int64 for "long")."""
        return {"float": "float32", "probability": "float32", "long": "int64", "int": "int32"}.get(self.dtype, self.dtype)


@dataclass(frozen=True)
class Example:
    """A call the rule must get right. `out` is the output shape (nested tuples for tuple
    outputs); `error` is the diagnostic code when torch raises instead."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    init: tuple = ()
    init_kwargs: dict = field(default_factory=dict)
    out: Any = None
    error: Optional[str] = None


def ex(*args, init=(), init_kwargs=None, out=None, error=None, **kwargs) -> Example:
    return Example(tuple(args), dict(kwargs), tuple(init), dict(init_kwargs or {}), out, error)


@dataclass
class Rule:
    qualnames: tuple
    fn: Callable[[RuleCall], Any]
    call_signature: Signature
    init_signature: Optional[Signature] = None
    preserves_shape: bool = False
    label: Optional[str] = None
    examples: tuple = ()

    @property
    def is_layer(self) -> bool:
        return self.init_signature is not None

    @property
    def name(self) -> str:
        return self.qualnames[0]


REGISTRY: dict[str, Rule] = {}
# Names registered twice: the first rule wins and a test fails, rather than the import crashing.
DUPLICATES: list = []


def _register(rule: Rule) -> Rule:
    for q in rule.qualnames:
        if q in REGISTRY:
            DUPLICATES.append((q, REGISTRY[q].fn.__module__, rule.fn.__module__))
            continue
        REGISTRY[q] = rule
    return rule


def layer(*qualnames: str, init: str, forward: str = "input", preserves_shape: bool = False, examples=(),
          float_inputs: tuple = ()):
    """Register a rule for a torch.nn module class: `init` is its constructor's parameter list,
    `forward` that of its forward(). `float_inputs`: the forward parameters that meet its floating-point
    weights, so an integer or bool tensor there is torch's dtype error (`input-dtype`)."""

    def wrap(fn):
        _register(
            Rule(
                qualnames,
                checking_input_dtypes(fn, float_inputs) if float_inputs else fn,
                Signature(forward),
                Signature(init),
                preserves_shape=preserves_shape,
                examples=tuple(examples),
            )
        )
        return fn

    return wrap


def function(*qualnames: str, signature: str, preserves_shape: bool = False, label: Optional[str] = None, examples=()):
    """Register a rule for functions and tensor methods (`torch.Tensor.view` takes `self` first).

    A step in a tensor's provenance chain is named after the function the code called (`mean`,
    `reshape`); `label` fixes it instead, for factories that start a chain (`input`)."""

    def wrap(fn):
        _register(
            Rule(qualnames, fn, Signature(signature), preserves_shape=preserves_shape, label=label, examples=tuple(examples))
        )
        return fn

    return wrap


def lookup(qualname: str) -> Optional[Rule]:
    return REGISTRY.get(qualname)
