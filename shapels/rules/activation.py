"""Shape-preserving modules and functions: activations, dropout, Identity, softmax."""

from __future__ import annotations

from shapels.rules.base import RuleCall
from shapels.rules.common import normalize_dim
from shapels.rules.registry import T, ex, function, layer

_PRESERVING_MODULES = [
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid",
    "Tanh", "Hardtanh", "Hardswish", "Hardsigmoid", "Hardshrink", "Softshrink", "Tanhshrink", "Softplus",
    "Softsign", "LogSigmoid", "Threshold", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
    "FeatureAlphaDropout", "Identity",
]

_PRESERVING_FUNCTIONS = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "sigmoid", "tanh", "hardtanh",
    "hardswish", "hardsigmoid", "softplus", "softsign", "logsigmoid", "dropout", "dropout1d", "dropout2d",
    "dropout3d", "alpha_dropout", "relu_", "elu_", "leaky_relu_", "hardshrink", "tanhshrink", "threshold",
]

_TORCH_FUNCTIONS = ["relu", "sigmoid", "tanh", "relu_", "sigmoid_", "tanh_", "dropout", "selu", "celu", "exp", "log",
                    "abs", "sqrt", "rsqrt", "neg", "sin", "cos", "clone", "clamp", "clip", "square", "erf", "sign",
                    "floor", "ceil", "round", "detach", "log1p", "expm1", "reciprocal", "nan_to_num"]

_TENSOR_METHODS = ["relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "contiguous", "clone", "detach", "float",
                   "double", "half", "bfloat16", "long", "int", "bool", "cpu", "cuda", "to", "type_as", "exp", "log",
                   "abs", "sqrt", "rsqrt", "neg", "sin", "cos", "clamp", "clamp_", "clip", "square", "requires_grad_",
                   "zero_", "fill_", "normal_", "uniform_", "sign", "floor", "ceil", "round", "exp_", "masked_fill", "masked_fill_", "erf", "log1p", "expm1", "reciprocal", "pin_memory",
                   "nan_to_num", "abs_", "sqrt_", "neg_", "detach_", "retain_grad"]


def _same(call: RuleCall):
    return call.shape("input")


layer(
    *[f"torch.nn.{name}" for name in _PRESERVING_MODULES],
    init="*args, **kwargs",
    preserves_shape=True,
    examples=[ex(T(2, 3, 4), out=(2, 3, 4))],
)(_same)

function(
    *[f"torch.nn.functional.{name}" for name in _PRESERVING_FUNCTIONS],
    *[f"torch.{name}" for name in _TORCH_FUNCTIONS],
    signature="input, *args, **kwargs",
    preserves_shape=True,
    examples=[ex(T(2, 3), out=(2, 3))],
)(_same)

function(
    *[f"torch.Tensor.{name}" for name in _TENSOR_METHODS],
    signature="input, *args, **kwargs",
    preserves_shape=True,
    examples=[ex(T(4, 1), out=(4, 1))],
)(_same)


def _softmax(call: RuleCall):
    shape = call.shape("input")
    if not call.is_none("dim"):
        normalize_dim(call, call.dim("dim"), shape.rank)
    return shape


layer(
    "torch.nn.Softmax", "torch.nn.LogSoftmax", "torch.nn.Softmin",
    init="dim=None",
    preserves_shape=True,
    examples=[ex(T(2, 5), init=(1,), out=(2, 5)), ex(T(2, 5), init=(2,), error="dim-out-of-range")],
)(_softmax)
function(
    "torch.nn.functional.softmax", "torch.nn.functional.log_softmax", "torch.softmax", "torch.log_softmax",
    "torch.Tensor.softmax", "torch.Tensor.log_softmax", "torch.nn.functional.softmin",
    signature="input, dim=None, _stacklevel=3, dtype=None",
    preserves_shape=True,
    examples=[ex(T(2, 5), dim=-1, out=(2, 5))],
)(_softmax)
