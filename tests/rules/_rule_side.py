"""The rule side of the framework harnesses (_core_harness.py for torch, _keras_harness.py for Keras):
running a registered rule on an Example, and the outcomes both sides are compared as."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from shapels.rules.base import RuleCall, ShapeError, Unknowable
from shapels.rules.registry import Example, Rule
from shapels.values import Layer


@dataclass(frozen=True)
class Raised:
    """The call raised: `code` is the ShapeError code (rule side) or the exception type (framework)."""

    code: str
    message: str

    def __repr__(self) -> str:
        return f"Raised({self.code}: {self.message[:300]})"


class Opaque:
    """A rule output that is not fully concrete (an unknown tensor, a symbolic dim): equal to nothing."""

    def __init__(self, what: Any):
        self.what = what

    def __eq__(self, other):
        return False

    def __hash__(self):
        return id(self)

    def __repr__(self) -> str:
        show = getattr(self.what, "show", None)  # a Shape prints as (B, 3)
        return f"Opaque({show()})" if callable(show) else f"Opaque({self.what!r})"


def run_rule(rule: Rule, qualname: str, ex: Example, to_value: Callable, rule_output: Callable) -> Any:
    """The rule's outcome: its output as `rule_output` makes it plain, or Raised(code)."""
    layer = None
    init = None
    if rule.is_layer:
        init = rule.init_signature.bind([to_value(a) for a in ex.init], {k: to_value(v) for k, v in ex.init_kwargs.items()})
        layer = Layer(qualname, init)
    bound = rule.call_signature.bind([to_value(a) for a in ex.args], {k: to_value(v) for k, v in ex.kwargs.items()})
    call = RuleCall(qualname, init, bound, layer)
    try:
        out = rule.fn(call)
    except ShapeError as error:
        return Raised(error.code, error.message)
    except Unknowable as why:
        return Opaque(f"Unknowable({why})")
    return rule_output(out)


def assert_agrees(where: str, framework: str, expected: Any, got: Any) -> None:
    """The rule's outcome is the framework's: both raise, or both give the same output."""
    if isinstance(expected, Raised):
        assert isinstance(got, Raised), f"{where}\n  {framework} raised {expected}\n  rule gave {got!r}"
    else:
        assert not isinstance(got, Raised), f"{where}\n  {framework} gave {expected!r}\n  rule raised {got!r}"
        assert got == expected, f"{where}\n  {framework} gave {expected!r}\n  rule gave  {got!r}"


def describe(qualname: str, ex: Example) -> str:
    parts = []
    if ex.init or ex.init_kwargs:
        parts.append(f"init={ex.init!r} {ex.init_kwargs!r}")
    parts.append(f"args={ex.args!r}")
    if ex.kwargs:
        parts.append(f"kwargs={ex.kwargs!r}")
    return f"{qualname}: " + " ".join(parts)
