"""How many weights each Keras layer builds from its first input: the "Param #" column of
`model.summary()`, which `shapels shapes` prints for Keras models. Each count is checked against
Keras's own `count_params()` (tests/rules/test_keras_weights.py).

A count is a function of the layer's constructor arguments and the shape of its input; `weights(...)`
puts it on the layer's registry entry (Rule.weights). Layers declared in NO_WEIGHTS build none; any
other layer's count is unknown.
"""

from __future__ import annotations

import math
from typing import Optional

from shapels.rules.base import RuleCall, Unknowable
from shapels.rules.keras_layers.spec import KERAS_LAYERS, data_format
from shapels.rules.registry import REGISTRY
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Seq


def weights(*names: str):
    def wrap(fn):
        for name in names:
            REGISTRY[KERAS_LAYERS + name].weights = fn
        return fn
    return wrap


def _int(call: RuleCall, name: str) -> int:
    value = D.as_int(call.dim_or_none(name))
    if value is None:
        raise Unknowable(name)
    return value


def _last(shape: Shape) -> int:
    value = D.as_int(shape.dim(-1)) if shape.ranked and shape.rank else None
    if value is None:
        raise Unknowable("inputs")
    return value


def _bias(call: RuleCall, size: int) -> int:
    return size if call.flag("use_bias") is not False else 0


def _kernel(call: RuleCall, n: int) -> int:
    return math.prod(D.as_int(d) or 0 for d in call.dims("kernel_size", n)) or _unknown("kernel_size")


def _unknown(name: str):
    raise Unknowable(name)


def _channels(call: RuleCall, shape: Shape) -> int:
    axis = -1 if data_format(call) == "channels_last" else 1
    value = D.as_int(shape.dim(axis)) if shape.ranked and shape.rank else None
    if value is None:
        raise Unknowable("inputs")
    return value


@weights("Dense")
def _dense(call: RuleCall, shape: Shape) -> int:
    units = _int(call, "units")
    return _last(shape) * units + _bias(call, units)


def _conv(n: int):
    def count(call: RuleCall, shape: Shape) -> int:
        filters, groups = _int(call, "filters"), _int(call, "groups")
        return _kernel(call, n) * _channels(call, shape) // groups * filters + _bias(call, filters)
    return count


def _transpose(n: int):
    def count(call: RuleCall, shape: Shape) -> int:
        filters = _int(call, "filters")
        return _kernel(call, n) * _channels(call, shape) * filters + _bias(call, filters)
    return count


def _depthwise(n: int):
    def count(call: RuleCall, shape: Shape) -> int:
        outputs = _channels(call, shape) * _int(call, "depth_multiplier")
        return _kernel(call, n) * outputs + _bias(call, outputs)
    return count


def _separable(n: int):
    def count(call: RuleCall, shape: Shape) -> int:
        filters = _int(call, "filters")
        depthwise = _channels(call, shape) * _int(call, "depth_multiplier")
        return _kernel(call, n) * depthwise + depthwise * filters + _bias(call, filters)
    return count


for _n in (1, 2, 3):
    weights(f"Conv{_n}D")(_conv(_n))
    weights(f"Conv{_n}DTranspose")(_transpose(_n))
weights("DepthwiseConv1D")(_depthwise(1))
weights("DepthwiseConv2D")(_depthwise(2))
weights("SeparableConv1D")(_separable(1))
weights("SeparableConv2D")(_separable(2))


def _affine(call: RuleCall) -> int:
    """gamma and beta, each where its flag keeps it."""
    return (call.flag("scale") is not False) + (call.flag("center") is not False)


def _axis_size(call: RuleCall, shape: Shape) -> int:
    """The number of positions along the normalized axis (axes: their product, LayerNormalization's list)."""
    value = call.value("axis")
    axes = [D.as_int(d) for d in (call.dims("axis") if isinstance(value, (Seq, ListValue)) else [call.dim("axis")])]
    sizes = [D.as_int(shape.dim(a)) if a is not None and shape.ranked and -shape.rank <= a < shape.rank else None
             for a in axes]
    if None in sizes:
        raise Unknowable("axis")
    return math.prod(sizes)


@weights("BatchNormalization")
def _batch_norm(call: RuleCall, shape: Shape) -> int:
    """gamma, beta, and the moving mean and variance (not trained, but counted)."""
    return (_affine(call) + 2) * _axis_size(call, shape)


@weights("LayerNormalization", "GroupNormalization")
def _norm(call: RuleCall, shape: Shape) -> int:
    return _affine(call) * _axis_size(call, shape)


@weights("Embedding")
def _embedding(call: RuleCall, shape: Shape) -> int:
    return _int(call, "input_dim") * _int(call, "output_dim")


def _recurrent(gates: int, biases: int):
    def count(call: RuleCall, shape: Shape) -> int:
        units = _int(call, "units")
        return gates * units * (_last(shape) + units) + (gates * units * biases if call.flag("use_bias") is not False else 0)
    return count


weights("SimpleRNN")(_recurrent(1, 1))
weights("LSTM")(_recurrent(4, 1))


@weights("GRU")
def _gru(call: RuleCall, shape: Shape) -> int:
    """reset_after=True (the default) keeps two biases per gate."""
    return _recurrent(3, 2 if call.flag("reset_after") is not False else 1)(call, shape)


# Layers that build no weights at all.
NO_WEIGHTS = [
    "Flatten", "Reshape", "Permute", "RepeatVector", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Identity",
    "GaussianNoise", "GaussianDropout", "Dropout", "AlphaDropout", "SpatialDropout1D", "SpatialDropout2D",
    "SpatialDropout3D", "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D",
    "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "Add", "Subtract", "Multiply", "Average", "Maximum",
    "Minimum", "Concatenate", "Dot",
    *[f"{kind}Pooling{n}D" for kind in ("Max", "Average") for n in (1, 2, 3)],
    *[f"Global{kind}Pooling{n}D" for kind in ("Max", "Average") for n in (1, 2, 3)],
]


def _none(call: RuleCall, shape: Shape) -> int:
    return 0


weights(*NO_WEIGHTS)(_none)


def count(rule, call: RuleCall, shape: Optional[Shape]) -> Optional[int]:
    """The layer's weight count for this input, or None where it is not known."""
    return rule.weight_count(call, shape) if rule is not None else None
