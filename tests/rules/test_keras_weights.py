"""Each Keras layer's weight count (shapels/rules/keras_layers/weights.py, the "Param #" of
`model.summary()`) equals Keras's `count_params()` after the layer is built on the example's input:
every runnable example of every rule that counts, plus generated configurations of the layers with
weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harnesses import load  # tests/ is on sys.path: pytest's rootdir import mode

H = load("_keras_harness")
from shapels.rules.base import RuleCall  # noqa: E402
from shapels.rules.keras_layers.weights import count  # noqa: E402
from shapels.rules.registry import Example, T  # noqa: E402
from shapels.symbolic.shape import Shape  # noqa: E402
from shapels.values import Layer  # noqa: E402

COUNTED = sorted({r.name: r for r in H.REGISTRY.values() if H.is_keras(r) and r.is_layer and r.weights is not None}.items())
CASES = [(name, rule, ex) for name, rule in COUNTED for ex in rule.examples
         if ex.out is not None and ex.args and isinstance(ex.args[0], T) and None not in ex.args[0].dims]


def keras_count(qualname: str, ex: Example) -> int:
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = H.resolve(qualname)(*H.to_keras(ex.init, False, rng), **H.to_keras(ex.init_kwargs, False, rng))
        layer(*[H.to_keras(a, False, rng) for a in ex.args], **{k: H.to_keras(v, False, rng) for k, v in ex.kwargs.items()})
    return int(layer.count_params())


def shapels_count(rule, qualname: str, ex: Example):
    init = rule.init_signature.bind([H.to_value(a) for a in ex.init], {k: H.to_value(v) for k, v in ex.init_kwargs.items()})
    call = RuleCall(qualname, init, rule.call_signature.bind([H.to_value(a) for a in ex.args], {}), Layer(qualname, init))
    return count(rule, call, Shape.of(ex.args[0].dims))


def test_the_layers_people_build_models_with_are_counted():
    names = {name.rsplit(".", 1)[-1] for name, _ in COUNTED}
    assert {"Dense", "Conv2D", "BatchNormalization", "LSTM", "GRU", "Embedding", "MaxPooling2D", "Flatten"} <= names


@pytest.mark.parametrize("name, rule, ex", [pytest.param(n, r, e, id=f"{n}[{i}]") for i, (n, r, e) in enumerate(CASES)])
def test_count_equals_kerass(name, rule, ex):
    assert shapels_count(rule, name, ex) == keras_count(name, ex)


_GENERATED = {
    "keras.layers.Dense": lambda d: Example((T(2, d.draw(st.integers(1, 9))),), {}, (d.draw(st.integers(1, 9)),),
                                            {"use_bias": d.draw(st.booleans())}),
    "keras.layers.Conv2D": lambda d: Example((T(1, 9, 9, 4),), {}, (d.draw(st.sampled_from([2, 4, 6])),
                                                                    d.draw(st.integers(1, 3))),
                                             {"groups": d.draw(st.sampled_from([1, 2])),
                                              "use_bias": d.draw(st.booleans())}),
    "keras.layers.SeparableConv2D": lambda d: Example((T(1, 8, 8, 3),), {}, (d.draw(st.integers(1, 5)), 3),
                                                      {"depth_multiplier": d.draw(st.integers(1, 3))}),
    "keras.layers.LSTM": lambda d: Example((T(2, 4, d.draw(st.integers(1, 6))),), {}, (d.draw(st.integers(1, 6)),), {}),
    "keras.layers.GRU": lambda d: Example((T(2, 4, d.draw(st.integers(1, 6))),), {}, (d.draw(st.integers(1, 6)),),
                                          {"reset_after": d.draw(st.booleans())}),
    "keras.layers.BatchNormalization": lambda d: Example((T(2, 3, d.draw(st.integers(1, 6))),), {}, (),
                                                         {"center": d.draw(st.booleans()), "scale": d.draw(st.booleans())}),
}


@pytest.mark.parametrize("name", sorted(_GENERATED))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_configurations(name, data):
    ex = _GENERATED[name](data)
    assert shapels_count(H.REGISTRY[name], name, ex) == keras_count(name, ex)
