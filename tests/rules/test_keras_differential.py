"""Differential tests: the main Keras rule families against real Keras 3 (torch backend, CPU) on
random small configurations: Dense, the convolutions, the poolings, Reshape and the merges.

Keras runs each configuration eagerly (arrays) and symbolically (KerasTensors), or symbolically only
when an input dim is None; the rule must give each one's outcome: the same output shape (None where
Keras has None) or a ShapeError where Keras raises (tests/rules/_keras_harness.py).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _keras_harness as H  # noqa: E402  (tests/rules is on sys.path: pytest's rootdir import mode)
from shapels.rules.keras_layers.spec import KerasLayer

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
T = H.T
check = H.differential

# SHAPELS_DIFF_EXAMPLES=2000 for a deeper run
EXAMPLES = int(os.environ.get("SHAPELS_DIFF_EXAMPLES", "40"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

size = st.integers(1, 6)
maybe_none = st.one_of(size, size, size, st.none())
fmt = st.sampled_from([None, "channels_last", "channels_first"])


@SETTINGS
@given(dims=st.lists(size, min_size=0, max_size=4), units=st.integers(-1, 5), none_batch=st.booleans())
def test_dense(dims, units, none_batch):
    if none_batch and dims:
        dims = [None, *dims[1:]]
    check("keras.layers.Dense", T(*dims), init=(units,))


def _image(n, batch, spatial, channels, data_format):
    if data_format == "channels_first":
        return T(batch, channels, *spatial)
    return T(batch, *spatial, channels)


@SETTINGS
@given(n=st.integers(1, 3), data=st.data())
def test_conv(n, data):
    spatial = data.draw(st.lists(st.one_of(st.integers(1, 9), st.none()) if n < 3 else st.integers(1, 6),
                                 min_size=n, max_size=n))
    channels = data.draw(st.integers(1, 4))
    kernel = data.draw(st.one_of(st.integers(1, 4), st.tuples(*[st.integers(1, 4)] * n)))
    strides = data.draw(st.one_of(st.integers(1, 3), st.tuples(*[st.integers(1, 3)] * n)))
    dilation = data.draw(st.sampled_from([1, 2]))
    padding = data.draw(st.sampled_from(["valid", "same"] + (["causal"] if n == 1 else [])))
    data_format = data.draw(fmt)
    filters = data.draw(st.integers(1, 4))
    groups = data.draw(st.sampled_from([1, 1, 2]))
    rank_change = data.draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
    x = _image(n, data.draw(st.sampled_from([1, 2])), spatial, channels, data_format)
    if rank_change < 0:
        x = T(*x.dims[1:])
    elif rank_change > 0:
        x = T(1, *x.dims)
    check(f"keras.layers.Conv{n}D", x, init=(filters, kernel),
          init_kwargs={"strides": strides, "dilation_rate": dilation, "padding": padding, "data_format": data_format,
                       "groups": groups})


@SETTINGS
@given(n=st.integers(1, 2), data=st.data())
def test_separable_and_depthwise_conv(n, data):
    spatial = data.draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    data_format = data.draw(fmt)
    x = _image(n, 1, spatial, data.draw(st.integers(1, 3)), data_format)
    kwargs = {"strides": data.draw(st.integers(1, 2)), "padding": data.draw(st.sampled_from(["valid", "same"])),
              "data_format": data_format, "depth_multiplier": data.draw(st.integers(1, 2))}
    kernel = data.draw(st.integers(1, 4))
    if data.draw(st.booleans()):
        check(f"keras.layers.DepthwiseConv{n}D", x, init=(kernel,), init_kwargs=kwargs)
    else:
        check(f"keras.layers.SeparableConv{n}D", x, init=(data.draw(st.integers(1, 3)), kernel), init_kwargs=kwargs)


@SETTINGS
@given(n=st.integers(1, 3), data=st.data())
def test_conv_transpose(n, data):
    spatial = data.draw(st.lists(st.one_of(st.integers(1, 6), st.none()), min_size=n, max_size=n))
    data_format = data.draw(fmt)
    strides = data.draw(st.integers(1, 3))
    kernel = data.draw(st.integers(1, 4))
    output_padding = data.draw(st.one_of(st.none(), st.integers(0, 3)))
    kwargs = {"strides": strides, "padding": data.draw(st.sampled_from(["valid", "same"])),
              "data_format": data_format, "output_padding": output_padding,
              "dilation_rate": data.draw(st.sampled_from([1, 1, 2]))}
    check(f"keras.layers.Conv{n}DTranspose", _image(n, 1, spatial, 2, data_format), init=(3, kernel),
          init_kwargs=kwargs)


@SETTINGS
@given(n=st.integers(1, 3), data=st.data())
def test_pooling(n, data):
    spatial = data.draw(st.lists(st.one_of(st.integers(1, 9), st.none()), min_size=n, max_size=n))
    data_format = data.draw(fmt)
    kind = data.draw(st.sampled_from(["MaxPooling", "AveragePooling"]))
    pool = data.draw(st.one_of(st.integers(1, 4), st.tuples(*[st.integers(1, 4)] * n)))
    strides = data.draw(st.one_of(st.none(), st.integers(1, 3)))
    if kind == "AveragePooling" and n == 3:
        # torch's avg_pool3d under Keras's eager call wants the pool inside the unpadded input, which
        # Keras's symbolic shape (the only one with a None) does not check: the rule declines there
        spatial = [s if s is not None else 4 for s in spatial]
    x = _image(n, 2, spatial, 3, data_format)
    if data.draw(st.integers(0, 5)) == 0:
        x = T(*x.dims[1:])
    check(f"keras.layers.{kind}{n}D", x, init=(pool,),
          init_kwargs={"strides": strides, "padding": data.draw(st.sampled_from(["valid", "same"])),
                       "data_format": data_format})


@SETTINGS
@given(n=st.integers(1, 3), data=st.data())
def test_global_pooling(n, data):
    rank = data.draw(st.sampled_from([n + 2, n + 2, n + 1, n + 3]))
    x = T(*data.draw(st.lists(maybe_none, min_size=rank, max_size=rank)))
    kind = data.draw(st.sampled_from(["GlobalMaxPooling", "GlobalAveragePooling"]))
    check(f"keras.layers.{kind}{n}D", x, init=(data.draw(fmt), data.draw(st.booleans())))


@SETTINGS
@given(dims=st.lists(st.one_of(st.integers(1, 6), st.none()), min_size=1, max_size=4), data=st.data())
def test_reshape(dims, data):
    target = data.draw(st.lists(st.integers(-2, 6), min_size=1, max_size=3))
    check("keras.layers.Reshape", T(*dims), init=(tuple(target),))


@SETTINGS
@given(dims=st.lists(st.integers(1, 6), min_size=2, max_size=4), data=st.data())
def test_reshape_that_fits(dims, data):
    """Targets built from the input's own size (with and without -1), where random ones rarely fit."""
    rest = 1
    for d in dims[1:]:
        rest *= d
    first = data.draw(st.sampled_from([d for d in range(1, rest + 1) if rest % d == 0]))
    target = [first, rest // first]
    if data.draw(st.booleans()):
        target[data.draw(st.integers(0, 1))] = -1
    check("keras.layers.Reshape", T(*dims), init=(tuple(target),))


@SETTINGS
@given(dims=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data())
def test_flatten_and_permute(dims, data):
    check("keras.layers.Flatten", T(*dims), init=(data.draw(fmt),))
    order = data.draw(st.permutations(list(range(1, max(len(dims), 2)))))
    check("keras.layers.Permute", T(*dims), init=(tuple(order),))


@SETTINGS
@given(rank=st.integers(1, 4), data=st.data())
def test_merges(rank, data):
    base = data.draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    count = data.draw(st.integers(1, 3))
    shapes = []
    for _ in range(count):
        # mostly the same shape, sometimes a 1 or another size on one axis
        dims = list(base)
        axis = data.draw(st.integers(0, rank - 1))
        dims[axis] = data.draw(st.sampled_from([dims[axis], dims[axis], 1, data.draw(st.integers(1, 4))]))
        shapes.append(T(*dims))
    kind = data.draw(st.sampled_from(["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"]))
    init = (data.draw(st.integers(-rank - 1, rank)),) if kind == "Concatenate" else ()
    check(f"keras.layers.{kind}", shapes, init=init)


@SETTINGS
@given(data=st.data())
def test_recurrent(data):
    kind = data.draw(st.sampled_from(["SimpleRNN", "LSTM", "GRU"]))
    rank = data.draw(st.sampled_from([3, 3, 3, 2, 4]))
    x = T(*data.draw(st.lists(maybe_none, min_size=rank, max_size=rank)))
    flags = {"return_sequences": data.draw(st.booleans()), "return_state": data.draw(st.booleans())}
    if data.draw(st.booleans()):
        check(f"keras.layers.{kind}", x, init=(data.draw(st.integers(1, 4)),), init_kwargs=flags)
    else:
        inner = KerasLayer(kind, data.draw(st.integers(1, 4)), **flags)
        check("keras.layers.Bidirectional", x, init=(inner, data.draw(st.sampled_from(["concat", "sum", "ave", None]))))


@SETTINGS
@given(n=st.integers(1, 3), data=st.data())
def test_upsampling_padding_cropping(n, data):
    rank = data.draw(st.sampled_from([n + 2, n + 2, n + 2, n + 1]))
    x = T(*data.draw(st.lists(maybe_none, min_size=rank, max_size=rank)))
    kind = data.draw(st.sampled_from(["UpSampling", "ZeroPadding", "Cropping"]))
    amount = st.integers(0, 3)
    pair = st.one_of(amount, st.tuples(amount, amount))
    if kind == "UpSampling":
        arg = data.draw(st.one_of(st.integers(0, 3), st.tuples(*[st.integers(1, 3)] * n))) if n > 1 else \
            data.draw(st.integers(0, 3))
    elif n == 1:
        arg = data.draw(pair)
    else:
        arg = data.draw(st.one_of(amount, st.tuples(*[pair] * n)))
    kwargs = {} if n == 1 and kind != "ZeroPadding" else {"data_format": data.draw(fmt)}
    check(f"keras.layers.{kind}{n}D", x, init=(arg,), init_kwargs=kwargs)


@SETTINGS
@given(data=st.data())
def test_normalizations(data):
    rank = data.draw(st.integers(1, 4))
    x = T(*data.draw(st.lists(maybe_none, min_size=rank, max_size=rank)))
    axis = data.draw(st.integers(-rank - 1, rank))
    kind = data.draw(st.sampled_from(["BatchNormalization", "LayerNormalization", "GroupNormalization"]))
    if kind == "GroupNormalization":
        # the axes Keras's call groups correctly (-1, or past the batch), and ones out of range; the rule
        # declines the others, where Keras's eager and symbolic calls part ways
        axis = data.draw(st.sampled_from([-1, rank, -rank - 1] + list(range(1, rank))))
        check("keras.layers.GroupNormalization", x, init=(data.draw(st.sampled_from([-1, 1, 2, 3, 4, 32])), axis))
    elif kind == "LayerNormalization":
        # contiguous axes that are not the last ones fail torch's layer_norm under Keras's eager call
        # unless the sizes happen to match; Keras's symbolic shape (all a None allows) does not check,
        # and the rule declines there: concrete sizes, so that both modes run
        x = T(*[d if d is not None else 3 for d in x.dims])
        # several axes: non-negative ones (the rule declines a mix of signs that is not contiguous, where
        # Keras's eager broadcast of gamma goes astray)
        axes = sorted(set(data.draw(st.lists(st.integers(0, rank), min_size=1, max_size=rank))))
        check("keras.layers.LayerNormalization", x, init=(axes if data.draw(st.booleans()) else axis,))
    else:
        check(f"keras.layers.{kind}", x, init=(axis,))


@SETTINGS
@given(dims=st.lists(maybe_none, min_size=1, max_size=3), data=st.data())
def test_embedding(dims, data):
    check("keras.layers.Embedding", T(*dims, dtype="long"), init=(data.draw(st.integers(2, 9)),
                                                                     data.draw(st.integers(0, 4))))


@SETTINGS
@given(data=st.data())
def test_time_distributed(data):
    rank = data.draw(st.integers(2, 5))
    x = T(*data.draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    inner = data.draw(st.sampled_from([KerasLayer("Dense", 3), KerasLayer("Flatten"), KerasLayer("Conv1D", 2, 2),
                                       KerasLayer("Conv2D", 2, 2, padding="same"), KerasLayer("MaxPooling1D")]))
    # the rule declines where its inner layer's rule raises: Keras's symbolic shape skips the inner
    # layer's input checks that its eager call makes, and which of them both modes share is not modelled
    check("keras.layers.TimeDistributed", x, init=(inner,), may_miss_errors=True)


@SETTINGS
@given(data=st.data())
def test_multi_head_attention(data):
    b = data.draw(st.sampled_from([2, None]))
    tq, tv, tk = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    query = T(b, tq, data.draw(st.integers(1, 6)))
    value = T(b, tv, data.draw(st.integers(1, 6)))
    key = data.draw(st.one_of(st.none(), st.just(T(b, tk, data.draw(st.integers(1, 6))))))
    output_shape = data.draw(st.one_of(st.none(), st.integers(1, 5)))
    kwargs = {} if key is None else {"key": key}
    check("keras.layers.MultiHeadAttention", query, value, init=(data.draw(st.integers(1, 3)), 4),
          init_kwargs={"output_shape": output_shape}, **kwargs)


@SETTINGS
@given(data=st.data())
def test_einsum_dense(data):
    equation, rank, out_rank = data.draw(st.sampled_from([
        ("ab,bc->ac", 2, 1), ("abc,cd->abd", 3, 2), ("abc,cde->abde", 3, 3), ("abc,cd->abd", 2, 2),
        ("...b,bc->...c", 3, 1), ("...b,bc->...c", 2, 1), ("ab...,bc->ac...", 3, 1), ("abc,cd->abe", 3, 2),
    ]))
    x = T(*data.draw(st.lists(maybe_none, min_size=rank, max_size=rank)))
    output_shape = tuple(data.draw(st.lists(maybe_none, min_size=out_rank, max_size=out_rank)))
    check("keras.layers.EinsumDense", x, init=(equation, output_shape))


@SETTINGS
@given(data=st.data())
def test_dot(data):
    ra, rb = data.draw(st.integers(2, 3)), data.draw(st.integers(2, 3))
    a = T(2, *data.draw(st.lists(st.integers(1, 4), min_size=ra - 1, max_size=ra - 1)))
    b = T(data.draw(st.sampled_from([2, 2, 3])), *data.draw(st.lists(st.integers(1, 4), min_size=rb - 1,
                                                                       max_size=rb - 1)))
    axes = data.draw(st.one_of(st.integers(-1, 2), st.tuples(st.integers(-1, 2), st.integers(-1, 2))))
    check("keras.layers.Dot", [a, b], init=(axes,))


@SETTINGS
@given(data=st.data())
def test_resizing_and_center_crop(data):
    rank = data.draw(st.integers(3, 4))  # the rule declines other ranks, which Keras's two modes treat apart
    x = T(*data.draw(st.lists(maybe_none, min_size=rank, max_size=rank)))
    check(f"keras.layers.{data.draw(st.sampled_from(['Resizing', 'CenterCrop']))}", x,
          init=(data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))), init_kwargs={"data_format": data.draw(fmt)})
