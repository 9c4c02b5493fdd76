"""MaxPooling1D/2D/3D, AveragePooling1D/2D/3D and the Global*Pooling layers: channels-last unless
data_format says otherwise; a pool larger than the input under padding='valid' is Keras's
"Computed output size would be zero or negative"."""

from __future__ import annotations

from shapels.codes import CONV_INPUT_RANK, POOL_OUTPUT_EMPTY
from shapels.rules.base import RuleCall, Unknowable, layer_name
from shapels.rules.keras_layers.spec import (check_rank, data_format, int_tuple, join_channels, keras_dim, keras_layer,
                                             keras_window,
                                             split_channels)
from shapels.rules.registry import T, ex
from shapels.symbolic import dims as D


def _pool(n: int, average: bool):
    def rule(call: RuleCall):
        fmt = data_format(call)
        pool = int_tuple(call, "pool_size", n)
        strides = pool if call.is_none("strides") else int_tuple(call, "strides", n, allow_zero=True)
        if any(D.as_int(s) == 0 for s in strides):
            raise Unknowable("strides")  # Keras divides by it: not a shape finding
        padding = call.const("padding")
        if padding not in ("valid", "same"):
            raise Unknowable("padding")  # Keras's symbolic and eager paths read other spellings differently
        shape = call.shape("inputs")
        if not shape.ranked:
            raise Unknowable("inputs")
        layout = "(batch, *spatial, channels)" if fmt == "channels_last" else "(batch, channels, *spatial)"
        check_rank(call, shape, ndim=n + 2, code=CONV_INPUT_RANK, needs=f"a {n}D pooling takes {layout}")
        batch, spatial, channels = split_channels(shape, n, fmt)
        out = []
        for size, k, s in zip(spatial, pool, strides):
            if padding == "valid":
                o = D.floordiv(size - k, s) + 1
                v = D.as_int(o)
                if v is not None and v <= 0:
                    call.fail(POOL_OUTPUT_EMPTY, f"{layer_name(call)}: its input {shape.show()} is smaller than the "
                              f"pool {D.show_tuple(pool)}; with padding='valid' the output would be empty",
                              input_name="inputs")
            else:
                o = D.floordiv(size - 1, s) + 1
            out.append(keras_dim(o))
        if average and n == 3 and padding == "same" and _eager_avg_pool3d_may_refuse(spatial, pool, strides):
            raise Unknowable("pool_size")
        return join_channels(batch, out, channels, fmt)

    return rule


def _eager_avg_pool3d_may_refuse(spatial, pool, strides) -> bool:
    """Keras's torch backend pads 'same' itself where the padding is lopsided, else passes it to
    torch's avg_pool3d, which refuses an unpadded input smaller than the pool; Keras's symbolic shape
    does not check that. Whether it may happen: no axis known lopsided, and an axis known too small."""
    small = False
    for size, k, s in zip(spatial, pool, strides):
        L, K, S = D.as_int(size), D.as_int(k), D.as_int(s)
        if L is None or K is None or S is None:
            continue
        total = K - 1 if S == 1 else max(0, ((L + S - 1) // S - 1) * S + K - L)
        if total % 2:
            return False  # lopsided: padded by hand, then pooled unpadded
        small = small or L < K
    return small


def _global(n: int):
    def rule(call: RuleCall):
        fmt = data_format(call)
        keepdims = call.known_flag("keepdims")
        shape = call.shape("inputs")
        if not shape.ranked:
            raise Unknowable("inputs")
        check_rank(call, shape, ndim=n + 2, code=CONV_INPUT_RANK,
                   needs=f"a global {n}D pooling takes (batch, {n} spatial axes, channels)")
        batch, spatial, channels = split_channels(shape, n, fmt)
        if keepdims:
            return join_channels(batch, [1] * n, channels, fmt)
        return join_channels(batch, [], channels, "channels_last")

    return rule


_POOL_EXAMPLES = {
    1: [
        ex(T(2, 11, 3), out=(2, 5, 3)),
        ex(T(2, 11, 3), init=(3,), init_kwargs={"strides": 2, "padding": "same"}, out=(2, 6, 3)),
        ex(T(2, 3, 11), init=(2,), init_kwargs={"data_format": "channels_first"}, out=(2, 3, 5)),
        ex(T(2, 1, 3), error=POOL_OUTPUT_EMPTY),
        ex(T(2, 11), error=CONV_INPUT_RANK),
    ],
    2: [
        ex(T(16, 26, 26, 32), init=((2, 2),), out=(16, 13, 13, 32)),
        ex(T(None, 7, 7, 8), init=(3,), init_kwargs={"strides": 2, "padding": "same"}, out=(None, 4, 4, 8)),
        ex(T(1, 9, 9, 3), init=(3,), init_kwargs={"strides": (2, 1)}, out=(1, 4, 7, 3)),
        ex(T(1, 3, 9, 9), init=(2,), init_kwargs={"data_format": "channels_first"}, out=(1, 3, 4, 4)),
        ex(T(1, 2, 2, 3), init=(4,), error=POOL_OUTPUT_EMPTY),
        ex(T(9, 9, 3), error=CONV_INPUT_RANK),
    ],
    3: [
        ex(T(1, 8, 8, 8, 2), init=(2,), out=(1, 4, 4, 4, 2)),
        ex(T(1, 5, 5, 5, 2), init=(2,), init_kwargs={"padding": "same"}, out=(1, 3, 3, 3, 2)),
        ex(T(1, 1, 8, 8, 2), init=(2,), error=POOL_OUTPUT_EMPTY),
    ],
}

for _n in (1, 2, 3):
    _default = "2" if _n == 1 else str((2,) * _n)
    keras_layer(f"MaxPooling{_n}D", f"MaxPool{_n}D",
                window=keras_window(_n, "pool"),
                init=f"pool_size={_default}, strides=None, padding='valid', data_format=None, name=None",
                examples=_POOL_EXAMPLES[_n])(_pool(_n, average=False))
    keras_layer(f"AveragePooling{_n}D", f"AvgPool{_n}D",
                window=keras_window(_n, "pool"),
                init="pool_size, strides=None, padding='valid', data_format=None, name=None",
                examples=[ex(e.args[0], init=e.init or (2,), init_kwargs=e.init_kwargs, out=e.out, error=e.error)
                          for e in _POOL_EXAMPLES[_n]])(_pool(_n, average=True))
    keras_layer(f"GlobalMaxPooling{_n}D", f"GlobalMaxPool{_n}D", init="data_format=None, keepdims=False",
                examples=[
                    ex(T(2, *([4] * _n), 3), out=(2, 3)),
                    ex(T(2, 3, *([4] * _n)), init=("channels_first", True), out=(2, 3, *([1] * _n))),
                    ex(T(2, *([4] * _n)), error=CONV_INPUT_RANK),
                ])(_global(_n))
    keras_layer(f"GlobalAveragePooling{_n}D", f"GlobalAvgPool{_n}D", init="data_format=None, keepdims=False",
                call="inputs, mask=None" if _n == 1 else "inputs",
                examples=[
                    ex(T(None, *([4] * _n), 3), out=(None, 3)),
                    ex(T(2, *([4] * _n), 3), init_kwargs={"keepdims": True}, out=(2, *([1] * _n), 3)),
                    ex(T(2, 3, *([4] * _n), 5), error=CONV_INPUT_RANK),
                ])(_global(_n))
