"""keras.Input, Dense, Flatten, Reshape, Permute, RepeatVector, and the layers that keep their input's
shape (activations, dropouts, noise, Identity)."""

from __future__ import annotations

from shapels.codes import UNDEFINED_DIM, VIEW_INVALID_SHAPE
from shapels.rules.base import RuleCall, Unknowable, layer_name, to_dim
from shapels.rules.keras_layers.spec import (BAD_ARGUMENT, RANK, check_rank, is_none, keras_layer, last_axis_built, none_dim,
                                             positive_int, require_defined, show_dims)
from shapels.rules.registry import T, ex, function
from shapels.symbolic import dims as D
from shapels.symbolic.shape import Shape
from shapels.values import ListValue, Seq


def _shape_tuple(call: RuleCall, name: str) -> list:
    """A shape argument as Keras reads it: a tuple whose `None`s are sizes fixed only at run time."""
    value = call.value(name)
    if not isinstance(value, (Seq, ListValue)):
        raise Unknowable(name)
    dims = []
    for item in value.items:
        if is_none(item):
            dims.append(none_dim())
            continue
        d = to_dim(item)
        if d is None:
            raise Unknowable(name)
        dims.append(d)
    return dims


@function(
    "keras.Input", "keras.layers.Input",
    signature="shape=None, batch_size=None, dtype=None, sparse=None, ragged=None, batch_shape=None, name=None, "
              "tensor=None, optional=False",
    label="Input",
    examples=[
        ex(shape=(28, 28, 1), out=(None, 28, 28, 1)),
        ex(shape=(None, 32), batch_size=8, out=(8, None, 32)),
        ex(batch_shape=(4, 10), out=(4, 10)),
        ex(shape=(3,), batch_shape=(2, 3), error=BAD_ARGUMENT),
        ex(error=BAD_ARGUMENT),
    ],
)
def keras_input(call: RuleCall):
    if not call.is_none("tensor"):
        raise Unknowable("tensor")
    has_shape, has_batch_shape = not call.is_none("shape"), not call.is_none("batch_shape")
    if has_shape and has_batch_shape:
        call.fail(BAD_ARGUMENT, "Input: pass either shape= or batch_shape=, not both", param="batch_shape")
    if not call.is_none("batch_size") and has_batch_shape:
        call.fail(BAD_ARGUMENT, "Input: pass either batch_size= or batch_shape=, not both", param="batch_size")
    if has_batch_shape:
        return Shape.of(_shape_tuple(call, "batch_shape"))
    if not has_shape:
        call.fail(BAD_ARGUMENT, "Input needs a shape= (the sizes of one sample, without the batch)")
    batch = none_dim() if call.is_none("batch_size") else call.dim("batch_size")
    return Shape.of([batch, *_shape_tuple(call, "shape")])


@keras_layer(
    "Dense",
    init="units, activation=None, use_bias=True, kernel_initializer='glorot_uniform', bias_initializer='zeros', "
         "kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, "
         "bias_constraint=None, lora_rank=None, lora_alpha=None, quantization_config=None",
    examples=[
        ex(T(2, 8), init=(10,), out=(2, 10)),
        ex(T(16, 5, 5, 64), init=(256,), out=(16, 5, 5, 256)),  # seed 001 example 2: the last axis, any rank
        ex(T(None, 20, 32), init=(4,), out=(None, 20, 4)),
        ex(T(64), init=(10,), error=RANK),  # seed 002 example 1: expected min_ndim=2, found ndim=1
        ex(T(None, None), init=(10,), error=UNDEFINED_DIM),
        ex(T(2, 8), init=(0,), error=BAD_ARGUMENT),
    ],
    builds=last_axis_built,
    input_spec=True,
    makes_width="units",
)
def dense(call: RuleCall):
    units = positive_int(call, "units")
    shape = call.shape("inputs")
    check_rank(call, shape, min_ndim=2, needs="a Dense needs a batch axis and a features axis")
    require_defined(call, shape, -1, "its kernel")
    if not shape.dims:
        return Shape.suffix([units])
    return shape.replace_tail(1, [units])


@keras_layer(
    "Flatten",
    init="data_format=None",
    call="inputs",
    examples=[
        ex(T(2, 3, 4), out=(2, 12)),
        ex(T(None, 10, 64), out=(None, 640)),
        ex(T(5), out=(5, 1)),
        ex(T(2, 3, 4), init_kwargs={"data_format": "channels_first"}, out=(2, 12)),
        ex(T(2, None, 4), out=(2, None)),
        ex(T(), error=RANK),
    ],
)
def flatten(call: RuleCall):
    shape = call.shape("inputs")
    if not shape.ranked:
        raise Unknowable("inputs")
    check_rank(call, shape, min_ndim=1, needs="a Flatten needs a batch axis")
    rest = shape.dims[1:]
    if any(D.has_unknown(d) for d in rest):
        return Shape.of([shape.dims[0], none_dim()])
    return Shape.of([shape.dims[0], D.dim_product(rest) if rest else 1])


def _target(call: RuleCall) -> list:
    """target_shape as Keras checks it in the constructor: ints >= -1, at most one -1."""
    value = call.value("target_shape")
    if not isinstance(value, (Seq, ListValue)):
        raise Unknowable("target_shape")
    dims = [to_dim(i) for i in value.items]
    if any(d is None for d in dims):
        raise Unknowable("target_shape")
    if any(D.as_int(d) is not None and D.as_int(d) < -1 for d in dims):
        call.fail(VIEW_INVALID_SHAPE, f"{layer_name(call)}: each size in target_shape must be >= 0, or -1 for the "
                  f"one Keras infers", param="target_shape")
    if sum(1 for d in dims if D.as_int(d) == -1) > 1:
        call.fail(VIEW_INVALID_SHAPE, f"{layer_name(call)}: only one size in target_shape can be -1",
                  param="target_shape")
    return dims


@keras_layer(
    "Reshape",
    init="target_shape",
    examples=[
        ex(T(16, 5, 5, 64), init=((-1, 1600),), out=(16, 1, 1600)),  # seed 001 example 3: -1 keeps an axis
        ex(T(None, 12), init=((3, 4),), out=(None, 3, 4)),
        ex(T(2, 12), init=((-1, 2, 2),), out=(2, 3, 2, 2)),
        ex(T(2, None, 4), init=((-1, 2),), out=(2, None, 2)),
        ex(T(2, 12), init=((5,),), error=VIEW_INVALID_SHAPE),
        ex(T(2, 12), init=((-1, 5),), error=VIEW_INVALID_SHAPE),
        ex(T(2, 12), init=((-1, -1),), error=VIEW_INVALID_SHAPE),
    ],
)
def reshape(call: RuleCall):
    target = _target(call)
    shape = call.shape("inputs")
    if not shape.ranked or not shape.dims:
        raise Unknowable("inputs")
    batch, rest = shape.dims[0], shape.dims[1:]
    minus_one = [i for i, d in enumerate(target) if D.as_int(d) == -1]
    if any(D.has_unknown(d) for d in rest):  # a None in the input: Keras infers nothing
        return Shape.of([batch, *(none_dim() if i in minus_one else d for i, d in enumerate(target))])
    total = D.dim_product(rest)
    name = layer_name(call)
    if not minus_one:
        wanted = D.dim_product(target)
        call.expect(wanted, total, code=VIEW_INVALID_SHAPE, param="target_shape", input_name="inputs",
                    message=lambda: f"{name}: target_shape {show_dims(target)} holds "
                                    f"{D.show(wanted)} values per sample, but its input {shape.show()} has "
                                    f"{D.show(total)}")
        return Shape.of([batch, *target])
    i = minus_one[0]
    known = D.dim_product(d for j, d in enumerate(target) if j != i)
    k, t = D.as_int(known), D.as_int(total)
    if k is not None and t is not None:
        if k == 0 or t % k:
            call.fail(VIEW_INVALID_SHAPE, f"{name}: its input {shape.show()} has {t} values per sample, which "
                      f"target_shape {show_dims(target)} cannot hold for any -1",
                      param="target_shape", input_name="inputs")
        inferred = D.const(t // k)
    else:
        inferred = D.floordiv(total, known) if D.divides(known, total) else none_dim()
    return Shape.of([batch, *target[:i], inferred, *target[i + 1:]])


@keras_layer(
    "Permute",
    init="dims",
    examples=[
        ex(T(None, 10, 64), init=((2, 1),), out=(None, 64, 10)),
        ex(T(2, 3, 4, 5), init=((3, 1, 2),), out=(2, 5, 3, 4)),
        ex(T(2, 3, 4), init=((1, 3),), error=BAD_ARGUMENT),
        ex(T(2, 3, 4, 5), init=((2, 1),), error=RANK),
    ],
)
def permute(call: RuleCall):
    value = call.value("dims")
    if not isinstance(value, (Seq, ListValue)):
        raise Unknowable("dims")
    order = [D.as_int(to_dim(i)) if to_dim(i) is not None else None for i in value.items]
    if None in order:
        raise Unknowable("dims")
    if sorted(order) != list(range(1, len(order) + 1)):
        call.fail(BAD_ARGUMENT, f"{layer_name(call)}: dims {tuple(order)} must be a permutation of 1..{len(order)} "
                  f"(the batch axis 0 stays first)", param="dims")
    shape = call.shape("inputs")
    if not shape.ranked:
        raise Unknowable("inputs")
    check_rank(call, shape, ndim=len(order) + 1, needs=f"the batch axis and the {len(order)} axes that dims reorders")
    call.moved_axes = (0, *order)
    return Shape.of([shape.dims[0], *(shape.dims[i] for i in order)])


@keras_layer(
    "RepeatVector",
    init="n",
    examples=[
        ex(T(None, 32), init=(3,), out=(None, 3, 32)),
        ex(T(2, 3, 4), init=(3,), error=RANK),
        ex(T(2, 3), init=(0,), error=BAD_ARGUMENT),
    ],
)
def repeat_vector(call: RuleCall):
    n = positive_int(call, "n")
    shape = call.shape("inputs")
    if not shape.ranked:
        raise Unknowable("inputs")
    check_rank(call, shape, ndim=2, needs="a RepeatVector takes (batch, features)")
    return Shape.of([shape.dims[0], n, shape.dims[1]])


def _same(call: RuleCall):
    shape = call.shape("inputs")
    return shape


keras_layer("Activation", init="activation", preserves_shape=True,
            examples=[ex(T(2, 3), init=("relu",), out=(2, 3))])(_same)
keras_layer("ReLU", init="max_value=None, negative_slope=0.0, threshold=0.0", preserves_shape=True,
            examples=[ex(T(2, 3, 4), out=(2, 3, 4))])(_same)
keras_layer("LeakyReLU", init="negative_slope=0.3", preserves_shape=True, examples=[ex(T(2, 3), out=(2, 3))])(_same)
keras_layer("ELU", init="alpha=1.0", preserves_shape=True, examples=[ex(T(2, 3), out=(2, 3))])(_same)
keras_layer("Softmax", init="axis=-1", call="inputs, mask=None", preserves_shape=True,
            examples=[ex(T(2, 3), out=(2, 3))])(_same)
@keras_layer(
    "PReLU", init="alpha_initializer='Zeros', alpha_regularizer=None, alpha_constraint=None, shared_axes=None",
    preserves_shape=True,
    examples=[
        ex(T(2, 3, 4), out=(2, 3, 4)),
        ex(T(None, None, 4), init_kwargs={"shared_axes": [1]}, out=(None, None, 4)),
        ex(T(None, None, 4), error=UNDEFINED_DIM),
    ],
)
def prelu(call: RuleCall):
    """alpha has the input's shape but the batch, 1 on the shared axes."""
    shape = call.shape("inputs")
    if not shape.ranked:
        return shape
    value = call.value("shared_axes")
    if is_none(value):
        shared = []
    else:
        items = value.items if isinstance(value, (Seq, ListValue)) else [value]
        shared = [D.as_int(to_dim(i)) if to_dim(i) is not None else None for i in items]
        if None in shared:
            return shape
    for axis in range(1, shape.rank):
        if axis not in shared and axis - shape.rank not in shared:
            require_defined(call, shape, axis, "its alpha")
    return shape
keras_layer("Identity", preserves_shape=True, examples=[ex(T(None, 3), out=(None, 3))])(_same)
keras_layer("GaussianNoise", init="stddev, seed=None", call="inputs, training=False", preserves_shape=True,
            examples=[ex(T(2, 3), init=(0.1,), out=(2, 3))])(_same)


def _rate(call: RuleCall) -> None:
    try:
        rate = call.const("rate")
    except Unknowable:
        return
    if isinstance(rate, (int, float)) and not isinstance(rate, bool) and not 0 <= rate <= 1:
        call.fail(BAD_ARGUMENT, f"{layer_name(call)}: rate must be between 0 and 1, got {rate}", param="rate")


def _dropout(call: RuleCall):
    _rate(call)
    return call.shape("inputs")


keras_layer(
    "Dropout", init="rate, noise_shape=None, seed=None", call="inputs, training=False", preserves_shape=True,
    examples=[ex(T(2, 3), init=(0.5,), out=(2, 3)), ex(T(2, 3), init=(1.5,), error=BAD_ARGUMENT)],
)(_dropout)
keras_layer(
    "AlphaDropout", init="rate, noise_shape=None, seed=None", call="inputs, training=False", preserves_shape=True,
    examples=[ex(T(2, 3), init=(0.5,), out=(2, 3)), ex(T(2, 3), init=(-0.5,), error=BAD_ARGUMENT)],
)(_dropout)
keras_layer("GaussianDropout", init="rate, seed=None", call="inputs, training=False", preserves_shape=True,
            examples=[ex(T(2, 3), init=(0.5,), out=(2, 3))])(_dropout)


def _spatial_dropout(n: int):
    def rule(call: RuleCall):
        _rate(call)
        shape = call.shape("inputs")
        check_rank(call, shape, ndim=n + 2, needs=f"(batch, {n} spatial axes, channels)")
        return shape

    return rule


keras_layer("SpatialDropout1D", init="rate, seed=None", call="inputs, training=False", preserves_shape=True,
            examples=[ex(T(2, 5, 3), init=(0.5,), out=(2, 5, 3)), ex(T(2, 3), init=(0.5,), error=RANK)],
            )(_spatial_dropout(1))
keras_layer("SpatialDropout2D", init="rate, data_format=None, seed=None", call="inputs, training=False",
            preserves_shape=True,
            examples=[ex(T(2, 5, 5, 3), init=(0.5,), out=(2, 5, 5, 3)), ex(T(2, 5, 3), init=(0.5,), error=RANK)],
            )(_spatial_dropout(2))
keras_layer("SpatialDropout3D", init="rate, data_format=None, seed=None", call="inputs, training=False",
            preserves_shape=True, examples=[ex(T(2, 4, 4, 4, 3), init=(0.5,), out=(2, 4, 4, 4, 3))],
            )(_spatial_dropout(3))


def _lambda(call: RuleCall):
    """A Lambda's output is its function's: the analysis runs the function on the inputs
    (shapels/analysis/keras_models.py's call_lambda); what it cannot run stays unknown here."""
    raise Unknowable("function")


keras_layer("Lambda", init="function, output_shape=None, mask=None, arguments=None", call="inputs, mask=None")(_lambda)
