"""Conv1D/2D/3D, SeparableConv1D/2D, DepthwiseConv1D/2D, Conv1D/2D/3DTranspose and ConvLSTM2D:
(batch, *spatial, channels) -> (batch, *spatial', filters), channels-last unless data_format says
otherwise. Keras builds the kernel from the input's channels, so there is no in_channels to get wrong;
what can be wrong is the rank, the groups against the channels, and a kernel larger than the input.
Arguments Keras rejects in the constructor (filters or groups < 1, a stride with a dilation) are
reported when the layer is called, blamed on the argument.
"""

from __future__ import annotations

from shapels.codes import CONV_INPUT_RANK, CONV_IN_CHANNELS, CONV_KERNEL_TOO_LARGE, UNDEFINED_DIM
from shapels.rules.base import RuleCall, Unknowable, layer_name
from shapels.rules.keras_layers.spec import (BAD_ARGUMENT, channels_built, check_rank, data_format, int_tuple, join_channels,
                                             is_none_dim, keras_dim, keras_layer, keras_window, none_dim, padding_mode,
                                             positive_int, require_defined, split_channels)
from shapels.rules.registry import T, ex
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape

_COMMON = ("activation=None, use_bias=True, kernel_initializer='glorot_uniform', bias_initializer='zeros', "
           "kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, "
           "bias_constraint=None")
_CONV_INIT = ("filters, kernel_size, strides=1, padding='valid', data_format=None, dilation_rate=1, groups=1, "
              + _COMMON)
_TRANSPOSE_INIT = ("filters, kernel_size, strides=1, padding='valid', output_padding=None, data_format=None, "
                   "dilation_rate=1, " + _COMMON)
_TRANSPOSE3D_INIT = ("filters, kernel_size, strides=1, padding='valid', data_format=None, output_padding=None, "
                     "dilation_rate=1, " + _COMMON)
_SEPARABLE_INIT = ("filters, kernel_size, strides=1, padding='valid', data_format=None, dilation_rate=1, "
                   "depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer='glorot_uniform', "
                   "pointwise_initializer='glorot_uniform', bias_initializer='zeros', depthwise_regularizer=None, "
                   "pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None, "
                   "depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None")
_DEPTHWISE_INIT = ("kernel_size, strides=1, padding='valid', depth_multiplier=1, data_format=None, dilation_rate=1, "
                   "activation=None, use_bias=True, depthwise_initializer='glorot_uniform', bias_initializer='zeros', "
                   "depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None, "
                   "depthwise_constraint=None, bias_constraint=None")


def _check_stride_with_dilation(call: RuleCall, strides, dilation) -> None:
    if any(D.as_int(s) is not None and D.as_int(s) > 1 for s in strides) and \
            any(D.as_int(d) is not None and D.as_int(d) > 1 for d in dilation):
        call.fail(BAD_ARGUMENT, f"{layer_name(call)}: Keras does not support strides > 1 together with "
                  f"dilation_rate > 1", param="dilation_rate")


def _input(call: RuleCall, n: int, fmt: str):
    shape = call.shape("inputs")
    if not shape.ranked:
        raise Unknowable("inputs")
    layout = "(batch, *spatial, channels)" if fmt == "channels_last" else "(batch, channels, *spatial)"
    check_rank(call, shape, ndim=n + 2, code=CONV_INPUT_RANK,
               needs=f"a {n}D convolution takes {layout}, here with {n} spatial axes")
    require_defined(call, shape, -1 if fmt == "channels_last" else 1, "its kernel")
    return shape, *split_channels(shape, n, fmt)


def conv_spatial(call: RuleCall, shape, spatial, kernel, strides, dilation, padding: str) -> list:
    """Keras's compute_conv_output_shape for the spatial axes; a kernel larger than the input under
    padding='valid' is Keras's "Computed output size would be zero or negative"."""
    out = []
    for size, k, s, d in zip(spatial, kernel, strides, dilation):
        if is_none_dim(size):
            # Keras's None in, None out. With stride 1 the size is the input's, less the window under 'valid':
            # kept as that expression, so the data's size takes the None's place when the model runs on it
            # (a floordiv would make it an unknown size instead)
            stride = D.as_int(s)
            out.append((size if padding != "valid" else size - d * (k - 1)) if stride == 1 else none_dim())
            continue
        if padding == "valid":
            o = D.floordiv(size - d * (k - 1) - 1, s) + 1
            v = D.as_int(o)
            if v is not None and v <= 0:
                call.fail(CONV_KERNEL_TOO_LARGE, f"{layer_name(call)}: its input {shape.show()} is smaller than the "
                          f"kernel {D.show_tuple(kernel)} (dilated by "
                          f"{D.show_tuple(dilation)}); with padding='valid' the output would be empty")
        else:  # same, causal
            o = D.floordiv(size - 1, s) + 1
        out.append(keras_dim(o))
    return out


def _window(call: RuleCall, n: int, allow_causal: bool = False) -> tuple:
    """(data_format, kernel_size, strides, dilation_rate, padding) of an n-D convolution, read in this order."""
    return (data_format(call), int_tuple(call, "kernel_size", n), int_tuple(call, "strides", n),
            int_tuple(call, "dilation_rate", n), padding_mode(call, allow_causal=allow_causal))


def _conv(n: int):
    def rule(call: RuleCall):
        fmt, kernel, strides, dilation, padding = _window(call, n, allow_causal=n == 1)
        filters = positive_int(call, "filters")
        groups = positive_int(call, "groups")
        name = layer_name(call)
        if D.divides(groups, filters) is False:
            call.fail(BAD_ARGUMENT, f"{name}: filters={D.show(filters)} is not divisible by groups={D.show(groups)}",
                      param="groups")
        _check_stride_with_dilation(call, strides, dilation)
        shape, batch, spatial, channels = _input(call, n, fmt)
        if D.divides(groups, channels) is False:
            call.fail(CONV_IN_CHANNELS, f"{name}: its input {shape.show()} has {D.show(channels)} channels, which "
                      f"groups={D.show(groups)} does not divide", param="groups", input_name="inputs")
        return join_channels(batch, conv_spatial(call, shape, spatial, kernel, strides, dilation, padding), filters, fmt)

    return rule


def _separable(n: int, depthwise: bool):
    def rule(call: RuleCall):
        fmt, kernel, strides, dilation, padding = _window(call, n)
        multiplier = positive_int(call, "depth_multiplier")
        filters = None if depthwise else positive_int(call, "filters")
        shape, batch, spatial, channels = _input(call, n, fmt)
        out_channels = keras_dim(channels * multiplier) if depthwise else filters
        return join_channels(batch, conv_spatial(call, shape, spatial, kernel, strides, dilation, padding),
                             out_channels, fmt)

    return rule


def _transpose_size(size, k, s, d, padding: str, output_padding):
    """Keras's _get_output_shape_given_tf_padding."""
    effective = (k - 1) * d + 1
    if padding == "valid":
        if output_padding is None:
            ke, se = D.as_int(effective), D.as_int(s)
            if ke is None or se is None:
                raise Unknowable("kernel_size")
            return (size - 1) * s + max(ke, se)
        return (size - 1) * s + effective + output_padding
    if output_padding is None:
        return size * s
    ke = D.as_int(effective)
    if ke is None:
        raise Unknowable("kernel_size")
    return (size - 1) * s + ke % 2 + output_padding


def _transpose(n: int):
    def rule(call: RuleCall):
        fmt, kernel, strides, dilation, padding = _window(call, n)
        filters = positive_int(call, "filters")
        output_padding = None if call.is_none("output_padding") else int_tuple(call, "output_padding", n,
                                                                                allow_zero=True)
        name = layer_name(call)
        for op, s in zip(output_padding or (), strides):
            if D.as_int(op) is not None and D.as_int(s) is not None and D.as_int(op) >= D.as_int(s):
                call.fail(BAD_ARGUMENT, f"{name}: output_padding {D.show(op)} must be smaller than the stride "
                          f"{D.show(s)}", param="output_padding")
        _check_stride_with_dilation(call, strides, dilation)
        shape, batch, spatial, channels = _input(call, n, fmt)
        out = [keras_dim(_transpose_size(spatial[i], kernel[i], strides[i], dilation[i], padding,
                                         None if output_padding is None else output_padding[i])) for i in range(n)]
        return join_channels(batch, out, filters, fmt)

    return rule


keras_layer(
    "Conv1D", "Convolution1D",
    window=keras_window(1),
    init=_CONV_INIT,
    builds=channels_built,
    input_spec=True,
    makes_width="filters",  # the channels-last output's last axis
    examples=[
        ex(T(2, 50, 4), init=(8, 5), init_kwargs={"strides": 2}, out=(2, 23, 8)),
        ex(T(None, 50, 4), init=(8, 3), init_kwargs={"padding": "causal", "dilation_rate": 2}, out=(None, 50, 8)),
        ex(T(2, 4, 50), init=(8, 3), init_kwargs={"data_format": "channels_first", "padding": "same"}, out=(2, 8, 50)),
        ex(T(2, 6, 4), init=(6, 3), init_kwargs={"groups": 2}, out=(2, 4, 6)),
        ex(T(2, 6, 3), init=(6, 3), init_kwargs={"groups": 2}, error=CONV_IN_CHANNELS),
        ex(T(2, 3, 4), init=(8, 5), error=CONV_KERNEL_TOO_LARGE),
        ex(T(50, 4), init=(8, 3), error=CONV_INPUT_RANK),
        ex(T(2, 50, 4), init=(8, 3), init_kwargs={"strides": 2, "dilation_rate": 2}, error=BAD_ARGUMENT),
    ],
)(_conv(1))
keras_layer(
    "Conv2D", "Convolution2D",
    window=keras_window(2),
    init=_CONV_INIT,
    builds=channels_built,
    input_spec=True,
    makes_width="filters",  # the channels-last output's last axis
    examples=[
        ex(T(16, 28, 28, 1), init=(32, (3, 3)), init_kwargs={"activation": "relu"}, out=(16, 26, 26, 32)),
        ex(T(None, 28, 28, 1), init=(32, 3), init_kwargs={"padding": "same", "strides": 2}, out=(None, 14, 14, 32)),
        ex(T(2, 3, 9, 7), init=(4, (3, 2)), init_kwargs={"data_format": "channels_first", "strides": (2, 1)},
           out=(2, 4, 4, 6)),
        ex(T(1, 9, 9, 2), init=(4, 3), init_kwargs={"dilation_rate": 2}, out=(1, 5, 5, 4)),
        ex(T(1, None, 9, 2), init=(4, 3), out=(1, None, 7, 4)),
        ex(T(1, 4, 4, 3), init=(8, 7), error=CONV_KERNEL_TOO_LARGE),
        ex(T(28, 28, 1), init=(8, 3), error=CONV_INPUT_RANK),
        ex(T(1, 2, 28, 28, 1), init=(8, 3), error=CONV_INPUT_RANK),
        ex(T(1, 9, 9, 2), init=(6, 3), init_kwargs={"groups": 4}, error=BAD_ARGUMENT),
        ex(T(1, 9, 9, 2), init=(8, 3), init_kwargs={"padding": "full"}, error=BAD_ARGUMENT),
        ex(T(None, 9, 9, None), init=(8, 3), error=UNDEFINED_DIM),
    ],
)(_conv(2))
keras_layer(
    "Conv3D", "Convolution3D",
    window=keras_window(3),
    init=_CONV_INIT,
    builds=channels_built,
    input_spec=True,
    makes_width="filters",  # the channels-last output's last axis
    examples=[
        ex(T(1, 8, 16, 16, 2), init=(4, 3), init_kwargs={"strides": 2, "padding": "same"}, out=(1, 4, 8, 8, 4)),
        ex(T(1, 2, 8, 8, 8), init=(4, 3), init_kwargs={"data_format": "channels_first"}, out=(1, 4, 6, 6, 6)),
        ex(T(1, None, 8, 8, 2), init=(4, 3), init_kwargs={"padding": "same"}, out=(1, None, 8, 8, 4)),
        ex(T(1, 2, 8, 8, 3), init=(4, 3), error=CONV_KERNEL_TOO_LARGE),
    ],
)(_conv(3))
keras_layer(
    "SeparableConv1D", "SeparableConvolution1D",
    window=keras_window(1),
    init=_SEPARABLE_INIT,
    builds=channels_built,
    input_spec=True,
    makes_width="filters",  # the channels-last output's last axis
    examples=[
        ex(T(2, 20, 3), init=(8, 3), init_kwargs={"depth_multiplier": 2}, out=(2, 18, 8)),
        ex(T(2, 2, 3), init=(8, 3), error=CONV_KERNEL_TOO_LARGE),
    ],
)(_separable(1, depthwise=False))
keras_layer(
    "SeparableConv2D", "SeparableConvolution2D",
    window=keras_window(2),
    init=_SEPARABLE_INIT,
    builds=channels_built,
    input_spec=True,
    makes_width="filters",  # the channels-last output's last axis
    examples=[
        ex(T(2, 10, 10, 3), init=(8, 3), init_kwargs={"padding": "same", "strides": 2}, out=(2, 5, 5, 8)),
        ex(T(10, 10, 3), init=(8, 3), error=CONV_INPUT_RANK),
    ],
)(_separable(2, depthwise=False))
keras_layer(
    "DepthwiseConv1D",
    window=keras_window(1),
    init=_DEPTHWISE_INIT,
    builds=channels_built,
    input_spec=True,
    examples=[ex(T(2, 20, 3), init=(3,), init_kwargs={"depth_multiplier": 2}, out=(2, 18, 6))],
)(_separable(1, depthwise=True))
keras_layer(
    "DepthwiseConv2D",
    window=keras_window(2),
    init=_DEPTHWISE_INIT,
    builds=channels_built,
    input_spec=True,
    examples=[
        ex(T(2, 10, 10, 3), init=(3,), out=(2, 8, 8, 3)),
        ex(T(2, 3, 10, 10), init=(3,), init_kwargs={"depth_multiplier": 4, "data_format": "channels_first",
                                                     "strides": 2, "padding": "same"}, out=(2, 12, 5, 5)),
        ex(T(2, 2, 2, 3), init=(3,), error=CONV_KERNEL_TOO_LARGE),
    ],
)(_separable(2, depthwise=True))
keras_layer(
    "Conv1DTranspose", "Convolution1DTranspose",
    window=keras_window(1, "transposed"),
    init=_TRANSPOSE_INIT,
    builds=channels_built,
    input_spec=True,
    makes_width="filters",  # the channels-last output's last axis
    examples=[
        ex(T(2, 10, 4), init=(2, 3), init_kwargs={"strides": 2}, out=(2, 21, 2)),
        ex(T(2, 10, 4), init=(2, 3), init_kwargs={"strides": 2, "padding": "same"}, out=(2, 20, 2)),
        ex(T(2, 10, 4), init=(2, 3), init_kwargs={"strides": 2, "output_padding": 2}, error=BAD_ARGUMENT),
    ],
)(_transpose(1))
keras_layer(
    "Conv2DTranspose", "Convolution2DTranspose",
    window=keras_window(2, "transposed"),
    init=_TRANSPOSE_INIT,
    builds=channels_built,
    input_spec=True,
    makes_width="filters",  # the channels-last output's last axis
    examples=[
        ex(T(1, 8, 8, 16), init=(8, 4), init_kwargs={"strides": 2, "padding": "same"}, out=(1, 16, 16, 8)),
        ex(T(None, 7, 7, 16), init=(8, 3), init_kwargs={"strides": 2}, out=(None, 15, 15, 8)),
        ex(T(1, 7, 7, 16), init=(8, 3), init_kwargs={"strides": 2, "output_padding": 1}, out=(1, 16, 16, 8)),
        ex(T(1, 16, 7, 7), init=(8, 2), init_kwargs={"strides": 3, "data_format": "channels_first"}, out=(1, 8, 21, 21)),
        ex(T(7, 7, 16), init=(8, 3), error=CONV_INPUT_RANK),
    ],
)(_transpose(2))
keras_layer(
    "Conv3DTranspose", "Convolution3DTranspose",
    window=keras_window(3, "transposed"),
    init=_TRANSPOSE3D_INIT,
    builds=channels_built,
    input_spec=True,
    makes_width="filters",  # the channels-last output's last axis
    examples=[ex(T(1, 3, 5, 5, 4), init=(2, 2), init_kwargs={"strides": 2}, out=(1, 6, 10, 10, 2))],
)(_transpose(3))


def _conv_lstm(call: RuleCall):
    """ConvLSTM2D: a 2-D convolution of each step of (batch, time, rows, cols, channels) (channels-last), the
    step's output (batch, rows', cols', filters), every step's with return_sequences; return_state adds the
    two states, each one step's output."""
    fmt, kernel, strides, dilation, padding = _window(call, 2)
    filters = positive_int(call, "filters")
    shape = call.shape("sequences")
    if not shape.ranked:
        raise Unknowable("sequences")
    check_rank(call, shape, ndim=5, code=CONV_INPUT_RANK,
               needs=f"{layer_name(call)} takes (batch, time, rows, cols, channels)")
    batch, time, *frame = shape.dims
    step_in = Shape.of([batch, *frame])
    require_defined(call, step_in, -1 if fmt == "channels_last" else 1, "its kernel", input_name="sequences")
    _, spatial, _ = split_channels(step_in, 2, fmt)
    step = join_channels(batch, conv_spatial(call, shape, spatial, kernel, strides, dilation, padding), filters, fmt)
    out = Shape.of([batch, time, *step.dims[1:]]) if call.known_flag("return_sequences") else step
    return (out, step, step) if call.known_flag("return_state") else out


keras_layer(
    "ConvLSTM2D",
    window=keras_window(2, "steps"),
    init="filters, kernel_size, strides=1, padding='valid', data_format=None, dilation_rate=1, activation='tanh', "
         "recurrent_activation='sigmoid', use_bias=True, kernel_initializer='glorot_uniform', "
         "recurrent_initializer='orthogonal', bias_initializer='zeros', unit_forget_bias=True, kernel_regularizer=None, "
         "recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, "
         "recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, "
         "return_sequences=False, return_state=False, go_backwards=False, stateful=False",
    call="sequences, initial_state=None, mask=None, training=False",
    examples=[
        ex(T(1, 19, 64, 64, 1), init=(8, (5, 5)), init_kwargs={"padding": "same", "return_sequences": True},
           out=(1, 19, 64, 64, 8)),
        ex(T(2, 5, 9, 9, 3), init=(4, 3), init_kwargs={"strides": 2}, out=(2, 4, 4, 4)),
        ex(T(None, None, 16, 16, 1), init=(4, 3), init_kwargs={"return_sequences": True}, out=(None, None, 14, 14, 4)),
        ex(T(2, 5, 9, 9, 3), init=(4, 3), init_kwargs={"return_state": True}, out=((2, 7, 7, 4), (2, 7, 7, 4), (2, 7, 7, 4))),
        ex(T(2, 9, 9, 3), init=(4, 3), error=CONV_INPUT_RANK),
    ],
)(_conv_lstm)
