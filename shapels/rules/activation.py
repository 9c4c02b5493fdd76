"""Shape-preserving modules and functions: activations, dropout, Identity, softmax; and the
elementwise ops that look shape-preserving but broadcast (masked_fill, clamp with tensor bounds)."""

from __future__ import annotations

from shapels.codes import BROADCAST_MISMATCH, CALL_MISMATCH, CONV_INPUT_RANK, DIM_OUT_OF_RANGE, NORM_NUM_FEATURES
from shapels.rules.base import RuleCall, Unknowable, layer_name
from shapels.rules.common import normalize_dim
from shapels.rules.elementwise import broadcast, broadcast_inplace
from shapels.rules.registry import T, ex, function, layer
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import Tensor

# No code in the catalogue names "an argument torch rejects"; call-mismatch is the nearest.
_BAD_ARGUMENT = CALL_MISMATCH

_PRESERVING_MODULES = [
    "ReLU", "ReLU6", "LeakyReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid",
    "Tanh", "Hardtanh", "Hardswish", "Hardsigmoid", "Hardshrink", "Softshrink", "Tanhshrink", "Softplus",
    "Softsign", "LogSigmoid", "Threshold", "Identity",
]

_PRESERVING_FUNCTIONS = [
    "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "sigmoid", "tanh", "hardtanh",
    "hardswish", "hardsigmoid", "softplus", "softsign", "logsigmoid", "relu_", "elu_", "leaky_relu_", "hardshrink",
    "tanhshrink", "threshold",
]

_TORCH_FUNCTIONS = ["relu", "sigmoid", "tanh", "relu_", "sigmoid_", "tanh_", "dropout", "selu", "celu", "exp", "log",
                    "abs", "sqrt", "rsqrt", "neg", "sin", "cos", "clone", "square", "erf", "sign",
                    "floor", "ceil", "round", "detach", "log1p", "expm1", "reciprocal", "nan_to_num",
                    *"isnan isinf isfinite isneginf isposinf isreal signbit logical_not".split()]

_TENSOR_METHODS = ["relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "contiguous", "clone", "detach", "float",
                   "double", "half", "bfloat16", "long", "int", "bool", "cpu", "cuda", "to", "type_as", "exp", "log",
                   "abs", "sqrt", "rsqrt", "neg", "sin", "cos", "square", "requires_grad_",
                   "zero_", "fill_", "normal_", "uniform_", "sign", "floor", "ceil", "round", "exp_", "erf", "log1p",
                   "expm1", "reciprocal", "pin_memory", "nan_to_num", "abs_", "sqrt_", "neg_", "detach_", "retain_grad",
                   *"isnan isinf isfinite isneginf isposinf isreal signbit logical_not".split()]


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


# -- dropout ---------------------------------------------------------------------------------
def _check_p(call: RuleCall) -> None:
    try:
        p = call.const("p")
    except Unknowable:
        return
    if isinstance(p, (int, float)) and not isinstance(p, bool) and not 0 <= p <= 1:
        call.fail(_BAD_ARGUMENT, f"{layer_name(call)}: dropout probability has to be between 0 and 1, but got {p}",
                  param="p")


def _dropout1d_rank(call: RuleCall, shape: Shape) -> None:
    if shape.ranked and shape.rank not in (2, 3):
        call.fail(CONV_INPUT_RANK, f"{layer_name(call)} expects a 2-D or 3-D input, got {shape.rank}-D {shape.show()}")


def _dropout_module(call: RuleCall):
    # Dropout2d/3d and FeatureAlphaDropout fail on inputs with too few dims only in training mode,
    # which the call does not show
    _check_p(call)
    return call.shape("input")


def _dropout1d_module(call: RuleCall):
    _check_p(call)
    shape = call.shape("input")
    _dropout1d_rank(call, shape)
    return shape


layer(
    "torch.nn.Dropout", "torch.nn.Dropout2d", "torch.nn.Dropout3d", "torch.nn.AlphaDropout",
    "torch.nn.FeatureAlphaDropout",
    init="p=0.5, inplace=False",
    preserves_shape=True,
    examples=[ex(T(2, 3, 4), out=(2, 3, 4)), ex(T(2, 3), init=(1.5,), error=CALL_MISMATCH)],
)(_dropout_module)

layer(
    "torch.nn.Dropout1d",
    init="p=0.5, inplace=False",
    preserves_shape=True,
    examples=[ex(T(2, 3, 4), out=(2, 3, 4)), ex(T(3, 4), out=(3, 4)), ex(T(2, 3, 4, 5), error=CONV_INPUT_RANK)],
)(_dropout1d_module)


def _f_dropout(min_rank: int = 0, one_d: bool = False):
    """F.dropout*: dropout1d takes only 2-D/3-D input; a feature dropout needs `min_rank` dims, but
    only when it drops (training, p > 0)."""

    def rule(call: RuleCall):
        _check_p(call)
        shape = call.shape("input")
        if one_d:
            _dropout1d_rank(call, shape)
        elif shape.ranked and shape.rank < min_rank:
            try:
                p, training = call.const("p"), call.known_flag("training")
            except Unknowable:
                return shape
            numel = D.as_int(D.dim_product(shape.dims))
            if training and isinstance(p, (int, float)) and p > 0 and numel is not None and numel > 0:
                call.fail(CONV_INPUT_RANK,
                          f"{layer_name(call)}: feature dropout needs at least 2 dims in the input, got {shape.show()}")
        return shape

    return rule


function(
    "torch.nn.functional.dropout", signature="input, p=0.5, training=True, inplace=False", preserves_shape=True,
    examples=[ex(T(2, 3), out=(2, 3)), ex(T(2, 3), 2.0, error=CALL_MISMATCH)],
)(_f_dropout())
function(
    "torch.nn.functional.alpha_dropout", signature="input, p=0.5, training=False, inplace=False", preserves_shape=True,
    examples=[ex(T(2, 3), out=(2, 3))],
)(_f_dropout())
function(
    "torch.nn.functional.dropout1d", signature="input, p=0.5, training=True, inplace=False", preserves_shape=True,
    examples=[ex(T(2, 3), out=(2, 3)), ex(T(3), error=CONV_INPUT_RANK)],
)(_f_dropout(one_d=True))
function(
    "torch.nn.functional.dropout2d", signature="input, p=0.5, training=True, inplace=False", preserves_shape=True,
    examples=[ex(T(2, 3), out=(2, 3)), ex(T(3), training=False, out=(3,)), ex(T(3), error=CONV_INPUT_RANK)],
)(_f_dropout(min_rank=2))
function(
    "torch.nn.functional.dropout3d", signature="input, p=0.5, training=True, inplace=False", preserves_shape=True,
    examples=[ex(T(3), out=(3,)), ex(T(), error=CONV_INPUT_RANK)],
)(_f_dropout(min_rank=1))  # a non-5-D input gets a batch dim first
function(
    "torch.nn.functional.feature_alpha_dropout", signature="input, p=0.5, training=False, inplace=False",
    preserves_shape=True,
    examples=[ex(T(3), out=(3,)), ex(T(3), training=True, error=CONV_INPUT_RANK)],
)(_f_dropout(min_rank=2))


# -- PReLU ---------------------------------------------------------------------------------
def _prelu(call: RuleCall, shape: Shape, count, param) -> Shape:
    """More than one parameter needs one per channel: input dim 1 (a 0-d input is refused, a 1-D
    input counts as one channel)."""
    if D.eq(count, 1) is True or not shape.ranked:
        return shape
    if shape.rank == 0:
        if D.eq(count, 1) is False:
            call.fail(NORM_NUM_FEATURES, f"{layer_name(call)}: {D.show(count)} parameters need an input with a "
                      f"channel dim, got a 0-d tensor", param=param)
        return shape
    channels = shape.dims[1] if shape.rank >= 2 else 1
    call.expect(
        channels,
        count,
        code=NORM_NUM_FEATURES,
        param=param,
        fix=channels,
        input_name="input",
        message=lambda: f"{layer_name(call)} has {D.show(count)} parameters, but its input {shape.show()} has "
                f"{D.show(channels)} channel{'s' if D.eq(channels, 1) is not True else ''}",
    )
    return shape


@layer(
    "torch.nn.PReLU",
    init="num_parameters=1, init=0.25, device=None, dtype=None",
    preserves_shape=True,
    examples=[
        ex(T(2, 3, 4), out=(2, 3, 4)),
        ex(T(2, 3, 4), init=(3,), out=(2, 3, 4)),
        ex(T(2, 5, 4), init=(3,), error=NORM_NUM_FEATURES),
    ],
)
def prelu(call: RuleCall):
    return _prelu(call, call.shape("input"), call.dim("num_parameters"), "num_parameters")


@function(
    "torch.nn.functional.prelu", "torch.prelu",
    signature="input, weight",
    preserves_shape=True,
    examples=[ex(T(2, 3), T(3), out=(2, 3)), ex(T(2, 3), T(1, 3), error=NORM_NUM_FEATURES)],
)
def f_prelu(call: RuleCall):
    shape, weight = call.shape("input"), call.shape("weight")
    if weight.ranked and weight.rank > 1:
        call.fail(NORM_NUM_FEATURES, f"prelu: the weight must be 0-d or 1-D, got {weight.show()}", input_name="weight")
    if not weight.ranked:
        return shape
    return _prelu(call, shape, D.dim_product(weight.dims), None)


# -- masked_fill, clamp: elementwise, so they broadcast ----------------------------------------
def _tensor_shape(call: RuleCall, name: str):
    v = call.value(name)
    return v.shape if isinstance(v, Tensor) else None


@function(
    "torch.Tensor.masked_fill", "torch.masked_fill",
    signature="input, mask, value",
    preserves_shape=True,
    examples=[ex(T(2, 3), T(3, dtype="bool"), 0.0, out=(2, 3)), ex(T(3), T(2, 3, dtype="bool"), 0.0, out=(2, 3))],
)
def masked_fill(call: RuleCall):
    shape, mask = call.shape("input"), _tensor_shape(call, "mask")
    return broadcast(call, shape, mask) if mask is not None else shape


@function(
    "torch.Tensor.masked_fill_",
    signature="input, mask, value",
    preserves_shape=True,
    examples=[ex(T(2, 3), T(3, dtype="bool"), 0.0, out=(2, 3)), ex(T(3), T(2, 3, dtype="bool"), 0.0, error=BROADCAST_MISMATCH)],
)
def masked_fill_(call: RuleCall):
    shape, mask = call.shape("input"), _tensor_shape(call, "mask")
    return broadcast_inplace(call, shape, mask, "masked_fill_") if mask is not None else shape


def _bounds(call: RuleCall):
    return [s for s in (_tensor_shape(call, "min"), _tensor_shape(call, "max")) if s is not None]


@function(
    "torch.clamp", "torch.clip", "torch.Tensor.clamp", "torch.Tensor.clip",
    signature="input, min=None, max=None, *, out=None",
    preserves_shape=True,
    examples=[ex(T(2, 3), 0.0, 1.0, out=(2, 3)), ex(T(3), T(2, 1), T(4, 1, 1), out=(4, 2, 3))],
)
def clamp(call: RuleCall):
    shape = call.shape("input")
    for bound in _bounds(call):
        shape = broadcast(call, shape, bound)
    return shape


@function(
    "torch.Tensor.clamp_", "torch.Tensor.clip_", "torch.clamp_", "torch.clip_",
    signature="input, min=None, max=None",
    preserves_shape=True,
    examples=[ex(T(2, 3), min=T(3), out=(2, 3)), ex(T(3), min=T(2, 3), error=BROADCAST_MISMATCH)],
)
def clamp_(call: RuleCall):
    shape = call.shape("input")
    for bound in _bounds(call):
        broadcast_inplace(call, shape, bound, "clamp_")
    return shape


@function(
    "torch.Tensor.bernoulli", "torch.bernoulli",
    signature="input, p=None, *, generator=None, out=None",
    preserves_shape=True,
    examples=[ex(T(2, 3), 0.5, out=(2, 3)), ex(T(4, 1), p=0.2, out=(4, 1))],
)
def bernoulli(call: RuleCall):
    return call.shape("input")


@function(
    "torch.Tensor.bernoulli_",
    signature="input, p=0.5, *, generator=None",
    preserves_shape=True,
    examples=[ex(T(2, 3), 0.9, out=(2, 3)), ex(T(2, 3), T(3, dtype="probability"), out=(2, 3)),
              ex(T(2, 3), T(5, dtype="probability"), error=BROADCAST_MISMATCH)],
)
def bernoulli_(call: RuleCall):
    """DropPath's `x.new_empty(shape).bernoulli_(keep_prob)`; a tensor p must broadcast to the input."""
    shape, p = call.shape("input"), _tensor_shape(call, "p")
    return broadcast_inplace(call, shape, p, "bernoulli_") if p is not None else shape


# -- softmax -----------------------------------------------------------------------------------
def _softmax(call: RuleCall):
    shape = call.shape("input")
    if not call.is_none("dim"):
        try:
            normalize_dim(call, call.dim("dim"), shape.rank)
        except Unknowable:
            pass  # an input of unknown rank: the dim cannot be checked, the shape is still kept
    return shape


layer(
    "torch.nn.Softmax", "torch.nn.LogSoftmax", "torch.nn.Softmin",
    init="dim=None",
    preserves_shape=True,
    examples=[ex(T(2, 5), init=(1,), out=(2, 5)), ex(T(2, 5), init=(2,), error=DIM_OUT_OF_RANGE)],
)(_softmax)
function(
    "torch.nn.functional.softmax", "torch.nn.functional.log_softmax", "torch.softmax", "torch.log_softmax",
    "torch.Tensor.softmax", "torch.Tensor.log_softmax", "torch.nn.functional.softmin",
    signature="input, dim=None, _stacklevel=3, dtype=None",
    preserves_shape=True,
    examples=[ex(T(2, 5), dim=-1, out=(2, 5)), ex(T(2, 5), 2, error=DIM_OUT_OF_RANGE)],
)(_softmax)
