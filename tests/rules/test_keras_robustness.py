"""Bad or odd input to the Keras rules: each rule, given any shapes (rank 0 to 5, zero sizes, Keras's
None, symbolic or unknown-rank inputs) and arguments of the wrong kind or range, answers with an
output, a ShapeError or Unknowable: never another exception (which the analysis would report as an
internal error)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _keras_harness as H  # noqa: E402  (tests/rules is on sys.path: pytest's rootdir import mode)
from shapels.rules.base import RuleCall, ShapeError, Unknowable, from_python
from shapels.rules.keras_layers.spec import KerasLayer, none_dim
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Layer, Seq, Tensor

# keras.Model.__call__ has no examples to start from: tests/analysis/test_keras_models.py drives it with models
RULES = sorted({r.name: r for r in H.REGISTRY.values() if H.is_keras(r) and r.examples}.items())  # (datasets too)

dim = st.one_of(st.integers(0, 5), st.just("None"), st.just("H"))
weird = st.one_of(st.integers(-3, 40), st.none(), st.booleans(), st.floats(-2, 2), st.text(max_size=4),
                  st.sampled_from(["same", "valid", "causal", "channels_first", "channels_last", "concat", "...b,bc->...c"]),
                  st.tuples(st.integers(-2, 4), st.integers(-2, 4)),
                  st.lists(st.integers(-2, 4), max_size=3))


def _dim(d):
    if d == "None":
        return none_dim()
    if d == "H":
        return D.symbol("H")
    return int(d)


@st.composite
def tensors(draw):
    dims = [_dim(d) for d in draw(st.lists(dim, max_size=5))]
    return Tensor(Shape(tuple(dims), draw(st.sampled_from([True, True, True, False]))))


def _value(example_value, draw):
    if isinstance(example_value, H.T):
        return draw(tensors())
    if isinstance(example_value, list):
        return H.ListValue([draw(tensors()) for _ in range(draw(st.integers(0, 3)))])
    if isinstance(example_value, KerasLayer):
        return H.to_value(example_value)
    return H.to_value(example_value)


@pytest.mark.parametrize("name, rule", RULES, ids=[n for n, _ in RULES])
@settings(max_examples=int(os.environ.get("SHAPELS_DIFF_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_input_gets_an_answer(name, rule, data):
    example = data.draw(st.sampled_from(rule.examples))
    init = None
    layer = None
    if rule.is_layer:
        init_args = [H.to_value(a) for a in example.init]
        init_kwargs = {k: H.to_value(v) for k, v in example.init_kwargs.items()}
        if init_args and data.draw(st.booleans()):
            init_args[data.draw(st.integers(0, len(init_args) - 1))] = from_python(data.draw(weird))
        init = rule.init_signature.bind(init_args, init_kwargs)
        layer = Layer(name, init)
    args = [_value(a, data.draw) for a in example.args]
    kwargs = {k: _value(v, data.draw) for k, v in example.kwargs.items()}
    if not rule.is_layer and kwargs and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(kwargs)))
        kwargs[key] = from_python(data.draw(weird))
    call = RuleCall(name, init, rule.call_signature.bind(args, kwargs), layer)
    try:
        out = rule.fn(call)
    except (ShapeError, Unknowable):
        return
    assert out is None or isinstance(out, (Shape, tuple, Seq)), out
