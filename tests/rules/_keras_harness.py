"""Run a Keras layer rule and real Keras 3 (torch backend, CPU) on the same call, and compare.

A call is written as rule examples are (`shapels.rules.registry.Example`): tensors as `T(*dims,
dtype=...)`, where a dim may be None (Keras's unknown size), a wrapped layer as
`KerasLayer("LSTM", 8, return_sequences=True)`, everything else as plain python values.

Keras runs each call twice: eagerly on arrays (what `layer(x)` and a subclassed model's call do) and
symbolically on KerasTensors (what keras.Input, Sequential and the functional API do). Both must give
the expected outcome: the same output shape (a None dim where Keras has None; the rule's dims that
are not concrete count as None), or Keras raises (ValueError/RuntimeError/IndexError/TypeError, at
construction or call) and the rule raises ShapeError. An example with a None dim runs symbolically
only: arrays have no None sizes.

Used by tests/rules/test_keras_rule_examples.py and tests/rules/test_keras_differential.py. Only tests
import keras; the rules never do.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

if os.environ.setdefault("KERAS_BACKEND", "torch") != "torch":
    raise RuntimeError(f"the Keras rules are checked on the torch backend, not KERAS_BACKEND={os.environ['KERAS_BACKEND']}")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from shapels.rules.base import from_python  # noqa: E402
from shapels.rules.keras_layers.spec import KerasLayer, none_dim  # noqa: E402
from shapels.rules.registry import REGISTRY, Example, Rule, T  # noqa: E402
from shapels.symbolic import dims as D  # noqa: E402
from shapels.symbolic.shape import Shape  # noqa: E402
from shapels.values import Layer, ListValue, Seq, Tensor, Value  # noqa: E402

from harnesses import load  # noqa: E402  (tests/ is on sys.path: pytest's rootdir import mode)

_side = load("_rule_side")
Raised, Opaque, describe = _side.Raised, _side.Opaque, _side.describe


assert keras.backend.backend() == "torch", keras.backend.backend()

# Errors by which Keras rejects a call's shapes or arguments: its own checks raise ValueError, the
# torch ops under it RuntimeError or IndexError, and its build a TypeError on a None where it needs a
# size (`None % groups` for a Conv's channels). Keras itself answers a malformed call (an unknown
# keyword) with ValueError, so a TypeError here is not a test bug hiding.
KERAS_ERRORS = (ValueError, RuntimeError, IndexError, TypeError)



def is_keras(rule: Rule) -> bool:
    return rule.name.split(".")[0] == "keras"


def normalize(out: Any) -> Any:
    if isinstance(out, (list, tuple)):
        return tuple(normalize(o) for o in out)
    return out


def has_none(value: Any) -> bool:
    if isinstance(value, T):
        return None in value.dims
    if isinstance(value, (list, tuple)):
        return any(has_none(v) for v in value)
    if isinstance(value, dict):
        return any(has_none(v) for v in value.values())
    return False


# -- the Keras side ---------------------------------------------------------------------------
def _keras_dtype(spec: T) -> str:
    return {"long": "int64", "int": "int32", "probability": "float32", "float": "float32"}.get(spec.dtype, spec.dtype)


def to_keras(value: Any, symbolic: bool, rng: np.random.Generator) -> Any:
    if isinstance(value, T):
        dtype = _keras_dtype(value)
        if symbolic:
            return keras.KerasTensor(shape=value.dims, dtype=dtype)
        dims = tuple(int(d) for d in value.dims)
        if dtype.startswith("int"):
            return keras.ops.convert_to_tensor(rng.integers(0, 2, dims).astype(dtype))
        return keras.ops.convert_to_tensor(rng.standard_normal(dims).astype(dtype))
    if isinstance(value, KerasLayer):
        return resolve(value.qualname)(*to_keras(value.args, symbolic, rng), **to_keras(value.kwargs, symbolic, rng))
    if isinstance(value, list):
        return [to_keras(v, symbolic, rng) for v in value]
    if isinstance(value, tuple):
        return tuple(to_keras(v, symbolic, rng) for v in value)
    if isinstance(value, dict):
        return {k: to_keras(v, symbolic, rng) for k, v in value.items()}
    return value


def resolve(qualname: str) -> Any:
    """`keras.layers.Dense` -> the class, by getattr from the keras package."""
    parts = qualname.split(".")
    assert parts[0] == "keras", qualname
    target = keras
    for part in parts[1:]:
        target = getattr(target, part)
    return target


def keras_output(out: Any) -> Any:
    if hasattr(out, "shape") and not isinstance(out, (list, tuple)):
        return tuple(None if d is None else int(d) for d in out.shape)
    if isinstance(out, (list, tuple)):
        return tuple(keras_output(o) for o in out)
    return out


def run_keras(qualname: str, is_layer: bool, ex: Example, symbolic: bool) -> Any:
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            args = [to_keras(a, symbolic, rng) for a in ex.args]
            kwargs = {k: to_keras(v, symbolic, rng) for k, v in ex.kwargs.items()}
            target = resolve(qualname)
            if is_layer:
                obj = target(*to_keras(ex.init, symbolic, rng), **to_keras(ex.init_kwargs, symbolic, rng))
                out = obj(*args, **kwargs)
            else:
                out = target(*args, **kwargs)
        except KERAS_ERRORS as error:
            return Raised(type(error).__name__, str(error))
    return keras_output(out)


# -- the rule side ----------------------------------------------------------------------------
def to_value(value: Any) -> Value:
    if isinstance(value, T):
        return Tensor(Shape.of([none_dim() if d is None else d for d in value.dims]), dtype=value.torch_dtype)
    if isinstance(value, KerasLayer):
        rule = REGISTRY[value.qualname]
        bound = rule.init_signature.bind([to_value(a) for a in value.args],
                                         {k: to_value(v) for k, v in value.kwargs.items()})
        return Layer(value.qualname, bound)
    if isinstance(value, list):
        return ListValue([to_value(v) for v in value])
    if isinstance(value, tuple):
        return Seq(tuple(to_value(v) for v in value))
    return from_python(value)


def _dim(d: Any) -> Any:
    if D.is_concrete(d):
        return D.as_int(d)
    return None  # a dim the rule does not know: Keras's None


def rule_output(out: Any) -> Any:
    if out is None:
        return Opaque("unknown tensor")
    if isinstance(out, Shape):
        return tuple(_dim(d) for d in out.dims) if out.ranked else Opaque(out.show())
    if isinstance(out, Tensor):
        return rule_output(out.shape)
    if (isinstance(out, int) and not isinstance(out, bool)) or D.is_expr(out):  # a size (keras.ops.shape's items)
        return _dim(out) if D.is_concrete(out) else Opaque(out)
    if isinstance(out, (tuple, list)):
        return tuple(rule_output(o) for o in out)
    if isinstance(out, (Seq, ListValue)):
        return tuple(rule_output(o) for o in out.items)
    return Opaque(out)


def run_rule(rule: Rule, qualname: str, ex: Example) -> Any:
    """The rule's outcome: the output as plain python (Opaque where not concrete) or Raised(code)."""
    return _side.run_rule(rule, qualname, ex, to_value, rule_output)


# -- comparing --------------------------------------------------------------------------------
# Keras utilities that work on numpy arrays only (no KerasTensor): checked eagerly.
EAGER_ONLY = {"keras.utils.to_categorical", "keras.utils.pad_sequences"}
# Ops whose symbolic shape inference skips a check their run on arrays makes (tensordot's contracted sizes):
# their rules claim that error only on sizes with no None (arrays), so a call without a None dim is checked
# eagerly, and one with a None symbolically (where the rule claims no error).
EAGER_CHECKED = {"keras.ops.tensordot"}


def modes(ex: Example, qualname: str = "") -> tuple:
    """Symbolic always (eager only for EAGER_ONLY, and EAGER_CHECKED without a None dim); eager too unless a
    dim is None."""
    if qualname in EAGER_ONLY or qualname in EAGER_CHECKED and not has_none((ex.args, ex.kwargs, ex.init, ex.init_kwargs)):
        return (False,)
    return (True,) if has_none((ex.args, ex.kwargs, ex.init, ex.init_kwargs)) else (False, True)


def outcomes(qualname: str, ex: Example) -> dict:
    rule = REGISTRY[qualname]
    return {("symbolic" if s else "eager"): run_keras(qualname, rule.is_layer, ex, s) for s in modes(ex, qualname)}


def _agree(*outcomes_) -> bool:
    first = outcomes_[0]
    return all(isinstance(o, Raised) == isinstance(first, Raised) and (isinstance(o, Raised) or o == first)
               for o in outcomes_[1:])


def _none_where_eager_knows(expected: dict) -> bool:
    """Keras's two modes differ only where the symbolic shape has a None (EinsumDense's output_shape None)."""
    eager, symbolic = expected.get("eager"), expected.get("symbolic")

    def fits(e, s) -> bool:
        if isinstance(e, tuple) and isinstance(s, tuple):
            return len(e) == len(s) and all(fits(a, b) for a, b in zip(e, s))
        return s is None or e == s

    return eager is not None and not isinstance(eager, Raised) and not isinstance(symbolic, Raised) and \
        eager != symbolic and fits(eager, symbolic)


def differential(qualname: str, *args, init=(), init_kwargs=None, may_miss_errors=False, **kwargs) -> dict:
    """Run the rule and Keras (eager and symbolic) on one call; assert that they agree. Where Keras's
    two modes disagree with each other, the rule must decline (an unknown output). `may_miss_errors`:
    the rule may also decline where Keras raises (for a rule known to miss some errors). Returns
    Keras's outcomes by mode."""
    rule = REGISTRY[qualname]
    ex = Example(tuple(args), dict(kwargs), tuple(init), dict(init_kwargs or {}))
    expected = outcomes(qualname, ex)
    got = run_rule(rule, qualname, ex)
    where = describe(qualname, ex)
    if _none_where_eager_knows(expected) and got in (expected["symbolic"], expected["eager"]):
        return expected  # Keras's symbolic shape says None where the eager run has a size: either is right
    if not _agree(*expected.values()):
        # Keras disagrees with itself (eager against symbolic): the rule must not claim either outcome
        assert isinstance(got, Opaque), f"{where}\n  keras gave {expected!r}\n  rule claimed {got!r}"
        return expected
    if may_miss_errors and isinstance(got, Opaque) and all(isinstance(o, Raised) for o in expected.values()):
        return expected  # a rule that declines where Keras raises: a miss the caller accepts, never a wrong claim
    for mode, outcome in expected.items():
        _side.assert_agrees(where, f"keras ({mode})", outcome, got)
    return expected


def check_example(rule: Rule, ex: Example) -> None:
    """Keras (eager and symbolic) and the rule both give `ex.out`, or all raise and the rule with `ex.error`."""
    qualname = rule.name
    where = describe(qualname, ex)
    assert (ex.out is None) != (ex.error is None), f"{where}: an example needs exactly one of out= and error="
    expected = outcomes(qualname, ex)
    got = run_rule(rule, qualname, ex)
    if ex.error is not None:
        for mode, outcome in expected.items():
            assert isinstance(outcome, Raised), f"{where}\n  the example says error={ex.error!r}, but keras ({mode}) gave {outcome!r}"
        assert isinstance(got, Raised), f"{where}\n  the example says error={ex.error!r}, but the rule gave {got!r}"
        assert got.code == ex.error, f"{where}\n  the rule raised {got.code!r} ({got.message}), the example says {ex.error!r}"
        return
    want = normalize(ex.out)
    for mode, outcome in expected.items():
        assert outcome == want, f"{where}\n  the example says out={want!r}, but keras ({mode}) gave {outcome!r}"
    assert got == want, f"{where}\n  the example says out={want!r}, but the rule gave {got!r}"


def all_examples() -> list:
    """(id, rule, example) for every example of every Keras rule, each rule once (by its first name)."""
    seen: set = set()
    cases = []
    for rule in REGISTRY.values():
        if id(rule) in seen or not is_keras(rule):
            continue
        seen.add(id(rule))
        for i, ex in enumerate(rule.examples):
            cases.append((f"{rule.name}[{i}]", rule, ex))
    return cases
