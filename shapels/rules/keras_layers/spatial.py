"""UpSampling1D/2D/3D, ZeroPadding1D/2D/3D and Cropping1D/2D/3D: each changes the size of the spatial
axes by a fixed amount (channels-last unless data_format says otherwise; the 1D layers UpSampling1D and
Cropping1D always work on axis 1). Keras rejects a crop that leaves nothing."""

from __future__ import annotations

from shapels.codes import OP_INPUT_SHAPE
from shapels.rules.base import RuleCall, Unknowable, layer_name, to_dim
from shapels.rules.keras_layers.spec import (BAD_ARGUMENT, check_rank, data_format, int_tuple, join_channels,
                                             keras_dim, keras_layer, split_channels)
from shapels.rules.registry import T, ex
from shapels.symbolic import dims as D
from shapels.values import ListValue, Seq


def _input(call: RuleCall, n: int, fmt: str):
    shape = call.shape("inputs")
    if not shape.ranked:
        raise Unknowable("inputs")
    layout = "(batch, *spatial, channels)" if fmt == "channels_last" else "(batch, channels, *spatial)"
    check_rank(call, shape, ndim=n + 2, code=OP_INPUT_SHAPE, needs=f"{layer_name(call)} takes {layout}")
    return shape, *split_channels(shape, n, fmt)


def _pairs(call: RuleCall, name: str, n: int, *, negative_int_error: bool) -> list:
    """ZeroPadding2D/3D's and Cropping2D/3D's argument as n (before, after) pairs: an int for all,
    or n entries, each an int or a pair."""
    value = call.value(name)
    single = to_dim(value)
    if single is not None:
        v = D.as_int(single)
        if v is not None and v < 0:
            if negative_int_error:
                call.fail(BAD_ARGUMENT, f"{layer_name(call)}: {name} cannot be negative, got {v}", param=name)
            raise Unknowable(name)  # a negative padding crops (torch's pad): not modelled
        return [(single, single)] * n
    if not isinstance(value, (Seq, ListValue)):
        raise Unknowable(name)
    if len(value.items) != n:
        call.fail(BAD_ARGUMENT, f"{layer_name(call)}: {name} must have {n} entries, got {len(value.items)}", param=name)
    pairs = []
    for item in value.items:
        pairs.append(_pair(call, name, item))
    return pairs


def _pair(call: RuleCall, name: str, item) -> tuple:
    single = to_dim(item)
    items = [single, single] if single is not None else (list(item.items) if isinstance(item, (Seq, ListValue)) else None)
    if items is None:
        raise Unknowable(name)
    if len(items) != 2:
        call.fail(BAD_ARGUMENT, f"{layer_name(call)}: each entry of {name} must be an int or a pair, got "
                  f"{len(items)} values", param=name)
    dims = [i if single is not None else to_dim(i) for i in items]
    if any(d is None for d in dims):
        raise Unknowable(name)
    for d in dims:
        if D.as_int(d) is not None and D.as_int(d) < 0:
            call.fail(BAD_ARGUMENT, f"{layer_name(call)}: {name} values must be >= 0, got {D.show(d)}", param=name)
    return tuple(dims)


def _upsampling(n: int):
    def rule(call: RuleCall):
        fmt = "channels_last" if n == 1 else data_format(call)
        size = int_tuple(call, "size", n)
        shape, batch, spatial, channels = _input(call, n, fmt)
        return join_channels(batch, [keras_dim(s * k) for s, k in zip(spatial, size)], channels, fmt)

    return rule


def _zero_padding(n: int):
    def rule(call: RuleCall):
        fmt = data_format(call)
        if n == 1:
            pads = [int_tuple(call, "padding", 2, allow_zero=True)]
        else:
            pads = _pairs(call, "padding", n, negative_int_error=False)
        shape, batch, spatial, channels = _input(call, n, fmt)
        return join_channels(batch, [keras_dim(s + a + b) for s, (a, b) in zip(spatial, pads)], channels, fmt)

    return rule


def _cropping(n: int):
    def rule(call: RuleCall):
        fmt = "channels_last" if n == 1 else data_format(call)
        if n == 1:
            crops = [int_tuple(call, "cropping", 2, allow_zero=True)]
        else:
            crops = _pairs(call, "cropping", n, negative_int_error=True)
        shape, batch, spatial, channels = _input(call, n, fmt)
        out = []
        for size, (a, b) in zip(spatial, crops):
            left = size - a - b
            v = D.as_int(left)
            if v is not None and v <= 0:
                call.fail(OP_INPUT_SHAPE, f"{layer_name(call)}: cropping {D.show(a)} + {D.show(b)} leaves nothing of "
                          f"its input {shape.show()}", param="cropping", input_name="inputs")
            out.append(keras_dim(left))
        return join_channels(batch, out, channels, fmt)

    return rule


keras_layer("UpSampling1D", init="size=2", examples=[
    ex(T(2, 5, 3), out=(2, 10, 3)),
    ex(T(None, None, 3), init=(3,), out=(None, None, 3)),
    ex(T(2, 5, 3), init=(0,), error=BAD_ARGUMENT),
    ex(T(2, 5), error=OP_INPUT_SHAPE),
])(_upsampling(1))
keras_layer("UpSampling2D", init="size=(2, 2), data_format=None, interpolation='nearest'", examples=[
    ex(T(2, 5, 4, 3), out=(2, 10, 8, 3)),
    ex(T(2, 3, 5, 4), init=((2, 3), "channels_first", "bilinear"), out=(2, 3, 10, 12)),
    ex(T(2, 5, 4), error=OP_INPUT_SHAPE),
])(_upsampling(2))
keras_layer("UpSampling3D", init="size=(2, 2, 2), data_format=None", examples=[
    ex(T(1, 2, 3, 4, 5), init=((1, 2, 3),), out=(1, 2, 6, 12, 5)),
])(_upsampling(3))
keras_layer("ZeroPadding1D", init="padding=1, data_format=None", examples=[
    ex(T(2, 5, 3), out=(2, 7, 3)),
    ex(T(2, 5, 3), init=((1, 4),), out=(2, 10, 3)),
    ex(T(2, 3, 5), init=(2, "channels_first"), out=(2, 3, 9)),
    ex(T(2, 5, 3), init=(-1,), error=BAD_ARGUMENT),
])(_zero_padding(1))
keras_layer("ZeroPadding2D", init="padding=(1, 1), data_format=None", examples=[
    ex(T(2, 5, 4, 3), out=(2, 7, 6, 3)),
    ex(T(2, 5, 4, 3), init=(((1, 0), (2, 3)),), out=(2, 6, 9, 3)),
    ex(T(2, 3, 5, 4), init=(3, "channels_first"), out=(2, 3, 11, 10)),
    ex(T(2, 5, 4, 3), init=((1, 2, 3),), error=BAD_ARGUMENT),
    ex(T(5, 4, 3), error=OP_INPUT_SHAPE),
])(_zero_padding(2))
keras_layer("ZeroPadding3D", init="padding=((1, 1), (1, 1), (1, 1)), data_format=None", examples=[
    ex(T(1, 2, 3, 4, 5), out=(1, 4, 5, 6, 5)),
    ex(T(1, 2, 3, 4, 5), init=((1, (0, 2), 3),), out=(1, 4, 5, 10, 5)),
])(_zero_padding(3))
keras_layer("Cropping1D", init="cropping=(1, 1)", examples=[
    ex(T(2, 10, 3), out=(2, 8, 3)),
    ex(T(2, 10, 3), init=((0, 4),), out=(2, 6, 3)),
    ex(T(2, 4, 3), init=((2, 2),), error=OP_INPUT_SHAPE),
])(_cropping(1))
keras_layer("Cropping2D", init="cropping=((0, 0), (0, 0)), data_format=None", examples=[
    ex(T(2, 28, 28, 3), init=(((2, 2), (4, 4)),), out=(2, 24, 20, 3)),
    ex(T(2, 3, 10, 10), init=(1, "channels_first"), out=(2, 3, 8, 8)),
    ex(T(None, None, 10, 3), init=((1, 2),), out=(None, None, 6, 3)),
    ex(T(2, 4, 4, 3), init=(2,), error=OP_INPUT_SHAPE),
    ex(T(2, 4, 4, 3), init=(-1,), error=BAD_ARGUMENT),
])(_cropping(2))
keras_layer("Cropping3D", init="cropping=((1, 1), (1, 1), (1, 1)), data_format=None", examples=[
    ex(T(1, 4, 5, 6, 2), out=(1, 2, 3, 4, 2)),
    ex(T(1, 2, 5, 6, 2), error=OP_INPUT_SHAPE),
])(_cropping(3))
